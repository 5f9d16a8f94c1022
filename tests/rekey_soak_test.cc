// Rekey soak: a client and three relays, each a ShardedPipeline on 2 workers (ClientPipeline
// and RelayPipeline shards), 1,000 aez circuits of 3 hops, one host thread moving every cell
// between them. Traffic runs both ways at once (the client originates to every hop, every hop
// originates back), with rekey thresholds of about ten cells, so each hop's REKEY(1) and its
// ACK meet data cells going both ways in the queues, in whatever order the workers and queues
// make. Every delivered payload is checked (each circuit, hop and direction is a FIFO stream of
// numbered payloads); at the end every circuit is still open, no DESTROY ever came out, and
// each client hop's rekeys equal its relay's switches.
//
//   short mode (ctest): kShortCells data cells (fewer under a sanitizer), >= 1,000 rekeys per
//                       hop (summed over the circuits)
//   long mode:          RELAYCELL_SOAK_SECONDS=1800 ./rekey_soak_test; prints progress every
//                       minute and the figures at the end (cells, rekeys per hop, payload
//                       errors, DESTROYs, RSS at start and end)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include "circuit/cell.h"
#include "circuit/pipeline/client_pipeline.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "circuit/relay_header.h"
#include "engine/rekey/rekey_config.h"
#include "engine/suite/suite_registry.h"
#include "tests/sanitizer.h"

namespace relaycell {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kHops = 3;
constexpr uint32_t kCircuits = 1000;
constexpr size_t kWorkers = 2;
#ifdef RELAYCELL_UNDER_SANITIZER
constexpr uint64_t kShortCells = 120000;
#else
constexpr uint64_t kShortCells = 600000;
#endif
// Per circuit and direction: data cells sent and not yet delivered. Bounds the backward cells
// a relay has counted and the client not yet (well inside `slack`).
constexpr uint32_t kWindow = 6;

// Channels as each end of a link names it: the client reaches hop 1 on kClientChannel; hop k
// knows its client side as kRelayClientChannel[k] and its next side as kRelayNextChannel[k].
constexpr uint32_t kClientChannel = 1;
constexpr uint32_t kRelayClientChannel[kHops] = {10, 20, 30};
constexpr uint32_t kRelayNextChannel[kHops] = {11, 21, 0};

RekeyConfig SoakRekeyConfig() {
  RekeyConfig config;
  config.first = 12;
  config.interval = 12;
  config.randomize = true;  // client thresholds 9..12: rekeys of a circuit's hops interleave
  config.slack = 256;
  config.min_spacing = 4;
  return config;
}

// The payload of stream (circuit, hop, backward) number `seq`: its length and bytes follow
// from those four, so the host keeps only the next number expected.
std::vector<uint8_t> PayloadData(uint32_t circuit, int hop, bool backward, uint64_t seq) {
  uint64_t x = (uint64_t(circuit) << 40) ^ (uint64_t(hop) << 36) ^ (uint64_t(backward) << 35) ^
               seq ^ 0x9e3779b97f4a7c15ull;
  auto next = [&x] {
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9ull, x ^= x >> 27, x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  };
  std::vector<uint8_t> data(1 + next() % kRelayDataBytes);
  for (auto& b : data) b = uint8_t(next());
  return data;
}

size_t RssKib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// Items waiting on the host for one pipeline, submitted in order as its queues take them.
struct Pending {
  std::vector<InCell> items;
  size_t head = 0;
  InCell& Push() { return items.emplace_back(); }
  size_t size() const { return items.size() - head; }
  void SubmitTo(ShardedPipeline& pipeline, uint64_t& submitted) {
    if (size() == 0) return;
    const size_t n = pipeline.Submit(std::span<const InCell>(items.data() + head, size()));
    head += n;
    submitted += n;
    if (head == items.size()) {
      items.clear();
      head = 0;
    } else if (head > 4096 && head * 2 > items.size()) {
      items.erase(items.begin(), items.begin() + std::ptrdiff_t(head));
      head = 0;
    }
  }
};

struct Figures {
  uint64_t data_cells = 0;  // originated, all delivered by the end
  uint64_t delivered = 0;
  uint64_t payload_errors = 0;
  uint64_t unexpected_outputs = 0;  // kDestroy, kClosed, kNextDestroyed, or a stray cell
  uint64_t rekeys[kHops] = {};      // client REKEY(1)s per hop, summed over circuits
  uint64_t min_rekeys[kHops] = {};  // the least any one circuit's hop had
  uint64_t relay_cells = 0;         // every cell the relays handled (data, REKEY, ACK)
  size_t rss_start_kib = 0;         // the circuits open, no traffic yet
  size_t rss_warm_kib = 0;  // a tenth into the run: the host's buffers at their working size
  size_t rss_end_kib = 0;
  double seconds = 0;
};

class Soak {
 public:
  explicit Soak(uint64_t seed) : rng_(seed) {
    ShardedPipelineConfig config;
    config.workers = kWorkers;
    const RekeyConfig rekey = SoakRekeyConfig();
    client_ = std::make_unique<ShardedPipeline>(config, [&](size_t) {
      ClientPipelineConfig c;
      c.max_circuits = kCircuits;
      c.rekey = rekey;
      return std::make_unique<ClientPipeline>(c);
    });
    for (auto& relay : relays_) {
      relay = std::make_unique<ShardedPipeline>(config, [&](size_t) {
        RelayPipelineConfig c;
        c.max_circuits = kCircuits;
        c.rekey = rekey;
        return std::make_unique<RelayPipeline>(c);
      });
    }
    for (int h = 0; h < kHops; ++h) {
      forward_[size_t(h)].assign(kCircuits, {});
      backward_[size_t(h)].assign(kCircuits, {});
    }
    in_flight_forward_.assign(kCircuits, 0);
    in_flight_backward_.assign(kCircuits, 0);
  }

  // Opens every circuit at the client and the three relays, then waits until they are in.
  void Open() {
    std::unordered_set<uint32_t> used[kHops];
    for (uint32_t c = 0; c < kCircuits; ++c) {
      std::array<std::vector<uint8_t>, kHops> seeds;
      std::array<std::span<const uint8_t>, kHops> views;
      uint32_t id = c + 1;  // hop 1's client-side id is the client's circ_id
      for (int h = 0; h < kHops; ++h) {
        seeds[size_t(h)].resize(AezCellSuite().min_seed_bytes());
        for (size_t i = 0; i < seeds[size_t(h)].size(); ++i)
          seeds[size_t(h)][i] = uint8_t(c * 131 + uint32_t(h) * 17 + i * 7 + 1);
        views[size_t(h)] = seeds[size_t(h)];
        client_side_id_[size_t(h)].push_back(id);
        id_to_circuit_[size_t(h)][id] = c;
        uint32_t next = 0;
        if (h + 1 < kHops) {
          ShardedPipeline& relay = *relays_[size_t(h)];
          const size_t shard = relay.ShardOf({kRelayClientChannel[h], id});
          next = relay.PickCircIdForShard(kRelayNextChannel[h], shard, id * 7919u + 1);
          while (!used[h].insert(next).second) {
            next = relay.PickCircIdForShard(kRelayNextChannel[h], shard, next + 1);
          }
        }
        RelayOpenParams open{.suite = kAezSuiteId,
                             .next_channel = kRelayNextChannel[h],
                             .next_circ_id = next,
                             .seed = seeds[size_t(h)]};
        InCell& item = to_relay_[size_t(h)].Push();
        ASSERT_TRUE(EncodeRelayOpen(kRelayClientChannel[h], id, open, item));
        id = next;
      }
      InCell& item = to_client_.Push();
      ASSERT_TRUE(EncodeClientOpen(
          kClientChannel, c + 1,
          {.suite = kAezSuiteId, .hop_seeds = std::span<const std::span<const uint8_t>>(views)},
          item));
    }
    while (to_client_.size() + to_relay_[0].size() + to_relay_[1].size() + to_relay_[2].size() >
           0) {
      Step(false);
    }
  }

  // Traffic until `cells` data cells were sent or `seconds` passed (whichever the caller set),
  // then drains until every cell is delivered and the pipelines are idle.
  void Run(uint64_t cells, double seconds) {
    const Clock::time_point start = Clock::now();
    Clock::time_point next_report = start + std::chrono::seconds(60);
    figures_.rss_start_kib = RssKib();
    for (;;) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      if (seconds > 0 ? elapsed >= seconds : figures_.data_cells >= cells) break;
      if (::testing::Test::HasFatalFailure()) return;
      Step(true);
      if (figures_.rss_warm_kib == 0 &&
          (seconds > 0 ? elapsed >= seconds / 10 : figures_.data_cells >= cells / 10)) {
        figures_.rss_warm_kib = RssKib();
      }
      if (seconds > 0 && Clock::now() >= next_report) {
        next_report += std::chrono::seconds(60);
        std::printf(
            "soak: %.0f s, %llu data cells, %llu payload errors, %llu unexpected, RSS %zu KiB\n",
            elapsed, (unsigned long long)figures_.data_cells,
            (unsigned long long)figures_.payload_errors,
            (unsigned long long)figures_.unexpected_outputs, RssKib());
        std::fflush(stdout);
      }
    }
    // Drain: no new data; REKEYs and ACKs still due come out as the last cells are handled.
    const Clock::time_point drain_deadline = Clock::now() + std::chrono::minutes(5);
    while (!Quiet()) {
      ASSERT_TRUE(Clock::now() < drain_deadline) << "cells never arrived: " << InFlight();
      Step(false);
    }
    figures_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    figures_.rss_end_kib = RssKib();
  }

  // Stops the pipelines (nothing is left to come out) and reads the circuits' rekey counts.
  void StopAndCollect() {
    uint64_t late = 0;
    auto stray = [&late](std::span<const OutItem> items) { late += items.size(); };
    client_->Stop(stray);
    for (auto& relay : relays_) relay->Stop(stray);
    EXPECT_EQ(late, 0u) << "outputs after the drain";

    std::vector<ClientPipeline*> clients;
    for (size_t s = 0; s < kWorkers; ++s) {
      auto& p = static_cast<ClientPipeline&>(client_->processor(s));
      clients.push_back(&p);
      EXPECT_EQ(p.counters().destroyed, 0u);
      EXPECT_EQ(p.counters().open_failed, 0u);
      EXPECT_EQ(p.counters().errors.Total(), 0u);
    }
    size_t client_open = 0;
    for (ClientPipeline* p : clients) client_open += p->open_circuits();
    EXPECT_EQ(client_open, kCircuits);
    for (int h = 0; h < kHops; ++h) {
      size_t open = 0;
      for (size_t s = 0; s < kWorkers; ++s) {
        auto& p = static_cast<RelayPipeline&>(relays_[size_t(h)]->processor(s));
        open += p.open_circuits();
        figures_.relay_cells += p.counters().forwarded + p.counters().delivered +
                                p.counters().originated + p.counters().control_cells +
                                p.counters().ignored;
        EXPECT_EQ(p.counters().destroyed, 0u) << "hop " << h + 1;
        EXPECT_EQ(p.counters().open_failed, 0u) << "hop " << h + 1;
        EXPECT_EQ(p.counters().unknown_circuit, 0u) << "hop " << h + 1;
        EXPECT_EQ(p.counters().errors.Total(), 0u) << "hop " << h + 1;
      }
      EXPECT_EQ(open, kCircuits) << "hop " << h + 1;
      figures_.min_rekeys[h] = UINT64_MAX;
    }
    for (uint32_t c = 0; c < kCircuits; ++c) {
      const CircuitKey key{kClientChannel, c + 1};
      ClientCircuit* circuit = clients[client_->ShardOf(key)]->Find(key);
      ASSERT_NE(circuit, nullptr) << "circuit " << c;
      ASSERT_TRUE(circuit->is_open()) << "circuit " << c;
      for (int h = 0; h < kHops; ++h) {
        const uint64_t sent = circuit->hop_rekey(h + 1).schedule().rekeys_sent();
        EXPECT_EQ(circuit->hop_rekey(h + 1).state(), ClientRekeyState::kIdle) << c << " " << h;
        const CircuitKey relay_key{kRelayClientChannel[h], client_side_id_[size_t(h)][c]};
        ShardedPipeline& relay = *relays_[size_t(h)];
        const RelayCircuit* rc =
            static_cast<RelayPipeline&>(relay.processor(relay.ShardOf(relay_key)))
                .FindByClientSide(relay_key);
        ASSERT_NE(rc, nullptr) << "circuit " << c << " hop " << h + 1;
        ASSERT_TRUE(rc->is_open()) << "circuit " << c << " hop " << h + 1;
        EXPECT_EQ(rc->rekey().enforcer().switches(), sent) << "circuit " << c << " hop " << h + 1;
        figures_.rekeys[h] += sent;
        figures_.min_rekeys[h] = std::min(figures_.min_rekeys[h], sent);
      }
    }
  }

  const Figures& figures() const { return figures_; }

 private:
  struct Stream {
    uint64_t sent = 0, delivered = 0;  // payload numbers
  };

  std::string InFlight() const {
    uint64_t f = 0, b = 0;
    for (uint32_t c = 0; c < kCircuits; ++c)
      f += in_flight_forward_[c], b += in_flight_backward_[c];
    return std::to_string(f) + " forward, " + std::to_string(b) + " backward";
  }

  // Nothing in flight and nothing anywhere: every pipeline has consumed its inputs (whose
  // outputs it pushed first) and the poll after that found nothing.
  bool Quiet() {
    for (uint32_t c = 0; c < kCircuits; ++c) {
      if (in_flight_forward_[c] != 0 || in_flight_backward_[c] != 0) return false;
    }
    if (to_client_.size() + to_relay_[0].size() + to_relay_[1].size() + to_relay_[2].size() != 0)
      return false;
    bool idle = client_->QueuedInputsApprox() == 0;
    for (auto& relay : relays_) idle &= relay->QueuedInputsApprox() == 0;
    if (!idle) return false;
    return PollAll() == 0 &&
           to_client_.size() + to_relay_[0].size() + to_relay_[1].size() + to_relay_[2].size() == 0;
  }

  // One round: new traffic (if `generate`), submissions, polls; parks briefly when idle.
  void Step(bool generate) {
    if (generate) Generate();
    const uint64_t before = submitted_;
    to_client_.SubmitTo(*client_, submitted_);
    for (int h = 0; h < kHops; ++h) to_relay_[size_t(h)].SubmitTo(*relays_[size_t(h)], submitted_);
    const size_t polled = PollAll();
    if (polled == 0 && submitted_ == before) {
      ShardedPipeline* all[] = {client_.get(), relays_[0].get(), relays_[1].get(),
                                relays_[2].get()};
      all[park_turn_++ % 4]->WaitForProgress(std::chrono::microseconds(200));
    }
  }

  // Up to a batch of new data cells, each on a random circuit with room in its window: to a
  // random hop from the client, or from a random hop to the client.
  void Generate() {
    if (to_client_.size() > 4096) return;
    for (int i = 0; i < 128; ++i) {
      const uint32_t c = uint32_t(rng_() % kCircuits);
      // Half the cells to or from hop 3, which every hop counts: each hop rekeys often.
      const unsigned roll = unsigned(rng_() % 4);
      const int hop = roll < 2 ? 3 : int(roll);
      const bool backward = rng_() & 1;
      uint32_t& in_flight = backward ? in_flight_backward_[c] : in_flight_forward_[c];
      if (in_flight >= kWindow) continue;
      Stream& stream = (backward ? backward_ : forward_)[size_t(hop - 1)][c];
      const std::vector<uint8_t> data = PayloadData(c, hop, backward, stream.sent++);
      const RelayHeader header{RelayCommand::kData, uint16_t(hop), uint16_t(data.size())};
      InCell& item = backward ? to_relay_[size_t(hop - 1)].Push() : to_client_.Push();
      item.kind = InKind::kOriginate;
      item.hop = uint8_t(hop);
      if (backward) {
        item.channel = kRelayClientChannel[hop - 1];
        WriteCellHeader(client_side_id_[size_t(hop - 1)][c], CellCommand::kRelay, item.cell.span());
      } else {
        item.channel = kClientChannel;
        WriteCellHeader(c + 1, CellCommand::kRelay, item.cell.span());
      }
      ASSERT_TRUE(
          BuildRelayPayload(AezCellSuite().relay_format(), header, data, item.cell.payload()));
      ++in_flight;
      ++figures_.data_cells;
    }
  }

  size_t PollAll() {
    size_t n = client_->Poll([this](std::span<const OutItem> items) {
      for (const OutItem& item : items) FromClient(item);
    });
    for (int h = 0; h < kHops; ++h) {
      n += relays_[size_t(h)]->Poll([this, h](std::span<const OutItem> items) {
        for (const OutItem& item : items) FromRelay(h, item);
      });
    }
    return n;
  }

  void Unexpected(const char* where, const OutItem& item) {
    if (++figures_.unexpected_outputs <= 10) {
      ADD_FAILURE() << where << ": output kind " << int(item.kind) << " on channel " << item.channel
                    << " circ_id " << item.cell.circ_id() << " command "
                    << int(item.cell.command());
    }
  }

  // Checks a delivered payload against the next one its stream expects.
  void Check(uint32_t c, int hop, bool backward, const OutItem& item) {
    const ParsedRelay relay = ParseRelayPayload(AezCellSuite().relay_format(), item.cell.payload());
    Stream& stream = (backward ? backward_ : forward_)[size_t(hop - 1)][c];
    uint32_t& in_flight = backward ? in_flight_backward_[c] : in_flight_forward_[c];
    const bool ok = relay.ok() && relay.header.command == RelayCommand::kData &&
                    relay.header.stream_id == hop && stream.delivered < stream.sent &&
                    std::ranges::equal(relay.data, PayloadData(c, hop, backward, stream.delivered));
    if (!ok && ++figures_.payload_errors <= 10) {
      ADD_FAILURE() << "payload error: circuit " << c << " hop " << hop
                    << (backward ? " backward" : " forward") << " number " << stream.delivered
                    << " (" << stream.sent << " sent)";
    }
    ++stream.delivered;
    if (in_flight > 0) --in_flight;
    ++figures_.delivered;
  }

  void FromClient(const OutItem& item) {
    if (item.kind == OutKind::kSend && item.channel == kClientChannel) {
      InCell& in = to_relay_[0].Push();
      in.channel = kRelayClientChannel[0];
      in.cell = item.cell;
      return;
    }
    if (item.kind == OutKind::kDeliver && item.channel == kClientChannel && item.hop >= 1 &&
        item.hop <= kHops && item.cell.circ_id() >= 1 && item.cell.circ_id() <= kCircuits) {
      Check(item.cell.circ_id() - 1, item.hop, true, item);
      return;
    }
    Unexpected("client", item);
  }

  void FromRelay(int h, const OutItem& item) {
    const uint32_t id = item.cell.circ_id();
    if (item.kind == OutKind::kSend && item.channel == kRelayClientChannel[h]) {
      // Towards the client: the previous relay's next side, or the client itself.
      InCell& in = h == 0 ? to_client_.Push() : to_relay_[size_t(h - 1)].Push();
      in.channel = h == 0 ? kClientChannel : kRelayNextChannel[h - 1];
      in.cell = item.cell;
      return;
    }
    if (item.kind == OutKind::kSend && h + 1 < kHops && item.channel == kRelayNextChannel[h]) {
      InCell& in = to_relay_[size_t(h + 1)].Push();
      in.channel = kRelayClientChannel[h + 1];
      in.cell = item.cell;
      return;
    }
    if (item.kind == OutKind::kDeliver && item.channel == kRelayClientChannel[h]) {
      const auto found = id_to_circuit_[size_t(h)].find(id);
      if (found != id_to_circuit_[size_t(h)].end()) {
        Check(found->second, h + 1, false, item);
        return;
      }
    }
    Unexpected(h == 0 ? "hop 1" : h == 1 ? "hop 2" : "hop 3", item);
  }

  std::mt19937_64 rng_;
  std::unique_ptr<ShardedPipeline> client_;
  std::array<std::unique_ptr<ShardedPipeline>, kHops> relays_;
  Pending to_client_;
  std::array<Pending, kHops> to_relay_;
  std::array<std::vector<uint32_t>, kHops> client_side_id_;  // per hop, by circuit
  std::array<std::unordered_map<uint32_t, uint32_t>, kHops> id_to_circuit_;
  std::array<std::vector<Stream>, kHops> forward_, backward_;  // per hop, by circuit
  std::vector<uint32_t> in_flight_forward_, in_flight_backward_;
  uint64_t submitted_ = 0;
  size_t park_turn_ = 0;
  Figures figures_;
};

TEST(RekeySoak, ThousandCircuitsBothWaysRekeyingThroughShardedPipelines) {
  double seconds = 0;
  if (const char* env = std::getenv("RELAYCELL_SOAK_SECONDS")) seconds = std::strtod(env, nullptr);
  Soak soak(0x50a4);
  soak.Open();
  ASSERT_FALSE(HasFatalFailure());
  soak.Run(kShortCells, seconds);
  ASSERT_FALSE(HasFatalFailure());
  soak.StopAndCollect();
  const Figures& f = soak.figures();
  std::printf(
      "soak figures: %.1f s, %u circuits x %d hops, %llu data cells (%llu delivered), %llu "
      "cells through the relays; rekeys per hop %llu / %llu / %llu (least per circuit %llu / "
      "%llu / %llu); payload errors %llu; unexpected DESTROYs and other outputs %llu; RSS %zu "
      "KiB at start, %zu KiB a tenth in, %zu KiB at end\n",
      f.seconds, kCircuits, kHops, (unsigned long long)f.data_cells,
      (unsigned long long)f.delivered, (unsigned long long)f.relay_cells,
      (unsigned long long)f.rekeys[0], (unsigned long long)f.rekeys[1],
      (unsigned long long)f.rekeys[2], (unsigned long long)f.min_rekeys[0],
      (unsigned long long)f.min_rekeys[1], (unsigned long long)f.min_rekeys[2],
      (unsigned long long)f.payload_errors, (unsigned long long)f.unexpected_outputs,
      f.rss_start_kib, f.rss_warm_kib, f.rss_end_kib);
  EXPECT_EQ(f.payload_errors, 0u);
  EXPECT_EQ(f.unexpected_outputs, 0u);
  EXPECT_EQ(f.delivered, f.data_cells);
  const uint64_t min_rekeys = seconds > 0 ? 10000 : 1000;
  for (int h = 0; h < kHops; ++h) EXPECT_GE(f.rekeys[h], min_rekeys) << "hop " << h + 1;
  for (int h = 0; h < kHops; ++h) EXPECT_GT(f.min_rekeys[h], 0u) << "hop " << h + 1;
}

}  // namespace
}  // namespace relaycell
