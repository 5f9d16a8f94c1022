// The relay and client engines end to end: a 3-hop path whose hops all live in one sharded
// relay engine, fed by a client engine; back-pressure with tiny queues and a host that stops
// polling; shutdown that loses nothing. Runs under ThreadSanitizer in CI (suite names "Engine").
#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

#include "circuit/pipeline/client_pipeline.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/relay_header.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "circuit_test_util.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using testing::AllSuiteIds;
using testing::SeedFor;
using testing::SuiteParamName;
using testing::TestData;

constexpr int kHops = 3;
// Hop h (0-based) of circuit i: client side (channel h, id), next side (channel 100 + h, id').
// A link has a channel id at each end: what hop h sends on 100 + h arrives at hop h + 1 on h + 1.
constexpr uint32_t kClientChannel = 0;
constexpr uint32_t kOutBase = 100;
uint32_t ArrivesOn(uint32_t sent_on) {
  return sent_on >= kOutBase ? sent_on - kOutBase + 1 : sent_on;
}

struct Collector {
  std::vector<OutItem> items;
  void operator()(std::span<const OutItem> run) {
    items.insert(items.end(), run.begin(), run.end());
  }
};

void SubmitAll(ShardedPipeline& engine, std::span<const InCell> items, Collector& sink) {
  while (!items.empty()) {
    const size_t accepted = engine.Submit(items);
    items = items.subspan(accepted);
    if (engine.Poll(sink) == 0 && accepted == 0) std::this_thread::yield();
  }
}

// Polls until `sink` holds `count` items; false after 30 s (a lost output, not a hang).
bool WaitFor(ShardedPipeline& engine, Collector& sink, size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sink.items.size() < count) {
    if (engine.Poll(sink) == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
  }
  return true;
}

class PipelineRelay : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
};

// Every hop of `circuits` 3-hop circuits opened in one relay engine; ids on each channel are
// chosen so that a hop's two sides land on one worker.
std::vector<InCell> OpenPaths(const CellSuite& suite, ShardedPipeline& relay, size_t circuits,
                              std::vector<std::array<uint32_t, kHops + 1>>& ids) {
  std::vector<InCell> opens;
  ids.resize(circuits);
  for (size_t i = 0; i < circuits; ++i) {
    ids[i][0] = 1 + uint32_t(i) * 64;
    for (int h = 0; h < kHops; ++h) {
      const uint32_t id = ids[i][size_t(h)];
      const size_t shard = relay.ShardOf({uint32_t(h), id});
      ids[i][size_t(h) + 1] = h + 1 < kHops ? relay.PickCircIdForShard(kOutBase + uint32_t(h),
                                                                       shard, 1 + uint32_t(i) * 64)
                                            : 0;
      const auto seed = SeedFor(suite, int(i) * 8 + h + 1);
      InCell open;
      EXPECT_TRUE(EncodeRelayOpen(uint32_t(h), id,
                                  {suite.id(), kOutBase + uint32_t(h), ids[i][size_t(h) + 1], seed},
                                  open));
      opens.push_back(open);
    }
  }
  return opens;
}

TEST_P(PipelineRelay, ThreeHopsThroughShardedPipelinesAndBack) {
  constexpr size_t kCircuits = 24;
  ShardedPipelineConfig config;
  config.workers = 2;
  config.shard.queue_capacity = 16;  // back-pressure all the time
  config.shard.output_buffer = 4;
  ShardedPipeline relay(config, [](size_t) {
    return std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = 128});
  });
  ShardedPipeline client(config, [](size_t) {
    return std::make_unique<ClientPipeline>(ClientPipelineConfig{.max_circuits = 64});
  });
  std::vector<std::array<uint32_t, kHops + 1>> ids;
  Collector relay_out, client_out;
  SubmitAll(relay, OpenPaths(suite(), relay, kCircuits, ids), relay_out);
  std::vector<InCell> client_opens;
  for (size_t i = 0; i < kCircuits; ++i) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 0; h < kHops; ++h) seeds.push_back(SeedFor(suite(), int(i) * 8 + h + 1));
    for (auto& s : seeds) views.emplace_back(s);
    InCell open;
    ASSERT_TRUE(EncodeClientOpen(kClientChannel, ids[i][0], {suite().id(), views}, open));
    client_opens.push_back(open);
  }
  SubmitAll(client, client_opens, client_out);

  // Each circuit sends 6 cells to each hop; every relay delivery is checked against its data.
  const RelayFormat& layout = suite().relay_format();
  std::vector<InCell> originate;
  std::map<std::pair<uint64_t, int>, std::vector<std::vector<uint8_t>>> sent;  // (circ, hop)
  for (int round = 0; round < 6; ++round) {
    for (size_t i = 0; i < kCircuits; ++i) {
      for (int hop = 1; hop <= kHops; ++hop) {
        InCell in;
        in.kind = InKind::kOriginate;
        in.channel = kClientChannel;
        in.hop = uint8_t(hop);
        WriteCellHeader(ids[i][0], CellCommand::kRelay, in.cell.span());
        auto data =
            TestData(size_t(round * 40 + hop), uint32_t(i * 100 + size_t(round * 10 + hop)));
        BuildRelayPayload(layout, {RelayCommand::kData, 5, uint16_t(data.size())}, data,
                          in.cell.payload());
        sent[{i, hop}].push_back(std::move(data));
        originate.push_back(in);
      }
    }
  }
  client_out.items.clear();
  SubmitAll(client, originate, client_out);
  ASSERT_TRUE(WaitFor(client, client_out, originate.size()));  // one kSend each
  // Route: each kSend goes back into the relay engine until it is delivered at its hop.
  std::map<std::pair<uint64_t, int>, size_t> delivered;
  std::vector<InCell> pending;
  auto take = [&](std::vector<OutItem>& items) {
    for (const OutItem& o : items) {
      if (o.kind == OutKind::kSend) {
        InCell in;
        in.channel = ArrivesOn(o.channel);
        in.cell = o.cell;
        pending.push_back(in);
      } else if (o.kind == OutKind::kDeliver) {
        const int hop = int(o.channel) + 1;
        size_t i = 0;
        while (i < kCircuits && ids[i][size_t(hop - 1)] != o.cell.circ_id()) ++i;
        ASSERT_LT(i, kCircuits);
        const ParsedRelay parsed = ParseRelayPayload(layout, o.cell.payload());
        ASSERT_TRUE(parsed.ok());
        size_t& n = delivered[{i, hop}];
        const auto& want = sent[{i, hop}][n++];
        EXPECT_EQ(std::vector<uint8_t>(parsed.data.begin(), parsed.data.end()), want);
      } else {
        ADD_FAILURE() << "unexpected output kind " << int(o.kind);
      }
    }
    items.clear();
  };
  take(client_out.items);
  while (!pending.empty()) {
    std::vector<InCell> batch;
    batch.swap(pending);
    SubmitAll(relay, batch, relay_out);
    // Wait until this wave is through (each cell yields one output: a send or a delivery).
    ASSERT_TRUE(WaitFor(relay, relay_out, batch.size())) << relay_out.items.size();
    take(relay_out.items);
  }
  for (size_t i = 0; i < kCircuits; ++i) {
    for (int hop = 1; hop <= kHops; ++hop) EXPECT_EQ((delivered[{i, hop}]), 6u) << i << " " << hop;
  }

  // The client closes every circuit: DESTROY walks hop by hop, each hop reporting kClosed to
  // the side that sent it and kDestroy onwards.
  std::vector<InCell> closes;
  for (size_t i = 0; i < kCircuits; ++i) {
    InCell in;
    in.kind = InKind::kClose;
    in.channel = kClientChannel;
    WriteCellHeader(ids[i][0], CellCommand::kDestroy, in.cell.span());
    closes.push_back(in);
  }
  SubmitAll(client, closes, client_out);
  client.Stop(client_out);
  size_t closed = 0;
  for (int hop = 0; hop <= kHops; ++hop) {
    std::vector<InCell> next;
    for (const OutItem& o : client_out.items) {
      if (o.kind == OutKind::kDestroy) {
        InCell in;
        in.channel = ArrivesOn(o.channel);
        in.cell = o.cell;
        next.push_back(in);
      } else {
        EXPECT_EQ(o.kind, OutKind::kClosed);
        ++closed;
      }
    }
    client_out.items.clear();
    if (next.empty()) break;
    SubmitAll(relay, next, client_out);
    ASSERT_TRUE(WaitFor(relay, client_out, next.size() * (hop + 1 < kHops ? 2 : 1))) << hop;
  }
  EXPECT_EQ(closed, kCircuits * kHops);
  relay.Stop(relay_out);
  EXPECT_TRUE(relay_out.items.empty());
  for (size_t s = 0; s < relay.workers(); ++s) {
    const auto& engine = static_cast<RelayPipeline&>(relay.processor(s));
    EXPECT_EQ(engine.open_circuits(), 0u);
    EXPECT_EQ(engine.counters().unknown_circuit, 0u);
    EXPECT_EQ(engine.counters().errors.Total(), 0u);
  }
}

// A host that stops polling: Submit refuses (back-pressure), nothing is lost; Stop delivers
// every output, each cell exactly once and in its circuit's order (the per-circuit chains
// would garble any reordering: the outputs equal one-at-a-time circuits' outputs).
TEST_P(PipelineRelay, BackPressureAndStopLoseNothing) {
  constexpr size_t kCircuits = 40;
  ShardedPipelineConfig config;
  config.workers = 2;
  config.shard.queue_capacity = 8;
  config.shard.output_buffer = 2;
  ShardedPipeline relay(config, [](size_t) {
    return std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = 64});
  });
  std::vector<InCell> opens;
  std::vector<RelayCircuit> reference(kCircuits);
  for (size_t i = 0; i < kCircuits; ++i) {
    const auto seed = SeedFor(suite(), int(i) + 1);
    InCell open;
    ASSERT_TRUE(EncodeRelayOpen(7, 10 + uint32_t(i), {suite().id(), 0, 0, seed}, open));
    opens.push_back(open);
    ASSERT_EQ(RelayCircuit::Create(suite(), seed, 10 + uint32_t(i), 0, reference[i]),
              SuiteError::kOk);
  }
  Collector out;
  SubmitAll(relay, opens, out);
  std::vector<InCell> cells;
  for (int n = 0; n < 400; ++n) {
    InCell in;
    in.channel = 7;
    const size_t i = size_t(n * 7) % kCircuits;
    WriteCellHeader(10 + uint32_t(i), CellCommand::kRelay, in.cell.span());
    const auto body = TestData(kCellBodyBytes, uint32_t(n));
    std::copy(body.begin(), body.end(), in.cell.payload().begin());
    cells.push_back(in);
  }
  // Without polling, the queues fill and Submit stops accepting.
  size_t accepted = 0;
  for (int tries = 0; tries < 1000 && accepted < cells.size(); ++tries) {
    const size_t n = relay.Submit(std::span(cells).subspan(accepted));
    accepted += n;
    if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_LT(accepted, cells.size());
  SubmitAll(relay, std::span(cells).subspan(accepted), out);
  relay.Stop(out);
  EXPECT_EQ(relay.Submit(cells), 0u);

  // Expected: each cell peeled by its own circuit, in order. Last hops do not recognize random
  // bodies: the first garbage cell destroys the circuit; later ones find it gone.
  std::map<uint32_t, std::vector<OutItem>> got, want;
  for (const OutItem& o : out.items) got[o.cell.circ_id()].push_back(o);
  for (const InCell& in : cells) {
    const size_t i = in.cell.circ_id() - 10;
    if (!reference[i].is_open()) continue;
    OutItem o;
    o.channel = 7;
    o.cell = in.cell;
    const CellResult r = reference[i].HandleForward(o.cell.span());
    ASSERT_EQ(r.outcome, CellOutcome::kDestroyed);
    o.kind = OutKind::kDestroy;
    BuildDestroyCell(10 + uint32_t(i), DestroyReason::kProtocol, o.cell.span());
    want[in.cell.circ_id()].push_back(o);
  }
  ASSERT_EQ(got.size(), want.size());
  for (auto& [id, items] : want) {
    ASSERT_EQ(got[id].size(), items.size()) << id;
    for (size_t k = 0; k < items.size(); ++k) {
      EXPECT_EQ(got[id][k].kind, items[k].kind);
      EXPECT_EQ(got[id][k].cell.bytes, items[k].cell.bytes);
    }
  }
  uint64_t unknown = 0;
  for (size_t s = 0; s < relay.workers(); ++s) {
    unknown += static_cast<RelayPipeline&>(relay.processor(s)).counters().unknown_circuit;
  }
  EXPECT_EQ(unknown, cells.size() - kCircuits);  // every cell counted: none silently lost
}

INSTANTIATE_TEST_SUITE_P(Suites, PipelineRelay, ::testing::ValuesIn(AllSuiteIds()), SuiteParamName);

}  // namespace
}  // namespace relaycell
