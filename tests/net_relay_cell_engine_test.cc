// The relay node's cell engine (net/relay/relay_cell_engine.h).
//
// Its counters are live: a sharded engine's, read while its workers run, are what they
// published after their last batch (the relay's SIGUSR1 and metrics page show them).
//
// It keeps no key seed behind (issue #15, keys gone): a kOpen item is
// written in place into the engine's host queue (QueueSlot), copied into a shard's ring on
// Flush, and every copy it leaves behind is zeroed: the host queue's slot once the item is
// handed over (whole, or in the refused remainder's old places after it moves up), and the old
// buffer when the queue grows. Read back through the queue's own memory, which stays allocated
// while the engine lives.
#include "net/relay/relay_cell_engine.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/suite/suite_registry.h"
#include "tests/circuit_test_util.h"

namespace relaycell::net {
namespace {

size_t NonZeroPayloadBytes(const InCell* slot) {
  const volatile uint8_t* p = slot->cell.payload().data();
  size_t n = 0;
  for (size_t i = 0; i < kCellBodyBytes; ++i) n += p[i] != 0;
  return n;
}

// Queues `count` kOpen items for distinct circuits; returns where the first one is now.
const InCell* QueueOpens(RelayCellEngine& engine, size_t count) {
  const CellSuite& suite = *FindSuite(kAezSuiteId);
  const std::vector<uint8_t> seed = relaycell::testing::SeedFor(suite, 1);
  const InCell* last = nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    InCell& slot = engine.QueueSlot();
    EXPECT_TRUE(EncodeRelayOpen(1, 1 + i, {.suite = kAezSuiteId, .seed = seed}, slot));
    last = &slot;
  }
  return last - (count - 1);  // the queue is one array
}

void DrainAndCount(RelayCellEngine& engine, size_t& outputs) {
  do {
    engine.Flush();
    outputs += engine.Poll([](std::span<const OutItem>) {});
  } while (engine.Busy());
}

TEST(RelayCellEngineSeeds, InlineEngineZeroesItsQueueAfterTheBatch) {
  RelayCellEngine engine(0, RelayPipelineConfig{.max_circuits = 64});
  const InCell* first = QueueOpens(engine, 10);
  ASSERT_GT(NonZeroPayloadBytes(first), 0u);  // the probe sees a seed while it is queued
  size_t outputs = 0;
  DrainAndCount(engine, outputs);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(NonZeroPayloadBytes(first + i), 0u) << i;
}

TEST(RelayCellEngineSeeds, ShardedEngineZeroesEveryQueueSlotItsItemsLeft) {
  // More opens than a shard's ring holds (1024), so Flush hands them over in parts and the
  // refused remainder moves to the front of the queue at least once.
  constexpr size_t kOpens = 3000;
  RelayCellEngine engine(1, RelayPipelineConfig{.max_circuits = 4096});
  const InCell* first = QueueOpens(engine, kOpens);
  size_t outputs = 0;
  DrainAndCount(engine, outputs);
  size_t holding = 0;
  for (size_t i = 0; i < kOpens; ++i) holding += NonZeroPayloadBytes(first + i) != 0;
  EXPECT_EQ(holding, 0u) << "queue slots still holding a kOpen payload";
}

// Torn down without Stop (an error path, a relay that exits on a fatal link error): what the
// host queue still holds is dropped, seeds zeroed first. Read back through the queue's memory,
// which DiscardQueued (the destructor's first step) keeps allocated.
TEST(RelayCellEngineSeeds, DiscardingQueuedInputsZeroesTheirSeeds) {
  for (size_t workers : {size_t{0}, size_t{1}}) {
    RelayCellEngine engine(workers, RelayPipelineConfig{.max_circuits = 64});
    const InCell* first = QueueOpens(engine, 5);
    ASSERT_GT(NonZeroPayloadBytes(first + 4), 0u);
    ASSERT_TRUE(engine.Busy());
    EXPECT_EQ(engine.DiscardQueued(), 5u) << workers << " workers";
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(NonZeroPayloadBytes(first + i), 0u) << i;
    EXPECT_FALSE(engine.Busy());
    EXPECT_EQ(engine.DiscardQueued(), 0u);
  }
}

TEST(RelayCellEngineCounters, ShardedCountersAreLiveWhileWorkersRun) {
  RelayCellEngine engine(2, RelayPipelineConfig{.max_circuits = 64});
  QueueOpens(engine, 3);
  for (uint32_t i = 0; i < 5; ++i) {  // cells for circuits nobody opened
    InCell& cell = engine.QueueSlot();
    cell.channel = 9;
    WriteCellHeader(1000 + i, CellCommand::kRelay, cell.cell.span());
  }
  size_t outputs = 0;
  DrainAndCount(engine, outputs);
  ASSERT_TRUE(engine.sharded());
  const RelayPipelineCounters live = engine.counters();  // the workers still run
  EXPECT_EQ(live.opened, 3u);
  EXPECT_EQ(live.unknown_circuit, 5u);
  EXPECT_EQ(live.forwarded, 0u);
}

}  // namespace
}  // namespace relaycell::net
