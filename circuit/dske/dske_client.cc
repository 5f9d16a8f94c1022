#include "circuit/dske/dske_client.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "engine/dske/amd_check.h"
#include "engine/dske/psrd_link.h"
#include "engine/dske/sss.h"
#include "engine/suite/suite_registry.h"

namespace relaycell::dske {
namespace {

using CellArray = std::array<uint8_t, kCellBytes>;

// DSKE rides aez circuits (protocol §8): its messages use the aez payload's 498 data bytes.
const CellSuite& DskeCircuitSuite() { return *FindSuite("aez"); }

// Share buffers for every hub, wiped on every path out.
class ShareTable {
 public:
  ShareTable(size_t count, size_t bytes) : bytes_(bytes), data_(count * bytes) {}
  ~ShareTable() { sodium_memzero(data_.data(), data_.size()); }
  ShareTable(const ShareTable&) = delete;
  ShareTable& operator=(const ShareTable&) = delete;
  uint8_t* row(size_t i) { return data_.data() + i * bytes_; }
  std::span<uint8_t> span(size_t i) { return {row(i), bytes_}; }

 private:
  size_t bytes_;
  std::vector<uint8_t> data_;
};

}  // namespace

const char* ChannelErrorName(ChannelError error) {
  switch (error) {
    case ChannelError::kOk: return "ok";
    case ChannelError::kUnreachable: return "hub unreachable";
    case ChannelError::kCircuit: return "circuit refused or closed";
    case ChannelError::kBadReply: return "hub reply is not one DSKE message";
  }
  return "unknown error";
}

const char* ClientErrorName(ClientError error) {
  switch (error) {
    case ClientError::kOk: return "ok";
    case ClientError::kBadArguments: return "bad arguments";
    case ClientError::kBadName: return "bad client or hub name";
    case ClientError::kExhausted: return "PSRD exhausted toward a hub (nothing sent)";
    case ClientError::kPsrd: return "PSRD store failed";
    case ClientError::kSplit: return "key split failed";
    case ClientError::kTooFewHubs: return "fewer than k hubs stored a share";
    case ClientError::kTooFewShares: return "fewer than k valid shares";
    case ClientError::kNoConsistentSubset: return "no k shares rebuild a key that checks";
  }
  return "unknown error";
}

// --- CircuitHubChannel --------------------------------------------------------------------

SuiteError CircuitHubChannel::Create(std::string_view client, DskeHub& hub, uint32_t circ_id,
                                     std::span<const std::span<const uint8_t>> seeds,
                                     std::unique_ptr<CircuitHubChannel>& out) {
  out.reset();
  if (seeds.empty() || seeds.size() > size_t(kMaxHops) || circ_id == 0 ||
      circ_id > UINT32_MAX - kMaxHops) {
    return SuiteError::kBadSeedLength;
  }
  std::unique_ptr<CircuitHubChannel> channel(new CircuitHubChannel(std::string(client), hub));
  if (SuiteError e =
          ClientCircuit::Create(DskeCircuitSuite(), circ_id, seeds, channel->client_circuit_);
      e != SuiteError::kOk) {
    return e;
  }
  channel->relays_.resize(seeds.size());
  for (size_t h = 0; h < seeds.size(); ++h) {
    const uint32_t towards_client = circ_id + uint32_t(h);
    const uint32_t towards_next = h + 1 < seeds.size() ? towards_client + 1 : 0;
    if (SuiteError e = RelayCircuit::Create(DskeCircuitSuite(), seeds[h], towards_client,
                                            towards_next, channel->relays_[h]);
        e != SuiteError::kOk) {
      return e;
    }
  }
  out = std::move(channel);
  return SuiteError::kOk;
}

ChannelError CircuitHubChannel::RoundTrip(std::span<const uint8_t> message,
                                          std::span<uint8_t> reply, size_t& reply_bytes) {
  reply_bytes = 0;
  if (!reachable_) return ChannelError::kUnreachable;
  if (message.empty() || message.size() > kMaxMessageBytes) return ChannelError::kCircuit;
  CellArray cell;
  const RelayHeader header{RelayCommand::kDske, 0, uint16_t(message.size())};
  if (client_circuit_.Originate(hops(), header, message, false, cell) != OriginateError::kOk) {
    return ChannelError::kCircuit;
  }
  // A control cell polled now goes after the one just originated, so the message goes first.
  if (ChannelError e = Forward(hops(), cell, reply, reply_bytes); e != ChannelError::kOk) return e;
  return PumpClientControl();
}

ChannelError CircuitHubChannel::Forward(int hop, CellBytes cell, std::span<uint8_t> reply,
                                        size_t& reply_bytes) {
  for (int h = 1; h <= hop; ++h) {
    RelayCircuit& relay = relays_[size_t(h - 1)];
    const CellResult r = relay.HandleForward(cell);
    if (h < hop) {
      if (r.outcome != CellOutcome::kForward) return ChannelError::kCircuit;
      continue;
    }
    if (r.outcome == CellOutcome::kIgnored) {  // a REKEY for this hop: its ACK goes back first
      CellArray ack;
      return relay.PollControlCell(ack) ? Backward(h, ack, reply, reply_bytes) : ChannelError::kOk;
    }
    if (h != hops()) return ChannelError::kCircuit;  // only the hub is ever addressed
    switch (hub_.HandleCell(client_, r, relay, cell)) {
      case HubCellStatus::kNoReply: return ChannelError::kOk;
      case HubCellStatus::kReply: return Backward(h, cell, reply, reply_bytes);
      default: return ChannelError::kCircuit;
    }
  }
  return ChannelError::kCircuit;
}

ChannelError CircuitHubChannel::Backward(int from, CellBytes cell, std::span<uint8_t> reply,
                                         size_t& reply_bytes) {
  for (int h = from - 1; h >= 1; --h) {
    if (relays_[size_t(h - 1)].HandleBackward(cell).outcome != CellOutcome::kForward) {
      return ChannelError::kCircuit;
    }
  }
  const CellResult r = client_circuit_.Receive(cell);
  if (r.outcome == CellOutcome::kIgnored) return ChannelError::kOk;  // a REKEY ACK
  if (r.outcome != CellOutcome::kDelivered) return ChannelError::kCircuit;
  if (r.hop != hops() || r.header.command != RelayCommand::kDske || r.header.stream_id != 0 ||
      r.data.empty() || r.data.size() > reply.size()) {
    return ChannelError::kBadReply;
  }
  std::memcpy(reply.data(), r.data.data(), r.data.size());
  reply_bytes = r.data.size();
  return ChannelError::kOk;
}

ChannelError CircuitHubChannel::PumpClientControl() {
  CellArray cell;
  int hop = 0;
  while (client_circuit_.PollControlCell(cell, &hop)) {
    std::array<uint8_t, kMaxMessageBytes> unused;
    size_t unused_bytes = 0;
    if (ChannelError e = Forward(hop, cell, unused, unused_bytes); e != ChannelError::kOk) return e;
  }
  return ChannelError::kOk;
}

// --- A: Share --------------------------------------------------------------------------------

ShareReport DskeClient::Share(std::span<const uint8_t> key, std::span<HubChannel* const> hubs,
                              unsigned k, KeyId& key_id) {
  ShareReport report;
  const size_t n = hubs.size();
  report.hubs.resize(n);
  if (key.size() < amd::kMinKeyBytes || key.size() > amd::kMaxKeyBytes || n < 2 ||
      n > sss::kMaxShares || k < 2 || k > n ||
      std::any_of(hubs.begin(), hubs.end(), [](HubChannel* h) { return h == nullptr; })) {
    report.error = ClientError::kBadArguments;
    return report;
  }
  std::vector<std::string> pools(n);
  for (size_t i = 0; i < n; ++i) {
    pools[i] = psrd::PoolName(name_, hubs[i]->hub_name());
    if (pools[i].empty()) {
      report.error = ClientError::kBadName;
      return report;
    }
  }
  {
    std::vector<std::string> sorted = pools;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      report.error = ClientError::kBadArguments;  // one hub twice would hold two shares
      return report;
    }
  }
  const size_t share_bytes = amd::EncodedBytes(key.size());
  // Room on every link first: an exhausted pool must not leave shares stranded on the others.
  for (size_t i = 0; i < n; ++i) {
    psrd::PoolStatus status;
    report.hubs[i].psrd = store_.Status(pools[i], status);
    if (report.hubs[i].psrd != psrd::PsrdError::kOk) {
      report.error = ClientError::kPsrd;
      return report;
    }
    if (status.remaining() < psrd::LinkPadBytes(share_bytes)) {
      report.hubs[i].psrd = psrd::PsrdError::kExhausted;
      report.error = ClientError::kExhausted;
    }
  }
  if (report.error != ClientError::kOk) return report;

  randombytes_buf(key_id.data(), key_id.size());
  ShareTable shares(n, share_bytes);
  std::vector<uint8_t*> rows(n);
  for (size_t i = 0; i < n; ++i) rows[i] = shares.row(i);
  if (amd::SplitKey(key, k, rows) != amd::AmdError::kOk) {
    report.error = ClientError::kSplit;
    return report;
  }
  for (size_t i = 0; i < n; ++i) {
    HubStatus& hub = report.hubs[i];
    std::array<uint8_t, kMaxMessageBytes> message, reply;
    size_t written = 0, reply_bytes = 0;
    const SealStatus sealed =
        SealShareObserved(store_, pools[i], MessageType::kPut, key_id, uint8_t(i + 1), uint8_t(k),
                          uint8_t(n), shares.span(i), message, written, observer_);
    // The share is in the message now (padded): wipe our copy at once.
    sodium_memzero(shares.row(i), share_bytes);
    hub.seal = sealed.error;
    hub.psrd = sealed.psrd_error;
    if (!sealed.ok()) continue;
    hub.channel = hubs[i]->RoundTrip(std::span(message).first(written), reply, reply_bytes);
    if (hub.channel != ChannelError::kOk) continue;
    if (reply_bytes == 0) {
      hub.ok = true;
      ++report.stored;
      continue;
    }
    Message answer;
    if (Parse(std::span(reply).first(reply_bytes), answer) == ParseError::kOk &&
        answer.type == MessageType::kError) {
      hub.refused = true;
      hub.code = answer.error;
    } else {
      hub.channel = ChannelError::kBadReply;
    }
  }
  report.error = report.stored >= k ? ClientError::kOk : ClientError::kTooFewHubs;
  return report;
}

// --- B: Receive ------------------------------------------------------------------------------

ReceiveReport DskeClient::Receive(const KeyId& key_id, std::span<HubChannel* const> hubs,
                                  std::span<uint8_t> key) {
  ReceiveReport report;
  const size_t n = hubs.size();
  report.hubs.resize(n);
  if (!key.empty()) sodium_memzero(key.data(), key.size());
  if (key.size() < amd::kMaxKeyBytes || n == 0 || n > sss::kMaxShares ||
      std::any_of(hubs.begin(), hubs.end(), [](HubChannel* h) { return h == nullptr; })) {
    report.error = ClientError::kBadArguments;
    return report;
  }
  Message fetch;
  fetch.type = MessageType::kFetch;
  fetch.key_id = key_id;
  std::array<uint8_t, kMaxMessageBytes> fetch_bytes;
  size_t fetch_size = 0;
  if (Serialize(fetch, fetch_bytes, fetch_size) != ParseError::kOk) {
    report.error = ClientError::kBadArguments;
    return report;
  }

  struct Received {
    uint8_t x, k, n;
    size_t bytes;
  };
  ShareTable shares(n, MaxCiphertextBytes(1));
  std::vector<Received> received(n, Received{0, 0, 0, 0});
  for (size_t i = 0; i < n; ++i) {
    HubStatus& hub = report.hubs[i];
    const std::string pool = psrd::PoolName(hubs[i]->hub_name(), name_);
    if (pool.empty()) {
      hub.channel = ChannelError::kBadReply;
      continue;
    }
    std::array<uint8_t, kMaxMessageBytes> reply;
    size_t reply_bytes = 0;
    hub.channel = hubs[i]->RoundTrip(std::span(fetch_bytes).first(fetch_size), reply, reply_bytes);
    if (hub.channel != ChannelError::kOk) continue;
    Message answer;
    const std::span<const uint8_t> answer_bytes = std::span(reply).first(reply_bytes);
    if (reply_bytes == 0 || Parse(answer_bytes, answer) != ParseError::kOk ||
        answer.key_id != key_id) {
      hub.channel = ChannelError::kBadReply;
      continue;
    }
    if (answer.type == MessageType::kError) {
      hub.refused = true;
      hub.code = answer.error;
      continue;
    }
    if (answer.type != MessageType::kDeliver) {
      hub.channel = ChannelError::kBadReply;
      continue;
    }
    size_t share_bytes = 0;
    const SealStatus opened =
        OpenShare(store_, pool, answer_bytes, answer, shares.span(i), share_bytes);
    hub.seal = opened.error;
    hub.psrd = opened.psrd_error;
    if (!opened.ok()) continue;
    hub.ok = true;
    received[i] = {answer.x, answer.k, answer.n, share_bytes};
  }

  // The (k, n, length) most hubs agree on: a hub that lies about them is outvoted.
  std::map<std::tuple<uint8_t, uint8_t, size_t>, unsigned> votes;
  for (const Received& r : received) {
    if (r.bytes != 0) ++votes[{r.k, r.n, r.bytes}];
  }
  if (votes.empty()) {
    report.error = ClientError::kTooFewShares;
    return report;
  }
  const auto best = std::max_element(
      votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  const auto [k, share_n, share_bytes] = best->first;
  std::vector<amd::ShareView> views;
  std::array<bool, 256> seen_x{};
  for (size_t i = 0; i < n; ++i) {
    const Received& r = received[i];
    if (r.bytes == 0 || r.k != k || r.n != share_n || r.bytes != share_bytes || seen_x[r.x])
      continue;
    seen_x[r.x] = true;
    views.push_back({r.x, std::span<const uint8_t>(shares.row(i), r.bytes)});
  }
  report.valid_shares = unsigned(views.size());
  if (share_bytes < amd::EncodedBytes(amd::kMinKeyBytes) ||
      share_bytes > amd::EncodedBytes(amd::kMaxKeyBytes) || k < 2 || views.size() < k) {
    report.error = ClientError::kTooFewShares;
    return report;
  }
  const size_t key_bytes = share_bytes - amd::kCheckBytes;
  if (amd::CombineKey(views, k, key.first(key_bytes)) != amd::AmdError::kOk) {
    sodium_memzero(key.data(), key.size());
    report.error = ClientError::kNoConsistentSubset;
    return report;
  }
  report.key_bytes = key_bytes;
  return report;
}

}  // namespace relaycell::dske
