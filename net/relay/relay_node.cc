#include "net/relay/relay_node.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "engine/common/byte_io.h"
#include "engine/suite/suite_registry.h"
#include "net/handshake/ntor.h"
#include "net/link/link_dialer.h"
#include "net/link/tls_identity.h"
#include "net/wire/create2.h"

namespace relaycell::net {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::microseconds kPumpInterval{50};
constexpr int kPumpIdleTicks = 40;                    // stop polling after ~2 ms of nothing
constexpr size_t kStreamSendmeQueueLimit = 64 << 10;  // grant more only once written out

RelayPipelineConfig PipelineConfig(const RelayConfig& config) {
  RelayPipelineConfig pipeline;
  pipeline.rekey = config.rekey;
  pipeline.max_circuits = config.limits.max_links * config.limits.max_circuits_per_link;
  return pipeline;
}

void WriteCellHeader(uint32_t circ_id, uint8_t command, std::span<uint8_t, kCellBytes> cell) {
  std::memset(cell.data(), 0, kCellBytes);
  StoreBe<uint32_t>(circ_id, cell, 0);
  cell[4] = command;
}

std::span<uint8_t, kCellBodyBytes> Body(std::span<uint8_t, kCellBytes> cell) {
  return std::span<uint8_t, kCellBodyBytes>(cell.data() + kCellHeaderBytes, kCellBodyBytes);
}
std::span<const uint8_t, kCellBodyBytes> Body(std::span<const uint8_t, kCellBytes> cell) {
  return std::span<const uint8_t, kCellBodyBytes>(cell.data() + kCellHeaderBytes, kCellBodyBytes);
}

const char* DestroyReasonCounterName(uint8_t reason) {
  switch (reason) {
    case 0: return "none";
    case 1: return "protocol";
    case 2: return "internal";
    case 3: return "requested";
    case 5: return "resourcelimit";
    case 6: return "connectfailed";
    case 7: return "or_identity";
    case 8: return "channel_closed";
    case 9: return "finished";
    case 10: return "timeout";
    case 11: return "destroyed";
  }
  return "other";
}

}  // namespace

RelayNode::RelayNode(asio::io_context& io, const RelayConfig& config, const RelayKeys& keys)
    : io_(io),
      config_(config),
      keys_(keys),
      server_tls_(asio::ssl::context::tls_server),
      client_tls_(asio::ssl::context::tls_client),
      acceptor_(io),
      engine_(config.workers, PipelineConfig(config)),
      pump_timer_(io),
      idle_timer_(io) {}

RelayNode::~RelayNode() = default;

bool RelayNode::Start(std::string* error) {
  if (!ConfigureRelayServerTls(server_tls_.native_handle(), keys_, error)) return false;
  if (!ConfigureLinkClientTls(client_tls_.native_handle(), error)) return false;
  std::error_code ec;
  const Tcp::endpoint endpoint(ToAsioAddress(config_.listen.address), config_.listen.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(Tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    if (error)
      *error = "cannot listen on " + config_.listen.address.ToString() + ":" +
               std::to_string(config_.listen.port) + ": " + ec.message();
    return false;
  }
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
  if (config_.metrics_listen) {
    metrics_acceptor_ = std::make_unique<Tcp::acceptor>(io_);
    const Tcp::endpoint metrics(ToAsioAddress(config_.metrics_listen->address),
                                config_.metrics_listen->port);
    metrics_acceptor_->open(metrics.protocol(), ec);
    if (!ec) metrics_acceptor_->set_option(Tcp::acceptor::reuse_address(true), ec);
    if (!ec) metrics_acceptor_->bind(metrics, ec);
    if (!ec) metrics_acceptor_->listen(16, ec);
    if (ec) {
      if (error) *error = "cannot listen for metrics: " + ec.message();
      return false;
    }
    asio::co_spawn(io_, MetricsLoop(), asio::detached);
  }
  ArmIdleSweep();
  return true;
}

asio::awaitable<void> RelayNode::AcceptLoop() {
  while (!shutting_down_) {
    std::error_code ec;
    Tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || shutting_down_) {
      if (shutting_down_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (links_.size() >= config_.limits.max_links) {
      ++counters_["links_refused"];
      socket.close(ec);
      continue;
    }
    socket.set_option(Tcp::no_delay(true), ec);
    const uint32_t channel = next_channel_++;
    auto link = Link::Make(io_, TlsStream(std::move(socket), server_tls_), channel,
                           LinkSide::kAccepted, *this);
    links_[channel] = link;
    ++counters_["links_accepted"];
    link->Start(std::chrono::milliseconds(config_.limits.handshake_timeout_ms));
  }
}

asio::awaitable<void> RelayNode::MetricsLoop() {
  while (!shutting_down_) {
    std::error_code ec;
    Tcp::socket socket =
        co_await metrics_acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::array<char, 1024> request;
    co_await socket.async_read_some(asio::buffer(request),
                                    asio::redirect_error(asio::use_awaitable, ec));
    const std::string body = Snapshot().Prometheus();
    const std::string response =
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    co_await asio::async_write(socket, asio::buffer(response),
                               asio::redirect_error(asio::use_awaitable, ec));
    socket.close(ec);
  }
}

NodeCounters RelayNode::Snapshot() {
  NodeCounters snapshot = counters_;
  snapshot["open_links"] = links_.size();
  snapshot["open_circuits"] = circuits_.size();
  size_t streams = 0;
  for (const auto& [key, circuit] : circuits_) streams += circuit->streams.size();
  snapshot["open_streams"] = streams;
  snapshot["peak_link_buffer_bytes"] = peak_link_buffer_;
  const RelayPipelineCounters engine = engine_.counters();
  snapshot["engine_forwarded"] = engine.forwarded;
  snapshot["engine_delivered"] = engine.delivered;
  snapshot["engine_originated"] = engine.originated;
  snapshot["rekeys"] = engine.control_cells;
  snapshot["engine_unknown_circuit"] = engine.unknown_circuit;
  return snapshot;
}

// ---- Links ------------------------------------------------------------------------------

void RelayNode::OnLinkOpen(Link& link) {
  ++counters_["links_opened"];
  const auto waiting = waiting_for_link_.find(link.channel());
  if (waiting == waiting_for_link_.end()) return;
  const std::vector<uint64_t> keys = std::move(waiting->second);
  waiting_for_link_.erase(waiting);
  for (uint64_t packed : keys) {
    Circuit* circuit = FindByClient({uint32_t(packed >> 32), uint32_t(packed)});
    if (circuit && circuit->next_state == NextHop::kDialing) SendCreate2(*circuit, link);
  }
  Pump();
}

void RelayNode::OnLinkCell(Link& link, std::span<const uint8_t, kCellBytes> cell) {
  ++counters_["cells_in"];
  switch (cell[4]) {
    case kCreate2Command: OnCreate2(link, cell); return;
    case kCreated2Command: OnCreated2(link, cell); return;
    default: ToEngine(link, cell);
  }
}

void RelayNode::OnLinkBatchEnd(Link&) { Pump(); }

void RelayNode::OnLinkClosed(Link& link) {
  const uint32_t channel = link.channel();
  ++counters_["links_closed"];
  // The Link may be inside one of its own calls: keep it alive until this handler is done.
  auto found = links_.find(channel);
  if (found != links_.end()) {
    asio::post(io_, [keep = found->second] {});
    links_.erase(found);
  }
  std::vector<uint64_t> keys;
  keys.reserve(circuits_.size());
  for (const auto& [key, circuit] : circuits_) keys.push_back(key);
  for (uint64_t packed : keys) {
    Circuit* circuit = FindByClient({uint32_t(packed >> 32), uint32_t(packed)});
    if (!circuit) continue;
    if (circuit->client.channel == channel) {
      // Losing the previous link destroys the circuit ahead (network.md §4).
      counters_.Count("circuits_closed", "channel_closed");
      CloseCircuit(*circuit, DestroyReason::kChannelClosed, false, true);
    } else if (circuit->next_state != NextHop::kNone && circuit->next_state != NextHop::kDialing &&
               circuit->next.channel == channel) {
      if (circuit->next_state == NextHop::kAttached) {
        InCell& in = engine_.QueueSlot();
        EncodeRelayDetachNext(circuit->client.channel, circuit->client.circ_id, in);
      }
      ExtendFailed(*circuit, DestroyReason::kChannelClosed);
    }
  }
  const auto waiting = waiting_for_link_.find(channel);
  if (waiting != waiting_for_link_.end()) {
    const std::vector<uint64_t> dialers = std::move(waiting->second);
    waiting_for_link_.erase(waiting);
    for (uint64_t packed : dialers) {
      Circuit* circuit = FindByClient({uint32_t(packed >> 32), uint32_t(packed)});
      if (circuit && circuit->next_state == NextHop::kDialing)
        ExtendFailed(*circuit, DestroyReason::kConnectFailed);
    }
  }
  circuits_per_link_.erase(channel);
  Pump();
}

void RelayNode::SendDestroy(Link& link, uint32_t circ_id, DestroyReason reason) {
  std::array<uint8_t, kCellBytes> cell;
  BuildDestroyCell(circ_id, reason, cell);  // the payload after the reason is zeros
  counters_.Count("destroys_sent", DestroyReasonCounterName(uint8_t(reason)));
  link.Send(cell);
}

void RelayNode::OnCreate2(Link& link, std::span<const uint8_t, kCellBytes> cell) {
  const uint32_t circ_id = LoadBe<uint32_t>(cell, 0);
  const CircuitKey key{link.channel(), circ_id};
  if (FindByClient(key) || FindByNext(key)) {
    // A CREATE2 on an id in use: dropped, the live circuit unharmed (network.md §3).
    counters_.Count("dropped", "create2_circ_id_in_use");
    return;
  }
  if (!link.reader().PeerIdHasRightTopBit(circ_id)) {
    counters_.Count("protocol_errors", "create2_wrong_circ_id_half");
    SendDestroy(link, circ_id, DestroyReason::kProtocol);
    return;
  }
  if (shutting_down_ ||
      circuits_per_link_[link.channel()] >= config_.limits.max_circuits_per_link) {
    counters_.Count("create2_refused", "circuits_per_link");
    SendDestroy(link, circ_id, DestroyReason::kResourceLimit);
    return;
  }
  Create2Body body;
  const WireError parse = ParseCreate2(Body(cell), body);
  const NtorSuite* ntor = parse == WireError::kNone ? FindNtorSuiteByHtype(body.htype) : nullptr;
  const bool offered = ntor && std::find(config_.suites.begin(), config_.suites.end(),
                                         ntor->suite_name) != config_.suites.end();
  if (!offered) {
    counters_.Count("protocol_errors",
                    parse != WireError::kNone ? WireErrorCounterName(parse) : "create2_htype");
    SendDestroy(link, circ_id, DestroyReason::kProtocol);
    return;
  }
  const CellSuite* suite = FindSuite(ntor->suite_name);
  HopKeyMaterial material;
  std::array<uint8_t, kNtorServerHdataBytes> reply;
  stack_wipe_.Request();
  const NtorError ntor_error = NtorServerRespond(*ntor, keys_.identity, keys_.onion_public,
                                                 keys_.onion_secret(), body.hdata, reply, material);
  if (ntor_error != NtorError::kOk || suite == nullptr) {
    counters_.Count("protocol_errors", std::string("ntor_") + NtorErrorName(ntor_error));
    SendDestroy(link, circ_id, DestroyReason::kProtocol);
    return;
  }
  InCell& open = engine_.QueueSlot();
  RelayOpenParams params;
  params.suite = suite->id();
  params.seed = material.bytes();
  const bool encoded = EncodeRelayOpen(link.channel(), circ_id, params, open);
  material.Wipe();
  if (!encoded) {
    engine_.DropLastQueued();
    SendDestroy(link, circ_id, DestroyReason::kInternal);
    return;
  }
  std::array<uint8_t, kCellBytes> created;
  WriteCellHeader(circ_id, kCreated2Command, created);
  BuildCreated2(reply, Body(std::span<uint8_t, kCellBytes>(created)));
  link.Send(created);

  auto circuit = std::make_unique<Circuit>();
  circuit->client = key;
  circuit->suite = suite;
  circuit->stream_sendmes = HasStreamSendmes(*suite);
  circuit->last_cell = Clock::now();
  circuits_[key.packed()] = std::move(circuit);
  ++circuits_per_link_[link.channel()];
  counters_.Count("circuits_created", ntor->suite_name);
}

void RelayNode::OnCreated2(Link& link, std::span<const uint8_t, kCellBytes> cell) {
  const uint32_t circ_id = LoadBe<uint32_t>(cell, 0);
  const CircuitKey key{link.channel(), circ_id};
  Circuit* circuit = FindByNext(key);
  if (!circuit || circuit->next_state != NextHop::kCreateSent) {
    if (Circuit* wrong = FindByClient(key)) {
      // CREATED2 from the client's side: the wrong direction (network.md §2).
      ProtocolViolation(*wrong, "created2_from_client_side");
    } else {
      counters_.Count("dropped", "created2_unknown_circuit");
    }
    return;
  }
  std::span<const uint8_t> hdata;
  std::array<uint8_t, kRelayDataBytes> extended{};
  const WireError parse = ParseCreated2(Body(cell), hdata);
  const size_t length = parse == WireError::kNone ? BuildCreated2(hdata, extended) : 0;
  if (length == 0) {
    counters_.Count("protocol_errors", "created2_malformed");
    SendDestroy(link, circ_id, DestroyReason::kProtocol);
    ExtendFailed(*circuit, DestroyReason::kProtocol);
    return;
  }
  // The engine learns the next hop before EXTENDED2 leaves: the client's next cell for it
  // can only come after.
  InCell& attach = engine_.QueueSlot();
  EncodeRelayAttachNext(circuit->client.channel, circuit->client.circ_id, key.channel, key.circ_id,
                        attach);
  circuit->next_state = NextHop::kAttached;
  circuit->create_hdata.clear();
  ++counters_["extends"];
  Originate(*circuit, RelayCommand::kExtended2, 0,
            std::span<const uint8_t>(extended.data(), length));
}

void RelayNode::ToEngine(Link& link, std::span<const uint8_t, kCellBytes> cell) {
  const CircuitKey key{link.channel(), LoadBe<uint32_t>(cell, 0)};
  Circuit* circuit = FindByClient(key);
  if (!circuit) {
    circuit = FindByNext(key);
    if (circuit && circuit->next_state != NextHop::kAttached) {
      if (cell[4] == uint8_t(CellCommand::kDestroy)) {
        // The next relay refused our CREATE2: the circuit ends here again.
        by_next_.erase(circuit->next.packed());
        circuit->next_state = NextHop::kNone;
        Originate(*circuit, RelayCommand::kTruncated, 0,
                  std::span<const uint8_t>(cell.data() + kCellHeaderBytes, 1));
      } else {
        counters_.Count("dropped", "cell_before_created2");
      }
      return;
    }
  }
  if (!circuit) {
    counters_.Count("dropped", "unknown_circuit");
    return;
  }
  circuit->last_cell = Clock::now();
  InCell& in = engine_.QueueSlot();
  in.channel = link.channel();
  in.kind = InKind::kCell;
  std::memcpy(in.cell.bytes.data(), cell.data(), kCellBytes);
}

// ---- The engine -------------------------------------------------------------------------

void RelayNode::Pump() {
  // Handling an output can lead here again (a SENDME wakes a stream, whose data is queued):
  // the running Pump's loop takes what was queued, so outputs are never handled re-entrantly.
  if (engine_stopped_ || pumping_) return;
  pumping_ = true;
  // Outputs can queue new inputs (replies we originate): run until both sides are quiet.
  for (;;) {
    engine_.Flush();
    const size_t polled =
        engine_.Poll([this](std::span<const OutItem> items) { OnEngineOutputs(items); });
    if (polled == 0 && !engine_.Busy()) break;
    if (engine_.sharded()) break;  // the workers need time: the timer comes back
  }
  pumping_ = false;
  ApplyBackPressure();
  if (engine_.sharded() || reads_paused_) ArmPump();
}

void RelayNode::SchedulePump() {
  if (pump_posted_) return;
  pump_posted_ = true;
  asio::post(io_, [this] {
    pump_posted_ = false;
    Pump();
  });
}

void RelayNode::ArmPump() {
  pump_idle_ticks_ = 0;
  StartPumpTimer();
}

void RelayNode::StartPumpTimer() {
  if (pump_armed_) return;
  pump_armed_ = true;
  pump_timer_.expires_after(kPumpInterval);
  pump_timer_.async_wait([this](std::error_code ec) {
    pump_armed_ = false;
    if (ec || engine_stopped_ || pumping_) return;
    pumping_ = true;
    engine_.Flush();
    const size_t polled =
        engine_.Poll([this](std::span<const OutItem> items) { OnEngineOutputs(items); });
    pumping_ = false;
    ApplyBackPressure();
    const bool active = polled != 0 || engine_.Busy() || reads_paused_;
    pump_idle_ticks_ = active ? 0 : pump_idle_ticks_ + 1;
    if (pump_idle_ticks_ <= kPumpIdleTicks) StartPumpTimer();
  });
}

void RelayNode::ApplyBackPressure() {
  size_t most = 0;
  for (const auto& [channel, link] : links_) most = std::max(most, link->buffered_bytes());
  if (!reads_paused_ && most > config_.limits.max_link_buffer_bytes) {
    // A link that cannot drain stops every reader until it does: memory stays bounded.
    reads_paused_ = true;
    ++counters_["backpressure_pauses"];
    for (auto& [channel, link] : links_) link->PauseReading();
  } else if (reads_paused_ && most <= config_.limits.max_link_buffer_bytes / 2) {
    reads_paused_ = false;
    for (auto& [channel, link] : links_) link->ResumeReading();
  }
}

void RelayNode::OnEngineOutputs(std::span<const OutItem> items) {
  for (const OutItem& item : items) {
    const CircuitKey key{item.channel, item.cell.circ_id()};
    switch (item.kind) {
      case OutKind::kSend: {
        const auto link = links_.find(item.channel);
        if (link != links_.end()) {
          link->second->Send(item.cell.span());
          peak_link_buffer_ = std::max(peak_link_buffer_, link->second->buffered_bytes());
          ++counters_["cells_out"];
        }
        break;
      }
      case OutKind::kDeliver: OnDeliver(item); break;
      case OutKind::kDestroy: {
        const auto link = links_.find(item.channel);
        if (link != links_.end()) link->second->Send(item.cell.span());
        counters_.Count("destroys_sent", DestroyReasonCounterName(item.cell.payload()[0]));
        [[fallthrough]];
      }
      case OutKind::kClosed: {
        Circuit* circuit = FindByClient(key);
        if (!circuit) circuit = FindByNext(key);
        if (circuit) Forget(circuit->client);
        break;
      }
      case OutKind::kNextDestroyed: {
        Circuit* circuit = FindByClient(key);
        // Already truncated: the next link was lost while its DESTROY was in the engine, and
        // the client has its TRUNCATED (one per next hop).
        if (!circuit || circuit->next_state == NextHop::kNone) break;
        counters_.Count("truncated_sent", DestroyReasonCounterName(item.cell.payload()[0]));
        if (circuit->next_state != NextHop::kNone) by_next_.erase(circuit->next.packed());
        circuit->next_state = NextHop::kNone;
        Originate(*circuit, RelayCommand::kTruncated, 0,
                  std::span<const uint8_t>(item.cell.payload().data(), 1));
        break;
      }
    }
  }
}

void RelayNode::OnDeliver(const OutItem& item) {
  Circuit* circuit = FindByClient({item.channel, item.cell.circ_id()});
  if (!circuit) {
    counters_.Count("dropped", "deliver_unknown_circuit");
    return;
  }
  const ParsedRelay relay = ParseRelayPayload(circuit->suite->relay_format(), item.cell.payload());
  if (!relay.ok()) {
    ProtocolViolation(*circuit, ProtocolErrorCounterName(relay.error));
    return;
  }
  const bool early = item.cell.command() == uint8_t(CellCommand::kRelayEarly);
  const uint16_t stream = relay.header.stream_id;
  switch (relay.header.command) {
    case RelayCommand::kExtend2: OnExtend2(*circuit, relay.data, early); return;
    case RelayCommand::kBegin: OnBegin(*circuit, stream, relay.data); return;
    case RelayCommand::kData: OnData(*circuit, stream, relay.data); return;
    case RelayCommand::kEnd: OnEnd(*circuit, stream); return;
    case RelayCommand::kSendme: OnSendme(*circuit, stream); return;
    case RelayCommand::kDrop: ++counters_["drop_cells"]; return;
    default: counters_.Count("relay_ignored", RelayCommandName(relay.header.command)); return;
  }
}

bool RelayNode::Originate(Circuit& circuit, RelayCommand command, uint16_t stream_id,
                          std::span<const uint8_t> data) {
  InCell in;
  in.channel = circuit.client.channel;
  in.kind = InKind::kOriginate;
  StoreBe<uint32_t>(circuit.client.circ_id, in.cell.bytes, 0);
  in.cell.bytes[4] = uint8_t(CellCommand::kRelay);
  RelayHeader header;
  header.command = command;
  header.stream_id = stream_id;
  header.length = static_cast<uint16_t>(data.size());
  if (!BuildRelayPayload(circuit.suite->relay_format(), header, data, in.cell.payload())) {
    counters_.Count("originate_refused", RelayCommandName(command));
    return false;
  }
  engine_.Queue(in);
  return true;
}

void RelayNode::SendEnd(Circuit& circuit, uint16_t stream_id, EndReason reason) {
  const uint8_t byte = uint8_t(reason);
  Originate(circuit, RelayCommand::kEnd, stream_id, std::span<const uint8_t>(&byte, 1));
}

void RelayNode::CloseCircuit(Circuit& circuit, DestroyReason reason, bool tell_client,
                             bool tell_next) {
  if (tell_next && circuit.next_state == NextHop::kCreateSent) {
    // The engine does not know this next hop yet: tell it ourselves.
    const auto link = links_.find(circuit.next.channel);
    if (link != links_.end()) SendDestroy(*link->second, circuit.next.circ_id, reason);
  }
  InCell& close = engine_.QueueSlot();
  EncodeRelayClose(circuit.client.channel, circuit.client.circ_id, reason, tell_client,
                   tell_next && circuit.next_state == NextHop::kAttached, close);
  counters_.Count("destroys_sent", DestroyReasonCounterName(uint8_t(reason)));
  Forget(circuit.client);
}

void RelayNode::ProtocolViolation(Circuit& circuit, std::string_view reason) {
  counters_.Count("protocol_errors", reason);
  CloseCircuit(circuit, DestroyReason::kProtocol, true, true);
}

void RelayNode::Forget(CircuitKey client_key) {
  const auto found = circuits_.find(client_key.packed());
  if (found == circuits_.end()) return;
  Circuit& circuit = *found->second;
  if (circuit.next_state == NextHop::kCreateSent || circuit.next_state == NextHop::kAttached)
    by_next_.erase(circuit.next.packed());
  const auto per_link = circuits_per_link_.find(client_key.channel);
  if (per_link != circuits_per_link_.end() && per_link->second > 0) --per_link->second;
  ++counters_["circuits_closed_total"];
  // Streams close with the circuit (their sockets with them).
  auto doomed = std::move(found->second);
  circuits_.erase(found);
  doomed.reset();
}

RelayNode::Circuit* RelayNode::FindByClient(CircuitKey key) {
  const auto found = circuits_.find(key.packed());
  return found == circuits_.end() ? nullptr : found->second.get();
}

RelayNode::Circuit* RelayNode::FindByNext(CircuitKey key) {
  const auto found = by_next_.find(key.packed());
  if (found == by_next_.end()) return nullptr;
  return FindByClient({uint32_t(found->second >> 32), uint32_t(found->second)});
}

// ---- Extending --------------------------------------------------------------------------

void RelayNode::OnExtend2(Circuit& circuit, std::span<const uint8_t> data, bool early) {
  if (!early) {
    ProtocolViolation(circuit, "extend2_not_relay_early");
    return;
  }
  if (circuit.next_state != NextHop::kNone) {
    ProtocolViolation(circuit, "extend2_already_extended");
    return;
  }
  Extend2Request request;
  const WireError parse = ParseExtend2(data, request);
  if (parse != WireError::kNone) {
    ProtocolViolation(circuit, WireErrorCounterName(parse));
    return;
  }
  circuit.htype = request.htype;
  circuit.create_hdata.assign(request.hdata.begin(), request.hdata.end());
  circuit.next_identity = request.identity;
  // Reuse an open link to that identity (network.md §4).
  for (auto& [channel, link] : links_) {
    if (link->is_open() && link->peer_identity() && *link->peer_identity() == request.identity) {
      SendCreate2(circuit, *link);
      return;
    }
  }
  circuit.next_state = NextHop::kDialing;
  std::vector<Endpoint> endpoints(
      request.addresses.begin(), request.addresses.begin() + std::ptrdiff_t(request.address_count));
  asio::co_spawn(
      io_,
      [this, key = circuit.client, endpoints = std::move(endpoints),
       identity = request.identity]() -> asio::awaitable<void> {
        const uint32_t channel = next_channel_++;
        std::shared_ptr<Link> link;
        const DialError error =
            co_await DialLink(io_, client_tls_, endpoints, identity, channel, *this,
                              std::chrono::milliseconds(config_.limits.connect_timeout_ms), link);
        Circuit* again = FindByClient(key);
        if (error != DialError::kOk) {
          counters_.Count("extend_failed", DialErrorName(error));
          if (again && again->next_state == NextHop::kDialing) {
            ExtendFailed(*again, error == DialError::kWrongIdentity
                                     ? DestroyReason::kOrIdentity
                                     : DestroyReason::kConnectFailed);
            Pump();
          }
          co_return;
        }
        if (shutting_down_) {
          link->Close();
          co_return;
        }
        links_[channel] = link;
        waiting_for_link_[channel].push_back(key.packed());
        link->Start(std::chrono::milliseconds(config_.limits.handshake_timeout_ms));
      },
      asio::detached);
}

void RelayNode::SendCreate2(Circuit& circuit, Link& next_link) {
  uint32_t circ_id = 0;
  for (;;) {
    circ_id = engine_.PickNextCircId(circuit.client, next_link.channel(), circ_id_hint_,
                                     next_link.our_id_high_bit());
    circ_id_hint_ = (circ_id & 0x7fffffffu) + 1;
    const CircuitKey key{next_link.channel(), circ_id};
    if (!FindByNext(key) && !FindByClient(key)) break;
  }
  std::array<uint8_t, kCellBytes> cell;
  WriteCellHeader(circ_id, kCreate2Command, cell);
  if (!BuildCreate2(circuit.htype, circuit.create_hdata,
                    Body(std::span<uint8_t, kCellBytes>(cell)))) {
    ExtendFailed(circuit, DestroyReason::kProtocol);
    return;
  }
  circuit.next = {next_link.channel(), circ_id};
  circuit.next_state = NextHop::kCreateSent;
  by_next_[circuit.next.packed()] = circuit.client.packed();
  next_link.Send(cell);
}

void RelayNode::ExtendFailed(Circuit& circuit, DestroyReason reason) {
  if (circuit.next_state == NextHop::kCreateSent || circuit.next_state == NextHop::kAttached)
    by_next_.erase(circuit.next.packed());
  circuit.next_state = NextHop::kNone;
  circuit.create_hdata.clear();
  counters_.Count("truncated_sent", DestroyReasonCounterName(uint8_t(reason)));
  const uint8_t byte = uint8_t(reason);
  Originate(circuit, RelayCommand::kTruncated, 0, std::span<const uint8_t>(&byte, 1));
}

// ---- Streams at the exit ----------------------------------------------------------------

void RelayNode::OnBegin(Circuit& circuit, uint16_t stream_id, std::span<const uint8_t> data) {
  if (stream_id == 0) {
    ProtocolViolation(circuit, "begin_stream_id_zero");
    return;
  }
  if (circuit.streams.count(stream_id)) {
    counters_.Count("dropped", "begin_stream_in_use");
    return;
  }
  if (!config_.exit) {
    counters_.Count("streams_refused", "not_an_exit");
    SendEnd(circuit, stream_id, EndReason::kExitPolicy);
    return;
  }
  BeginTarget target;
  const WireError parse = ParseBegin(data, target);
  if (parse != WireError::kNone) {
    counters_.Count("streams_refused", WireErrorCounterName(parse));
    SendEnd(circuit, stream_id, EndReason::kTorProtocol);
    return;
  }
  auto stream = std::make_unique<ExitStream>(
      io_, *this, circuit.client, stream_id,
      circuit.suite->relay_format().max_data(uint8_t(RelayCommand::kData)));
  ExitStream& started = *stream;
  circuit.streams[stream_id] = std::move(stream);
  started.Begin(target, config_.exit_policy,
                std::chrono::milliseconds(config_.limits.connect_timeout_ms));
}

void RelayNode::OnData(Circuit& circuit, uint16_t stream_id, std::span<const uint8_t> data) {
  if (stream_id == 0) {
    ProtocolViolation(circuit, "data_stream_id_zero");
    return;
  }
  if (!circuit.deliver.OnData()) {
    ProtocolViolation(circuit, "data_beyond_circuit_window");
    return;
  }
  if (circuit.deliver.SendmeDue()) {
    circuit.deliver.OnSendmeSent();
    Originate(circuit, RelayCommand::kSendme, 0, {});
  }
  const auto found = circuit.streams.find(stream_id);
  if (found == circuit.streams.end()) return;  // unknown stream: ignored, but counted above
  ExitStream& stream = *found->second;
  if (circuit.stream_sendmes && !stream.deliver.OnData()) {
    ProtocolViolation(circuit, "data_beyond_stream_window");
    return;
  }
  stream.Write(data);
  OnStreamWritten(stream);
}

void RelayNode::OnEnd(Circuit& circuit, uint16_t stream_id) {
  if (stream_id == 0) {
    ProtocolViolation(circuit, "end_stream_id_zero");
    return;
  }
  const auto found = circuit.streams.find(stream_id);
  if (found == circuit.streams.end()) return;
  ExitStream& stream = *found->second;
  if (!stream.end_sent) SendEnd(circuit, stream_id, EndReason::kDone);
  stream.CloseAfterWrites();  // what the client sent before END still reaches the server
  counters_.Count("streams_closed", "end_received");
  circuit.streams.erase(found);
}

void RelayNode::OnSendme(Circuit& circuit, uint16_t stream_id) {
  if (stream_id == 0) {
    if (!circuit.package.OnSendme()) {
      ProtocolViolation(circuit, "circuit_sendme_above_window");
      return;
    }
    ResumeStreams(circuit);
    return;
  }
  const auto found = circuit.streams.find(stream_id);
  if (found == circuit.streams.end()) return;
  if (!circuit.stream_sendmes || !found->second->package.OnSendme()) {
    ProtocolViolation(circuit, "stream_sendme_above_window");
    return;
  }
  found->second->Wake();
}

void RelayNode::ResumeStreams(Circuit& circuit) {
  for (auto& [id, stream] : circuit.streams) stream->Wake();
}

void RelayNode::OnStreamConnected(ExitStream& stream) {
  Circuit* circuit = FindByClient(stream.circuit());
  if (!circuit) return;
  counters_.Count("streams_opened", "exit");
  Originate(*circuit, RelayCommand::kConnected, stream.stream_id(), {});
  Pump();
}

void RelayNode::OnStreamFailed(ExitStream& stream, EndReason reason) {
  Circuit* circuit = FindByClient(stream.circuit());
  if (!circuit) return;
  counters_.Count("streams_refused", EndReasonName(reason));
  const uint16_t id = stream.stream_id();
  SendEnd(*circuit, id, reason);
  circuit->streams.erase(id);  // destroys `stream`: its coroutine returns at once
  Pump();
}

bool RelayNode::OnStreamData(ExitStream& stream, std::span<const uint8_t> data) {
  Circuit* circuit = FindByClient(stream.circuit());
  if (!circuit) return true;
  if (StreamCellsAllowed(stream) == 0) return false;
  if (!Originate(*circuit, RelayCommand::kData, stream.stream_id(), data)) return true;
  circuit->package.OnSent();
  if (circuit->stream_sendmes) stream.package.OnSent();
  SchedulePump();
  return true;
}

void RelayNode::OnStreamEof(ExitStream& stream) {
  Circuit* circuit = FindByClient(stream.circuit());
  if (!circuit) return;
  const uint16_t id = stream.stream_id();
  if (!stream.end_sent) SendEnd(*circuit, id, EndReason::kDone);
  counters_.Count("streams_closed", "exit_eof");
  circuit->streams.erase(id);
  Pump();
}

void RelayNode::OnStreamWritten(ExitStream& stream) {
  Circuit* circuit = FindByClient(stream.circuit());
  if (!circuit) return;
  // A stream SENDME goes out only once the data has left for the socket: a slow server stops
  // the client's sending instead of filling this relay's memory.
  bool sent = false;
  while (circuit->stream_sendmes && stream.deliver.SendmeDue() &&
         stream.queued_bytes() < kStreamSendmeQueueLimit) {
    stream.deliver.OnSendmeSent();
    Originate(*circuit, RelayCommand::kSendme, stream.stream_id(), {});
    sent = true;
  }
  if (sent) Pump();
}

size_t RelayNode::StreamCellsAllowed(const ExitStream& stream) const {
  const auto found = circuits_.find(stream.circuit().packed());
  if (found == circuits_.end() || shutting_down_) return 0;
  const Circuit& circuit = *found->second;
  size_t allowed = circuit.package.value();
  if (circuit.stream_sendmes) allowed = std::min<size_t>(allowed, stream.package.value());
  return allowed;
}

// ---- Idle circuits and shutdown ---------------------------------------------------------

void RelayNode::ArmIdleSweep() {
  idle_timer_.expires_after(std::chrono::seconds(1));
  idle_timer_.async_wait([this](std::error_code ec) {
    if (ec || shutting_down_) return;
    const auto deadline =
        Clock::now() - std::chrono::seconds(config_.limits.idle_circuit_timeout_s);
    std::vector<uint64_t> idle;
    for (const auto& [key, circuit] : circuits_)
      if (circuit->last_cell < deadline && circuit->streams.empty()) idle.push_back(key);
    for (uint64_t packed : idle) {
      Circuit* circuit = FindByClient({uint32_t(packed >> 32), uint32_t(packed)});
      if (!circuit) continue;
      counters_.Count("circuits_closed", "idle");
      CloseCircuit(*circuit, DestroyReason::kFinished, true, true);
    }
    if (!idle.empty()) Pump();
    ArmIdleSweep();
  });
}

void RelayNode::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  if (metrics_acceptor_) metrics_acceptor_->close(ec);
  idle_timer_.cancel();
  std::vector<uint64_t> keys;
  for (const auto& [key, circuit] : circuits_) keys.push_back(key);
  for (uint64_t packed : keys) {
    Circuit* circuit = FindByClient({uint32_t(packed >> 32), uint32_t(packed)});
    if (circuit) CloseCircuit(*circuit, DestroyReason::kFinished, true, true);
  }
  // Every DESTROY through the engine, then the workers stop and the circuits' keys are wiped.
  pumping_ = true;
  engine_.Stop([this](std::span<const OutItem> items) { OnEngineOutputs(items); });
  pumping_ = false;
  engine_stopped_ = true;
  pump_timer_.cancel();
  std::vector<std::shared_ptr<Link>> links;
  for (auto& [channel, link] : links_) links.push_back(link);
  for (auto& link : links) link->CloseAfterFlush();
}

}  // namespace relaycell::net
