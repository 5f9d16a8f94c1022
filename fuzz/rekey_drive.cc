// Drives RELAY_REKEY through a client and three aez relays in memory, every step chosen by the
// input: which end sends, which link delivers next, a rekey the host asks for, and faults (a
// byte flipped, a cell dropped or repeated on a link). The thresholds are small, so rekeys and
// their ACKs cross data cells in flight all the time.
//
// Invariants: nothing crashes. Until the first fault, every outcome is a forward, a delivery, or
// a REKEY or ACK taken in, every payload arrives intact and in order, and when the links are
// drained nothing is missing and nothing is closed. After a fault, anything that still arrives
// as delivered is exactly the next payload its hop expects: a flipped, dropped or repeated cell
// garbles its direction for good, and no cell is ever accepted that was not sent.
//
// Input: a config byte, then records  op u8 | arg u8.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <vector>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/rekey/rekey_config.h"
#include "engine/suite/suite_registry.h"

namespace {

using namespace relaycell;

constexpr int kHops = 3;
constexpr uint32_t kBaseId = 7000;
constexpr size_t kMaxInFlight = 16;  // keeps old-key cells well inside the relays' slack
constexpr size_t kDrainSteps = 4096;
constexpr uint64_t kFairSends = 64;  // far inside the relays' slack of 256

using Cell = std::array<uint8_t, kCellBytes>;

[[noreturn]] void Violated() { std::abort(); }

std::vector<uint8_t> Payload(size_t length, uint32_t salt) {
  std::vector<uint8_t> data(length);
  for (size_t i = 0; i < length; ++i) data[i] = uint8_t(salt * 131 + i * 7);
  return data;
}

class Network {
 public:
  bool Build(uint8_t config_byte) {
    RekeyConfig config;
    config.first = 8 + (config_byte & 15);  // min_spacing stays below any drawn threshold
    config.interval = 8 + ((config_byte >> 4) & 7);
    config.slack = 256;
    config.min_spacing = 4;
    config.randomize = (config_byte & 0x80) != 0;
    const CellSuite& suite = AezCellSuite();
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int hop = 1; hop <= kHops; ++hop) {
      std::vector<uint8_t> seed(suite.min_seed_bytes());
      for (size_t i = 0; i < seed.size(); ++i) seed[i] = uint8_t(hop * 37 + i * 11);
      seeds.push_back(std::move(seed));
    }
    for (const auto& s : seeds) views.emplace_back(s);
    if (ClientCircuit::Create(suite, kBaseId, views, config, client_) != SuiteError::kOk)
      return false;
    for (int i = 0; i < kHops; ++i) {
      const uint32_t next = i + 1 < kHops ? kBaseId + uint32_t(i) + 1 : 0;
      if (RelayCircuit::Create(suite, seeds[size_t(i)], kBaseId + uint32_t(i), next, config,
                               RekeyEnforcer::Mode::kEnforce,
                               relays_[size_t(i)]) != SuiteError::kOk)
        return false;
    }
    return true;
  }

  void Step(uint8_t op, uint8_t arg) {
    const int hop = arg % kHops + 1;
    switch (op % 8) {
      case 0:
      case 1: SendForward(hop); break;
      case 2: SendBackward(hop); break;
      case 3:
      case 4:
      case 5: Deliver(arg % (2 * kHops)); break;
      case 6: (void)client_.RequestRekey(hop); break;
      case 7: Fault(arg); break;
    }
  }

  void DrainAndCheck() {
    for (size_t steps = 0; steps < kDrainSteps; ++steps) {
      size_t link = 0;
      while (link < 2 * kHops && Link(link).empty()) ++link;
      if (link == 2 * kHops) break;
      Deliver(link);
    }
    if (faulted_) return;
    for (size_t link = 0; link < 2 * kHops; ++link) {
      if (!Link(link).empty()) Violated();  // the drain must end
    }
    for (int i = 0; i < kHops; ++i) {
      if (!expect_forward_[size_t(i)].empty() || !expect_backward_[size_t(i)].empty())
        Violated();  // a cell lost without a fault
      if (!relays_[size_t(i)].is_open()) Violated();
    }
    if (!client_.is_open() || client_.errors().Total() != 0) Violated();
  }

 private:
  // Links 0..2: forward_[i], towards relay i+1; links 3..5: backward_[i], from relay i+1.
  std::deque<Cell>& Link(size_t link) {
    return link < kHops ? forward_[link] : backward_[link - kHops];
  }
  size_t InFlight() {
    size_t n = 0;
    for (size_t link = 0; link < 2 * kHops; ++link) n += Link(link).size();
    return n;
  }

  void PollClient() {
    Cell cell{};
    while (client_.is_open() && client_.PollControlCell(cell)) forward_[0].push_back(cell);
  }

  void SendForward(int hop) {
    if (!client_.is_open() || InFlight() >= kMaxInFlight) return;
    // The input picks the links, so it could hold an ACK back for ever while the client goes on
    // sending: a legitimate overdue rekey, not a fault of the code. Every kFairSends sends, the
    // backward links are emptied first.
    if (++sends_since_backward_drain_ > kFairSends) {
      sends_since_backward_drain_ = 0;
      for (size_t link = 2 * kHops; link-- > kHops;) {
        while (!Link(link).empty()) Deliver(link);
      }
    }
    std::vector<uint8_t> data = Payload(sent_ % 499, uint32_t(sent_));
    ++sent_;
    Cell cell{};
    const OriginateError error = client_.Originate(
        hop, {RelayCommand::kData, uint16_t(hop), uint16_t(data.size())}, data, false, cell);
    if (error != OriginateError::kOk) {
      if (!faulted_) Violated();
      return;
    }
    forward_[0].push_back(cell);
    expect_forward_[size_t(hop - 1)].push_back(std::move(data));
    PollClient();
  }

  void SendBackward(int hop) {
    RelayCircuit& relay = relays_[size_t(hop - 1)];
    if (!relay.is_open() || InFlight() >= kMaxInFlight) return;
    std::vector<uint8_t> data = Payload(sent_ % 499, uint32_t(sent_) ^ 0x5555u);
    ++sent_;
    Cell cell{};
    if (relay.Originate({RelayCommand::kData, uint16_t(hop), uint16_t(data.size())}, data, cell) !=
        OriginateError::kOk) {
      if (!faulted_) Violated();
      return;
    }
    backward_[size_t(hop - 1)].push_back(cell);
    expect_backward_[size_t(hop - 1)].push_back(std::move(data));
  }

  void Fault(uint8_t arg) {
    std::deque<Cell>& link = Link((arg / 3) % (2 * kHops));
    if (link.empty()) return;
    faulted_ = true;
    switch (arg % 3) {
      case 0: link.front()[kCellHeaderBytes + (arg * 7u) % kCellBodyBytes] ^= 1; break;
      case 1: link.pop_front(); break;
      case 2: link.push_front(link.front()); break;
    }
  }

  // A delivered payload must be the next one its hop expects, fault or not.
  static void ExpectNext(std::deque<std::vector<uint8_t>>& want, const CellResult& r) {
    if (want.empty()) Violated();
    if (std::vector<uint8_t>(r.data.begin(), r.data.end()) != want.front()) Violated();
    want.pop_front();
  }

  void Deliver(size_t index) {
    std::deque<Cell>& link = Link(index);
    if (link.empty()) return;
    Cell cell = link.front();
    link.pop_front();
    if (index < kHops) {
      RelayCircuit& relay = relays_[index];
      const CellResult r = relay.HandleForward(cell);
      switch (r.outcome) {
        case CellOutcome::kForward:
          if (index + 1 >= kHops) Violated();  // the last hop has no next side
          forward_[index + 1].push_back(cell);
          return;
        case CellOutcome::kDelivered:
          if (r.header.stream_id != index + 1) Violated();
          ExpectNext(expect_forward_[index], r);
          return;
        case CellOutcome::kIgnored:  // a REKEY taken in: its ACK goes back before anything else
          if (!relay.PollControlCell(cell)) Violated();
          backward_[index].push_back(cell);
          return;
        default:
          if (!faulted_) Violated();
          return;
      }
    }
    const size_t i = index - kHops;
    if (i > 0) {
      const CellResult r = relays_[i - 1].HandleBackward(cell);
      if (r.outcome == CellOutcome::kForward) {
        backward_[i - 1].push_back(cell);
      } else if (!faulted_) {
        Violated();
      }
      return;
    }
    const CellResult r = client_.Receive(cell);
    if (r.outcome == CellOutcome::kDelivered) {
      ExpectNext(expect_backward_[size_t(r.hop - 1)], r);
    } else if (r.outcome != CellOutcome::kIgnored && !faulted_) {
      Violated();  // before a fault, only data and ACKs come back
    }
    PollClient();
  }

  ClientCircuit client_;
  std::array<RelayCircuit, kHops> relays_;
  std::array<std::deque<Cell>, kHops> forward_, backward_;
  std::array<std::deque<std::vector<uint8_t>>, kHops> expect_forward_, expect_backward_;
  uint64_t sent_ = 0;
  uint64_t sends_since_backward_drain_ = 0;
  bool faulted_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Network net;
  if (!net.Build(data[0])) std::abort();  // every config byte makes a valid config
  for (size_t at = 1; at + 2 <= size; at += 2) net.Step(data[at], data[at + 1]);
  net.DrainAndCheck();
  return 0;
}
