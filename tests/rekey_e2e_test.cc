// End to end: a client and three relays in memory, cells queued on every link and delivered
// in a random order that keeps each link FIFO, so data cells cross REKEY and ACK cells in
// flight. Every delivered payload is checked against what was sent, in order: nothing lost,
// duplicated or corrupted, across more than a thousand rekeys per hop.
//
// RELAYCELL_REKEY_E2E_CELLS=N overrides the cell count of the large test. Under ASan the large
// test is skipped unless that variable is set (the small one covers the same paths).
#include <array>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/rekey/rekey_config.h"
#include "tests/circuit_test_util.h"
#include "engine/suite/suite_registry.h"

#if defined(__SANITIZE_ADDRESS__)
#define RELAYCELL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RELAYCELL_UNDER_ASAN 1
#endif
#endif

namespace relaycell {
namespace {

using testing::Cell;
using testing::SeedFor;
using testing::TestData;

constexpr int kHops = 3;
constexpr uint32_t kBaseId = 4000;
constexpr size_t kMaxInFlight = 16;  // keeps old-key backward cells well inside `slack`

struct Stats {
  uint64_t delivered_forward = 0, delivered_backward = 0;
};

class Network {
 public:
  Network(const RekeyConfig& config, uint64_t seed) : rng_(seed) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int i = 0; i < kHops; ++i) seeds.push_back(SeedFor(AezCellSuite(), i + 1));
    for (auto& s : seeds) views.emplace_back(s);
    EXPECT_EQ(ClientCircuit::Create(AezCellSuite(), kBaseId, views, config, client_),
              SuiteError::kOk);
    for (int i = 0; i < kHops; ++i) {
      EXPECT_EQ(RelayCircuit::Create(AezCellSuite(), seeds[size_t(i)], kBaseId + uint32_t(i),
                                     i + 1 < kHops ? kBaseId + uint32_t(i) + 1 : 0, config,
                                     RekeyEnforcer::Mode::kEnforce, relays_[size_t(i)]),
                SuiteError::kOk);
    }
  }

  // Runs until `cells` data cells were originated, then drains every link.
  void Run(uint64_t cells) {
    uint64_t sent = 0;
    while (sent < cells && !::testing::Test::HasFatalFailure()) {
      const unsigned roll = rng_() % 100;
      if (roll < 60 && InFlight() < kMaxInFlight) {
        const int hop = int(rng_() % kHops) + 1;
        if (roll < 30)
          SendForward(hop, sent);
        else
          SendBackward(hop, sent);
        ++sent;
      } else {
        DeliverOne();
      }
    }
    while (InFlight() > 0 && !::testing::Test::HasFatalFailure()) DeliverOne();
  }

  void ExpectSettled(uint64_t min_rekeys_per_hop) {
    for (int hop = 1; hop <= kHops; ++hop) {
      EXPECT_TRUE(expect_forward_[size_t(hop - 1)].empty()) << "forward cells lost at hop " << hop;
      EXPECT_TRUE(expect_backward_[size_t(hop - 1)].empty())
          << "backward cells lost from hop " << hop;
      const uint64_t client_rekeys = client_.hop_rekey(hop).schedule().rekeys_sent();
      EXPECT_GE(client_rekeys, min_rekeys_per_hop) << "hop " << hop;
      EXPECT_EQ(relays_[size_t(hop - 1)].rekey().enforcer().switches(), client_rekeys) << hop;
      EXPECT_EQ(client_.hop_rekey(hop).state(), ClientRekeyState::kIdle) << hop;
      EXPECT_TRUE(relays_[size_t(hop - 1)].is_open());
    }
    EXPECT_TRUE(client_.is_open());
    EXPECT_EQ(client_.errors().Total(), 0u);
  }
  const Stats& stats() const { return stats_; }

 private:
  size_t InFlight() const {
    size_t n = 0;
    for (const auto& q : forward_) n += q.size();
    for (const auto& q : backward_) n += q.size();
    return n;
  }

  void PollClient() {
    Cell cell{};
    while (client_.PollControlCell(cell)) forward_[0].push_back(cell);
  }

  void SendForward(int hop, uint64_t salt) {
    std::vector<uint8_t> data = TestData(rng_() % 499, uint32_t(salt));
    Cell cell{};
    ASSERT_EQ(client_.Originate(hop, {RelayCommand::kData, uint16_t(hop), uint16_t(data.size())},
                                data, false, cell),
              OriginateError::kOk);
    forward_[0].push_back(cell);
    expect_forward_[size_t(hop - 1)].push_back(std::move(data));
    PollClient();
  }

  void SendBackward(int hop, uint64_t salt) {
    std::vector<uint8_t> data = TestData(rng_() % 499, uint32_t(salt) ^ 0x5555u);
    Cell cell{};
    ASSERT_EQ(relays_[size_t(hop - 1)].Originate(
                  {RelayCommand::kData, uint16_t(hop), uint16_t(data.size())}, data, cell),
              OriginateError::kOk);
    backward_[size_t(hop - 1)].push_back(cell);
    expect_backward_[size_t(hop - 1)].push_back(std::move(data));
  }

  // Delivers the head of a random non-empty link (forward_[i]: towards relay i+1;
  // backward_[i]: from relay i+1 towards relay i, or the client for i = 0).
  void DeliverOne() {
    std::array<std::deque<Cell>*, 2 * kHops> links;
    size_t n = 0;
    for (auto& q : forward_)
      if (!q.empty()) links[n++] = &q;
    for (auto& q : backward_)
      if (!q.empty()) links[n++] = &q;
    if (n == 0) return;
    std::deque<Cell>& link = *links[rng_() % n];
    Cell cell = link.front();
    link.pop_front();
    const bool is_forward = &link >= &forward_[0] && &link <= &forward_[kHops - 1];
    if (is_forward) {
      const size_t i = size_t(&link - &forward_[0]);
      RelayCircuit& relay = relays_[i];
      const CellResult r = relay.HandleForward(cell);
      if (r.outcome == CellOutcome::kForward) {
        forward_[i + 1].push_back(cell);
      } else if (r.outcome == CellOutcome::kDelivered) {
        auto& want = expect_forward_[i];
        ASSERT_FALSE(want.empty()) << "duplicated forward cell at hop " << i + 1;
        ASSERT_EQ(r.header.stream_id, i + 1);
        ASSERT_EQ(std::vector<uint8_t>(r.data.begin(), r.data.end()), want.front())
            << "corrupted forward cell at hop " << i + 1;
        want.pop_front();
        ++stats_.delivered_forward;
      } else {
        ASSERT_EQ(r.outcome, CellOutcome::kIgnored)
            << ProtocolErrorName(r.error) << " at hop " << i + 1;
        // A REKEY: the ACK must leave before anything else of ours goes backward.
        ASSERT_TRUE(relay.PollControlCell(cell));
        backward_[i].push_back(cell);
      }
      return;
    }
    const size_t i = size_t(&link - &backward_[0]);
    if (i > 0) {
      const CellResult r = relays_[i - 1].HandleBackward(cell);
      ASSERT_EQ(r.outcome, CellOutcome::kForward) << ProtocolErrorName(r.error);
      backward_[i - 1].push_back(cell);
      return;
    }
    const CellResult r = client_.Receive(cell);
    if (r.outcome == CellOutcome::kDelivered) {
      auto& want = expect_backward_[size_t(r.hop - 1)];
      ASSERT_FALSE(want.empty()) << "duplicated backward cell from hop " << r.hop;
      ASSERT_EQ(r.header.stream_id, r.hop);
      ASSERT_EQ(std::vector<uint8_t>(r.data.begin(), r.data.end()), want.front())
          << "corrupted backward cell from hop " << r.hop;
      want.pop_front();
      ++stats_.delivered_backward;
    } else {
      ASSERT_EQ(r.outcome, CellOutcome::kIgnored) << ProtocolErrorName(r.error);  // an ACK
    }
    PollClient();
  }

  std::mt19937_64 rng_;
  ClientCircuit client_;
  std::array<RelayCircuit, kHops> relays_;
  std::array<std::deque<Cell>, kHops> forward_, backward_;
  std::array<std::deque<std::vector<uint8_t>>, kHops> expect_forward_, expect_backward_;
  Stats stats_;
};

// Frequent rekeys: each hop switches every ~12 cells it carries.
RekeyConfig FrequentRekeys() {
  RekeyConfig config;
  config.first = 12;
  config.interval = 12;
  config.slack = 256;
  config.min_spacing = 4;
  return config;
}

TEST(RekeyEndToEnd, ThreeHopsRandomInterleavingsManyRekeys) {
  uint64_t cells = 150000;
  if (const char* env = std::getenv("RELAYCELL_REKEY_E2E_CELLS")) {
    cells = std::strtoull(env, nullptr, 10);
  } else {
#ifdef RELAYCELL_UNDER_ASAN
    GTEST_SKIP() << "large run skipped under ASan; RekeyEndToEnd.Small covers the same paths";
#endif
  }
  Network net(FrequentRekeys(), 0x5eed0001);
  net.Run(cells);
  ASSERT_FALSE(HasFatalFailure());
  net.ExpectSettled(cells >= 100000 ? 1000 : cells / 100);
  EXPECT_EQ(net.stats().delivered_forward + net.stats().delivered_backward, cells);
}

TEST(RekeyEndToEnd, Small) {
  RekeyConfig config = FrequentRekeys();
  config.randomize = true;  // thresholds drawn per key: exercises uneven spacing
  Network net(config, 0x5eed0002);
  net.Run(15000);
  ASSERT_FALSE(HasFatalFailure());
  net.ExpectSettled(100);
  EXPECT_EQ(net.stats().delivered_forward + net.stats().delivered_backward, 15000u);
}

}  // namespace
}  // namespace relaycell
