#include "net/client/client_node.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "engine/common/byte_io.h"
#include "engine/suite/suite_registry.h"
#include "net/client/socks_session.h"
#include "net/link/link_dialer.h"
#include "net/link/tls_identity.h"
#include "net/wire/create2.h"
#include "net/wire/extend2.h"

namespace relaycell::net {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kSendmeQueueLimit = 64 << 10;  // stream SENDMEs wait for the socket to drain

std::span<uint8_t, kCellBodyBytes> Body(std::span<uint8_t, kCellBytes> cell) {
  return std::span<uint8_t, kCellBodyBytes>(cell.data() + kCellHeaderBytes, kCellBodyBytes);
}

}  // namespace

ClientNode::ClientNode(asio::io_context& io, const ClientConfig& config)
    : io_(io),
      config_(config),
      tls_(asio::ssl::context::tls_client),
      acceptor_(io),
      random_(std::random_device{}()),
      relay_down_until_(config.network.relays.size()) {}

ClientNode::~ClientNode() = default;

bool ClientNode::Start(std::string* error) {
  if (!ConfigureLinkClientTls(tls_.native_handle(), error)) return false;
  if (FindNtorSuiteBySuiteName(config_.suite) == nullptr) {
    if (error) *error = "unknown suite \"" + config_.suite + "\"";
    return false;
  }
  size_t exits = 0;
  for (const auto& relay : config_.network.relays) exits += relay.exit;
  if (config_.network.relays.size() < size_t(config_.hops) || exits == 0) {
    if (error)
      *error = "the network has " + std::to_string(config_.network.relays.size()) + " relays and " +
               std::to_string(exits) + " exits; " + std::to_string(config_.hops) +
               " hops need as many relays and one exit";
    return false;
  }
  std::error_code ec;
  const Tcp::endpoint endpoint(ToAsioAddress(config_.socks.address), config_.socks.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(Tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (error) *error = "cannot listen for SOCKS: " + ec.message();
    return false;
  }
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
  return true;
}

NodeCounters ClientNode::Snapshot() const {
  NodeCounters snapshot = counters_;
  snapshot["open_links"] = links_.size();
  snapshot["open_circuits"] = circuits_.size();
  snapshot["open_sessions"] = sessions_.size();
  return snapshot;
}

asio::awaitable<void> ClientNode::AcceptLoop() {
  while (!shutting_down_) {
    std::error_code ec;
    Tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || shutting_down_) co_return;
      continue;
    }
    const uint64_t id = next_session_++;
    auto session = std::make_shared<SocksSession>(
        std::move(socket), *this, id,
        FindSuite(config_.suite)->relay_format().max_data(uint8_t(RelayCommand::kData)));
    sessions_[id] = session;
    routes_[id] = SessionRoute{};
    ++counters_["socks_sessions"];
    session->Start();
  }
}

void ClientNode::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  std::vector<uint64_t> keys;
  for (const auto& [key, circuit] : circuits_) keys.push_back(key);
  for (uint64_t key : keys) {
    Circuit* circuit = FindCircuit(key);
    if (!circuit) continue;
    const auto link = links_.find(circuit->channel);
    if (link != links_.end() && circuit->built > 0) {
      SendDestroy(*link->second, circuit->circ_id, DestroyReason::kFinished);
    }
    KillCircuit(key, "shutdown", 0);
  }
  std::vector<std::shared_ptr<Link>> links;
  for (auto& [channel, link] : links_) links.push_back(link);
  for (auto& link : links) link->CloseAfterFlush();
  std::vector<std::shared_ptr<SocksSession>> sessions;
  for (auto& [id, session] : sessions_) sessions.push_back(session);
  for (auto& session : sessions) session->Close(false);
  sessions_.clear();
}

// ---- Paths and building -----------------------------------------------------------------

bool ClientNode::PickPath(std::vector<size_t>& path) {
  const auto now = Clock::now();
  const auto& relays = config_.network.relays;
  std::vector<size_t> exits, others;
  for (size_t i = 0; i < relays.size(); ++i) {
    if (relay_down_until_[i] > now) continue;
    if (std::find(relays[i].suites.begin(), relays[i].suites.end(), config_.suite) ==
        relays[i].suites.end())
      continue;
    (relays[i].exit ? exits : others).push_back(i);
  }
  if (exits.empty()) return false;
  const size_t exit = exits[random_() % exits.size()];
  std::vector<size_t> pool = others;
  for (size_t e : exits)
    if (e != exit) pool.push_back(e);
  if (pool.size() + 1 < size_t(config_.hops)) return false;
  std::shuffle(pool.begin(), pool.end(), random_);
  path.assign(pool.begin(), pool.begin() + (config_.hops - 1));
  path.push_back(exit);
  return true;
}

uint64_t ClientNode::BuildCircuit() {
  std::vector<size_t> path;
  if (!PickPath(path)) {
    counters_.Count("build_failed", "no_path");
    return 0;
  }
  auto circuit = std::make_unique<Circuit>();
  circuit->path = std::move(path);
  circuit->ntor = FindNtorSuiteBySuiteName(config_.suite);
  circuit->stream_sendmes = HasStreamSendmes(*FindSuite(config_.suite));
  // The first hop's link: an open one to that relay, or a new one.
  const size_t first = circuit->path[0];
  uint32_t channel = 0;
  for (const auto& [ch, relay] : link_relay_)
    if (relay == first && links_.count(ch)) channel = ch;
  if (channel == 0) {
    channel = next_channel_++;
    link_relay_[channel] = first;
    const RelayDescriptor& relay = config_.network.relays[first];
    Endpoint endpoint;
    endpoint.address = *IpAddress::Parse(relay.address);
    endpoint.port = relay.port;
    asio::co_spawn(
        io_,
        [this, channel, endpoint, identity = relay.identity, first]() -> asio::awaitable<void> {
          std::shared_ptr<Link> link;
          const DialError error = co_await DialLink(
              io_, tls_, std::span<const Endpoint>(&endpoint, 1), identity, channel, *this,
              std::chrono::milliseconds(config_.connect_timeout_ms), link);
          if (error != DialError::kOk || shutting_down_) {
            counters_.Count("link_failed", DialErrorName(error));
            link_relay_.erase(channel);
            relay_down_until_[first] = Clock::now() + std::chrono::seconds(config_.relay_down_s);
            const auto waiting = waiting_for_link_.find(channel);
            if (waiting == waiting_for_link_.end()) co_return;
            const std::vector<uint64_t> keys = std::move(waiting->second);
            waiting_for_link_.erase(waiting);
            for (uint64_t key : keys) KillCircuit(key, "first_hop_unreachable", 0);
            co_return;
          }
          links_[channel] = link;
          link->Start(std::chrono::milliseconds(config_.connect_timeout_ms));
        },
        asio::detached);
  }
  circuit->channel = channel;
  circuit->circ_id = 0x80000000u | (next_circ_id_++ & 0x7fffffffu);  // we opened the link
  const uint64_t key = Key(channel, circuit->circ_id);
  circuit->build_timer = std::make_unique<asio::steady_timer>(io_);
  circuit->build_timer->expires_after(std::chrono::milliseconds(config_.build_timeout_ms));
  circuit->build_timer->async_wait([this, key](std::error_code ec) {
    if (ec) return;
    Circuit* c = FindCircuit(key);
    if (c && c->state == CircuitState::kBuilding) KillCircuit(key, "build_timed_out", c->built + 1);
  });
  circuit->launched = Clock::now();
  circuits_[key] = std::move(circuit);
  ++counters_["circuits_launched"];
  const auto link = links_.find(channel);
  if (link != links_.end() && link->second->is_open()) {
    SendCreate2(*circuits_[key], *link->second);
  } else {
    waiting_for_link_[channel].push_back(key);
  }
  return key;
}

void ClientNode::OnLinkOpen(Link& link) {
  ++counters_["links_opened"];
  const auto waiting = waiting_for_link_.find(link.channel());
  if (waiting == waiting_for_link_.end()) return;
  const std::vector<uint64_t> keys = std::move(waiting->second);
  waiting_for_link_.erase(waiting);
  for (uint64_t key : keys)
    if (Circuit* circuit = FindCircuit(key)) SendCreate2(*circuit, link);
}

void ClientNode::SendCreate2(Circuit& circuit, Link& link) {
  const RelayDescriptor& relay = config_.network.relays[circuit.path[0]];
  std::array<uint8_t, kNtorClientHdataBytes> hdata;
  circuit.handshake = std::make_unique<NtorClient>();
  stack_wipe_.Request();
  if (circuit.handshake->Start(*circuit.ntor, relay.identity, relay.onion_key, hdata) !=
      NtorError::kOk) {
    KillCircuit(Key(circuit.channel, circuit.circ_id), "ntor_start_failed", 0);
    return;
  }
  std::array<uint8_t, kCellBytes> cell{};
  StoreBe<uint32_t>(circuit.circ_id, cell, 0);
  cell[4] = kCreate2Command;
  BuildCreate2(circuit.ntor->htype, hdata, Body(cell));
  link.Send(cell);
}

void ClientNode::Extend(Circuit& circuit) {
  const RelayDescriptor& relay = config_.network.relays[circuit.path[size_t(circuit.built)]];
  std::array<uint8_t, kNtorClientHdataBytes> hdata;
  circuit.handshake = std::make_unique<NtorClient>();
  if (circuit.handshake->Start(*circuit.ntor, relay.identity, relay.onion_key, hdata) !=
      NtorError::kOk) {
    KillCircuit(Key(circuit.channel, circuit.circ_id), "ntor_start_failed", 0);
    return;
  }
  Extend2Request request;
  request.identity = relay.identity;
  request.addresses[0].address = *IpAddress::Parse(relay.address);
  request.addresses[0].port = relay.port;
  request.address_count = 1;
  request.htype = circuit.ntor->htype;
  request.hdata = hdata;
  std::array<uint8_t, kRelayDataBytes> data;
  const size_t length = BuildExtend2(request, data);
  SendToHop(circuit, circuit.built, RelayCommand::kExtend2, 0,
            std::span<const uint8_t>(data.data(), length), /*early=*/true);
}

void ClientNode::OnCircuitOpen(Circuit& circuit) {
  circuit.state = CircuitState::kOpen;
  circuit.handshake.reset();
  if (circuit.build_timer) circuit.build_timer->cancel();
  ++counters_["circuits_built"];
  std::string path;
  for (size_t relay : circuit.path)
    path += (path.empty() ? "" : " > ") + config_.network.relays[relay].nickname;
  const double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - circuit.launched).count();
  std::fprintf(stderr, "relaycell client: circuit %08x built (%s) in %.2f ms: %s\n",
               circuit.circ_id, config_.suite.c_str(), ms, path.c_str());
  const std::vector<uint64_t> waiting = std::move(circuit.waiting);
  circuit.waiting.clear();
  for (uint64_t session : waiting) BeginStream(circuit, session);
}

// ---- Streams ----------------------------------------------------------------------------

void ClientNode::OnSocksRequest(uint64_t session, const BeginTarget& target) {
  auto route = routes_.find(session);
  if (route == routes_.end()) return;
  route->second.target = target;
  ++counters_["streams_requested"];
  // An open or building circuit with room, else a new one.
  for (auto& [key, circuit] : circuits_) {
    if (circuit->state == CircuitState::kDead || circuit->retired) continue;
    if (circuit->streams.size() + circuit->waiting.size() >= config_.max_streams_per_circuit)
      continue;
    if (circuit->state == CircuitState::kOpen) {
      BeginStream(*circuit, session);
    } else {
      circuit->waiting.push_back(session);
    }
    return;
  }
  ++route->second.builds_tried;
  const uint64_t key = BuildCircuit();
  Circuit* circuit = FindCircuit(key);
  if (!circuit) {
    FailSession(session, EndReason::kResourceLimit);
    return;
  }
  circuit->waiting.push_back(session);
  if (config_.one_stream_per_circuit) circuit->retired = true;
}

void ClientNode::BeginStream(Circuit& circuit, uint64_t session) {
  auto route = routes_.find(session);
  if (route == routes_.end()) return;
  uint16_t id = circuit.next_stream_id;
  while (id == 0 || circuit.streams.count(id)) ++id;
  circuit.next_stream_id = uint16_t(id + 1);
  Stream stream;
  stream.session = session;
  circuit.streams[id] = stream;
  if (config_.one_stream_per_circuit) circuit.retired = true;
  route->second.circuit = Key(circuit.channel, circuit.circ_id);
  route->second.stream_id = id;
  std::array<uint8_t, kRelayDataBytes> data;
  const size_t length = BuildBegin(route->second.target, data);
  if (length == 0) {
    circuit.streams.erase(id);
    FailSession(session, EndReason::kTorProtocol);
    return;
  }
  SendToHop(circuit, circuit.built, RelayCommand::kBegin, id,
            std::span<const uint8_t>(data.data(), length));
}

bool ClientNode::OnSessionData(uint64_t session, std::span<const uint8_t> data) {
  const auto route = routes_.find(session);
  if (route == routes_.end()) return true;
  Circuit* circuit = FindCircuit(route->second.circuit);
  if (!circuit || circuit->state != CircuitState::kOpen) return true;
  auto stream = circuit->streams.find(route->second.stream_id);
  if (stream == circuit->streams.end()) return true;
  if (SessionCellsAllowed(session) == 0) return false;
  circuit->package.OnSent();
  if (circuit->stream_sendmes) stream->second.package.OnSent();
  SendToHop(*circuit, circuit->built, RelayCommand::kData, route->second.stream_id, data);
  return true;
}

size_t ClientNode::SessionCellsAllowed(uint64_t session) const {
  const auto route = routes_.find(session);
  if (route == routes_.end()) return 0;
  const auto circuit = circuits_.find(route->second.circuit);
  if (circuit == circuits_.end() || circuit->second->state != CircuitState::kOpen) return 0;
  const auto stream = circuit->second->streams.find(route->second.stream_id);
  if (stream == circuit->second->streams.end() || !stream->second.connected) return 0;
  size_t allowed = circuit->second->package.value();
  if (circuit->second->stream_sendmes)
    allowed = std::min<size_t>(allowed, stream->second.package.value());
  return allowed;
}

void ClientNode::OnSessionWritten(uint64_t session) {
  const auto route = routes_.find(session);
  if (route == routes_.end()) return;
  Circuit* circuit = FindCircuit(route->second.circuit);
  if (!circuit) return;
  auto stream = circuit->streams.find(route->second.stream_id);
  if (stream != circuit->streams.end())
    SendStreamSendmes(*circuit, route->second.stream_id, stream->second);
}

void ClientNode::SendStreamSendmes(Circuit& circuit, uint16_t stream_id, Stream& stream) {
  const auto session = sessions_.find(stream.session);
  const size_t queued = session == sessions_.end() ? 0 : session->second->queued_bytes();
  while (circuit.stream_sendmes && stream.deliver.SendmeDue() && queued < kSendmeQueueLimit) {
    stream.deliver.OnSendmeSent();
    SendToHop(circuit, circuit.built, RelayCommand::kSendme, stream_id, {});
  }
}

void ClientNode::OnSessionClosed(uint64_t session) {
  const auto route = routes_.find(session);
  if (route != routes_.end()) {
    Circuit* circuit = FindCircuit(route->second.circuit);
    if (circuit) {
      auto stream = circuit->streams.find(route->second.stream_id);
      if (stream != circuit->streams.end()) {
        if (!stream->second.end_sent && circuit->state == CircuitState::kOpen) {
          const uint8_t reason = uint8_t(EndReason::kDone);
          SendToHop(*circuit, circuit->built, RelayCommand::kEnd, route->second.stream_id,
                    std::span<const uint8_t>(&reason, 1));
        }
        circuit->streams.erase(stream);
      }
      auto& waiting = circuit->waiting;
      waiting.erase(std::remove(waiting.begin(), waiting.end(), session), waiting.end());
    }
    routes_.erase(route);
  }
  const auto found = sessions_.find(session);
  if (found != sessions_.end()) {
    auto keep = found->second;  // its callbacks may be on the stack
    sessions_.erase(found);
    keep->Close(true);
    asio::post(io_, [keep] {});
  }
}

void ClientNode::FailSession(uint64_t session, EndReason reason) {
  const auto found = sessions_.find(session);
  if (found != sessions_.end()) {
    auto keep = found->second;
    sessions_.erase(found);
    keep->Refuse(SocksReplyForEnd(reason));
    asio::post(io_, [keep] {});
  }
  routes_.erase(session);
  counters_.Count("streams_failed", EndReasonName(reason));
}

// ---- Cells ------------------------------------------------------------------------------

void ClientNode::SendToHop(Circuit& circuit, int hop, RelayCommand command, uint16_t stream_id,
                           std::span<const uint8_t> data, bool early) {
  const auto link = links_.find(circuit.channel);
  if (link == links_.end()) return;
  std::array<uint8_t, kCellBytes> cell;
  RelayHeader header;
  header.command = command;
  header.stream_id = stream_id;
  header.length = static_cast<uint16_t>(data.size());
  const OriginateError error = circuit.circuit.Originate(hop, header, data, early, cell);
  stack_wipe_.Request();
  if (error != OriginateError::kOk) {
    counters_.Count("originate_failed", OriginateErrorName(error));
    if (error == OriginateError::kClosed) {
      // Past a rekey deadline: the circuit destroyed itself.
      SendDestroy(*link->second, circuit.circ_id, DestroyReason::kProtocol);
      asio::post(io_, [this, key = Key(circuit.channel, circuit.circ_id)] {
        KillCircuit(key, "closed", 0);
      });
    }
    return;
  }
  ++counters_["cells_out"];
  link->second->Send(cell);
  SendControlCells(circuit);
}

void ClientNode::SendControlCells(Circuit& circuit) {
  const auto link = links_.find(circuit.channel);
  if (link == links_.end()) return;
  std::array<uint8_t, kCellBytes> cell;
  int hop = 0;
  while (circuit.circuit.PollControlCell(cell, &hop)) {
    counters_.Count("rekeys_sent", "hop" + std::to_string(hop));
    link->second->Send(cell);
  }
}

void ClientNode::SendDestroy(Link& link, uint32_t circ_id, DestroyReason reason) {
  std::array<uint8_t, kCellBytes> cell;
  BuildDestroyCell(circ_id, reason, cell);
  link.Send(cell);
}

void ClientNode::OnLinkCell(Link& link, std::span<const uint8_t, kCellBytes> cell) {
  stack_wipe_.Request();  // CREATED2's ntor and key setup, every cell's Receive
  ++counters_["cells_in"];
  const uint32_t circ_id = LoadBe<uint32_t>(cell, 0);
  const uint64_t key = Key(link.channel(), circ_id);
  Circuit* circuit = FindCircuit(key);
  if (!circuit || circuit->state == CircuitState::kDead) {
    counters_.Count("dropped", "unknown_circuit");
    return;
  }
  switch (cell[4]) {
    case kCreated2Command: {
      if (circuit->built != 0 || !circuit->handshake) {
        counters_.Count("protocol_errors", "unexpected_created2");
        ProtocolViolation(key, "unexpected_created2");
        return;
      }
      std::span<const uint8_t> hdata;
      HopKeyMaterial material;
      if (ParseCreated2(std::span<const uint8_t>(cell.data() + kCellHeaderBytes, kCellBodyBytes),
                        hdata) != WireError::kNone ||
          circuit->handshake->Finish(hdata, material) != NtorError::kOk) {
        counters_.Count("protocol_errors", "bad_created2");
        KillCircuit(key, "created2_did_not_verify", 1);
        return;
      }
      const std::span<const uint8_t> seeds[] = {material.bytes()};
      if (ClientCircuit::Create(*FindSuite(circuit->ntor->suite_name), circ_id, seeds,
                                config_.rekey, circuit->circuit) != SuiteError::kOk) {
        KillCircuit(key, "key_setup_failed", 0);
        return;
      }
      material.Wipe();
      circuit->built = 1;
      if (circuit->built == config_.hops) {
        OnCircuitOpen(*circuit);
      } else {
        Extend(*circuit);
      }
      return;
    }
    case uint8_t(CellCommand::kDestroy):
      counters_.Count("destroys_received", std::to_string(cell[5]));
      KillCircuit(key, "destroy_received", 0);
      return;
    case uint8_t(CellCommand::kRelay):
    case uint8_t(CellCommand::kRelayEarly):
      if (circuit->built == 0) {
        ProtocolViolation(key, "relay_cell_before_created2");
        return;
      }
      OnRelayCell(*circuit, link, cell);
      return;
    default: counters_.Count("dropped", "unexpected_command");
  }
}

void ClientNode::OnRelayCell(Circuit& circuit, Link& link,
                             std::span<const uint8_t, kCellBytes> in) {
  std::array<uint8_t, kCellBytes> cell;
  std::memcpy(cell.data(), in.data(), kCellBytes);
  const CellResult result = circuit.circuit.Receive(cell);
  const uint64_t key = Key(circuit.channel, circuit.circ_id);
  switch (result.outcome) {
    case CellOutcome::kDelivered: OnDelivered(circuit, result); break;
    case CellOutcome::kIgnored:
      if (result.hop != 0) counters_.Count("rekeys_acked", "hop" + std::to_string(result.hop));
      break;
    case CellOutcome::kDestroyed: {
      counters_.Count("protocol_errors", ProtocolErrorCounterName(result.error));
      SendDestroy(link, circuit.circ_id, DestroyReason::kProtocol);
      KillCircuit(key, "protocol_error", 0);
      return;
    }
    default: break;
  }
  if (Circuit* still = FindCircuit(key)) SendControlCells(*still);
}

void ClientNode::OnDelivered(Circuit& circuit, const CellResult& result) {
  const uint64_t key = Key(circuit.channel, circuit.circ_id);
  const uint16_t stream_id = result.header.stream_id;
  switch (result.header.command) {
    case RelayCommand::kExtended2: {
      if (circuit.state != CircuitState::kBuilding || result.hop != circuit.built ||
          !circuit.handshake) {
        ProtocolViolation(key, "unexpected_extended2");
        return;
      }
      std::span<const uint8_t> hdata;
      HopKeyMaterial material;
      if (ParseCreated2(result.data, hdata) != WireError::kNone ||
          circuit.handshake->Finish(hdata, material) != NtorError::kOk) {
        KillCircuit(key, "extended2_did_not_verify", circuit.built + 1);
        return;
      }
      const SuiteError added = circuit.circuit.AddHop(material.bytes());
      material.Wipe();
      if (added != SuiteError::kOk) {
        KillCircuit(key, "addhop_failed", 0);
        return;
      }
      ++circuit.built;
      if (circuit.built == config_.hops) {
        OnCircuitOpen(circuit);
      } else {
        Extend(circuit);
      }
      return;
    }
    case RelayCommand::kTruncated:
      counters_.Count("truncated_received",
                      std::to_string(result.data.empty() ? 0 : result.data[0]));
      // The hop after the one that sent it is to blame.
      KillCircuit(key, "truncated", result.hop + 1);
      return;
    case RelayCommand::kConnected: {
      auto stream = circuit.streams.find(stream_id);
      if (stream == circuit.streams.end() || stream->second.connected) return;
      stream->second.connected = true;
      ++counters_["streams_connected"];
      const auto session = sessions_.find(stream->second.session);
      if (session != sessions_.end()) session->second->Connected();
      return;
    }
    case RelayCommand::kData: {
      if (!circuit.deliver.OnData()) {
        ProtocolViolation(key, "data_beyond_the_circuit_window");
        return;
      }
      if (circuit.deliver.SendmeDue()) {
        circuit.deliver.OnSendmeSent();
        SendToHop(circuit, circuit.built, RelayCommand::kSendme, 0, {});
      }
      auto stream = circuit.streams.find(stream_id);
      if (stream == circuit.streams.end()) return;
      if (circuit.stream_sendmes && !stream->second.deliver.OnData()) {
        ProtocolViolation(key, "data_beyond_the_stream_window");
        return;
      }
      const auto session = sessions_.find(stream->second.session);
      if (session != sessions_.end()) session->second->Write(result.data);
      SendStreamSendmes(circuit, stream_id, stream->second);
      return;
    }
    case RelayCommand::kEnd: {
      auto stream = circuit.streams.find(stream_id);
      if (stream == circuit.streams.end()) return;
      const uint64_t session = stream->second.session;
      const bool connected = stream->second.connected;
      stream->second.end_sent = true;  // the session close below must not send another
      circuit.streams.erase(stream);
      const EndReason reason = result.data.empty() ? EndReason::kMisc : EndReason(result.data[0]);
      if (!connected) {
        FailSession(session, reason);
      } else {
        const uint8_t done = uint8_t(EndReason::kDone);
        SendToHop(circuit, circuit.built, RelayCommand::kEnd, stream_id,
                  std::span<const uint8_t>(&done, 1));
        routes_.erase(session);
        const auto found = sessions_.find(session);
        if (found != sessions_.end()) {
          auto keep = found->second;
          sessions_.erase(found);
          keep->Close(/*flush=*/true);
          asio::post(io_, [keep] {});
        }
      }
      return;
    }
    case RelayCommand::kSendme: {
      if (stream_id == 0) {
        if (!circuit.package.OnSendme()) {
          ProtocolViolation(key, "circuit_sendme_above_the_window");
          return;
        }
        for (auto& [id, stream] : circuit.streams) {
          const auto session = sessions_.find(stream.session);
          if (session != sessions_.end()) session->second->Wake();
        }
        return;
      }
      auto stream = circuit.streams.find(stream_id);
      if (stream == circuit.streams.end()) return;
      if (!circuit.stream_sendmes || !stream->second.package.OnSendme()) {
        ProtocolViolation(key, "stream_sendme_above_the_window");
        return;
      }
      const auto session = sessions_.find(stream->second.session);
      if (session != sessions_.end()) session->second->Wake();
      return;
    }
    default: counters_.Count("relay_ignored", RelayCommandName(result.header.command));
  }
}

void ClientNode::ProtocolViolation(uint64_t key, std::string_view why) {
  Circuit* circuit = FindCircuit(key);
  if (!circuit) return;
  counters_.Count("protocol_errors", why);
  const auto link = links_.find(circuit->channel);
  if (link != links_.end()) {
    SendDestroy(*link->second, circuit->circ_id, DestroyReason::kProtocol);
  }
  KillCircuit(key, why, 0);
}

void ClientNode::KillCircuit(uint64_t key, std::string_view why, int blame_hop) {
  // `why` is a counter reason: snake_case.
  const auto found = circuits_.find(key);
  if (found == circuits_.end()) return;
  std::unique_ptr<Circuit> circuit = std::move(found->second);
  circuits_.erase(found);
  circuit->state = CircuitState::kDead;
  if (circuit->build_timer) circuit->build_timer->cancel();
  counters_.Count("circuits_died", why);
  if (blame_hop >= 1 && size_t(blame_hop) <= circuit->path.size())
    relay_down_until_[circuit->path[size_t(blame_hop - 1)]] =
        Clock::now() + std::chrono::seconds(config_.relay_down_s);
  circuit->circuit.Destroy();
  // Streams that were open end with an error (their connection closes); streams still
  // waiting for a circuit try one more.
  for (auto& [id, stream] : circuit->streams) {
    routes_.erase(stream.session);
    const auto session = sessions_.find(stream.session);
    if (session == sessions_.end()) continue;
    auto keep = session->second;
    sessions_.erase(session);
    if (stream.connected) {
      keep->Close(false);
    } else {
      keep->Refuse(SocksReply::kGeneralFailure);
    }
    asio::post(io_, [keep] {});
  }
  for (uint64_t session : circuit->waiting) {
    auto route = routes_.find(session);
    if (route == routes_.end()) continue;
    if (route->second.builds_tried < 2 && !shutting_down_) {
      asio::post(io_, [this, session, target = route->second.target] {
        if (routes_.count(session)) OnSocksRequest(session, target);
      });
    } else {
      FailSession(session, EndReason::kMisc);
    }
  }
}

void ClientNode::OnLinkClosed(Link& link) {
  const uint32_t channel = link.channel();
  ++counters_["links_closed"];
  auto found = links_.find(channel);
  if (found != links_.end()) {
    asio::post(io_, [keep = found->second] {});
    links_.erase(found);
  }
  const auto relay = link_relay_.find(channel);
  const bool was_open = link.counters().cells_in > 0;
  if (relay != link_relay_.end()) {
    if (!was_open)
      relay_down_until_[relay->second] = Clock::now() + std::chrono::seconds(config_.relay_down_s);
    link_relay_.erase(relay);
  }
  std::vector<uint64_t> keys;
  for (const auto& [key, circuit] : circuits_)
    if (circuit->channel == channel) keys.push_back(key);
  for (uint64_t key : keys) KillCircuit(key, "link_closed", was_open ? 0 : 1);
  const auto waiting = waiting_for_link_.find(channel);
  if (waiting != waiting_for_link_.end()) {
    const std::vector<uint64_t> pending = std::move(waiting->second);
    waiting_for_link_.erase(waiting);
    for (uint64_t key : pending) KillCircuit(key, "link_closed", 1);
  }
}

ClientNode::Circuit* ClientNode::FindCircuit(uint64_t key) {
  const auto found = circuits_.find(key);
  return found == circuits_.end() ? nullptr : found->second.get();
}

}  // namespace relaycell::net
