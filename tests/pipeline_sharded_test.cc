// The sharded engine with a fake processor whose output reveals any lost, duplicated or
// reordered cell: each circuit counts the cells it has processed and XORs that count into the
// cell's sequence number. A cell that reaches its processor in order comes out with a zero
// there; the host also sees the untouched sequence number, so it checks end-to-end order.
#include "circuit/pipeline/sharded_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace relaycell {
namespace {

constexpr uint8_t kRelay = 3;  // protocol §1 command numbers
constexpr uint8_t kDestroy = 4;

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
void WriteU64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i) p[i] = uint8_t(v), v >>= 8;
}

InCell MakeCell(uint32_t channel, uint32_t circ_id, uint8_t command, uint64_t seq,
                InKind kind = InKind::kCell) {
  InCell item;
  item.channel = channel;
  item.kind = kind;
  WriteCellHeader(circ_id, CellCommand(command), item.cell.span());
  WriteU64(seq, &item.cell.payload()[0]);  // XORed by the processor
  WriteU64(seq, &item.cell.payload()[8]);  // left alone
  return item;
}

class SequenceProcessor : public ShardProcessor {
 public:
  explicit SequenceProcessor(size_t max_circuits)
      : table_(max_circuits), processed_(max_circuits) {}

  void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) override {
    const std::thread::id me = std::this_thread::get_id();
    if (owner_ == std::thread::id()) owner_ = me;
    foreign_thread_calls += owner_ != me;  // a shard's circuits are touched by one thread
    ++batches;
    max_batch_seen = std::max(max_batch_seen, batch.size());
    for (const InCell& in : batch) {
      const CircuitKey key{in.channel, in.cell.circ_id()};
      if (in.kind == InKind::kOpen) {
        const CircuitInsert r = table_.Insert(key);
        if (r.error != CircuitTableError::kOk) {
          ++open_failures;
          continue;
        }
        processed_[r.slot] = 0;
        continue;
      }
      if (slow_first_batch_gate != nullptr && !gate_passed_) {  // stall on the first cell
        while (!slow_first_batch_gate->load(std::memory_order_acquire)) std::this_thread::yield();
        gate_passed_ = true;
      }
      const CircuitSlot slot = table_.Find(key);
      if (slot == kNoCircuitSlot) {
        ++unknown_circuit;  // counted, as a relay counts cells for circuits it does not know
        continue;
      }
      if (in.kind == InKind::kClose || in.cell.command() == kDestroy) {
        table_.Erase(key);
        OutItem& item = out.Append();
        item.kind = OutKind::kDestroy;
        item.channel = in.channel;
        BuildDestroyCell(key.circ_id, DestroyReason::kFinished, item.cell.span());
        continue;
      }
      OutItem& item = out.Append();
      item.kind = OutKind::kSend;
      item.channel = in.channel;
      item.cell = in.cell;
      uint8_t* seq = &item.cell.payload()[0];
      WriteU64(ReadU64(seq) ^ processed_[slot]++, seq);
    }
  }

  uint64_t unknown_circuit = 0;
  uint64_t open_failures = 0;
  uint64_t foreign_thread_calls = 0;
  uint64_t batches = 0;
  size_t max_batch_seen = 0;
  const std::atomic<bool>* slow_first_batch_gate = nullptr;

 private:
  CircuitTable table_;
  std::vector<uint64_t> processed_;
  std::thread::id owner_;
  bool gate_passed_ = false;
};

// Host side: checks every output as it arrives.
struct Collector {
  std::map<uint64_t, uint64_t> next_seq;  // per circuit key: the sequence number expected next
  std::map<uint64_t, int> destroys;
  uint64_t sends = 0, reordered = 0, processor_saw_reordered = 0;

  void operator()(std::span<const OutItem> items) {
    for (const OutItem& item : items) {
      const uint64_t key = CircuitKey{item.channel, item.cell.circ_id()}.packed();
      if (item.kind == OutKind::kDestroy) {
        ++destroys[key];
        continue;
      }
      ++sends;
      const uint64_t seq = ReadU64(&item.cell.payload()[8]);
      reordered += seq != next_seq[key]++;
      processor_saw_reordered += ReadU64(&item.cell.payload()[0]) != 0;
    }
  }
};

// Long enough that a lost wake-up hangs the test (ctest's TIMEOUT fails it) instead of being
// papered over by the timeout.
constexpr std::chrono::microseconds kNoLostWakeUps = std::chrono::minutes(10);
constexpr std::chrono::microseconds kShortWait = std::chrono::milliseconds(2);

// Submits everything, resubmitting what back-pressure refused, polling meanwhile, and parking
// when it can do neither (the host loop of docs/embedding.md).
void SubmitAll(ShardedPipeline& engine, std::span<const InCell> items, Collector& sink) {
  while (!items.empty()) {
    const size_t accepted = engine.Submit(items);
    items = items.subspan(accepted);
    if (engine.Poll(sink) == 0 && accepted == 0) {
      ASSERT_TRUE(engine.WaitForProgress(kNoLostWakeUps));
    }
  }
}

SequenceProcessor& Processor(ShardedPipeline& engine, size_t shard) {
  return static_cast<SequenceProcessor&>(engine.processor(shard));
}

ShardProcessorFactory SequenceFactory(size_t max_circuits) {
  return [max_circuits](size_t) { return std::make_unique<SequenceProcessor>(max_circuits); };
}

TEST(ShardedPipeline, EveryCellOnceAndInOrderWithTinyQueues) {
  ShardedPipelineConfig config;
  config.workers = 2;
  config.shard = {.queue_capacity = 4, .max_batch = 3, .output_buffer = 2};
  ShardedPipeline engine(config, SequenceFactory(256));
  Collector sink;

  // 4 producers (channels) x 16 circuits x 300 cells; their batches reach the engine in a random
  // interleaving, as if each channel's reader handed the host a batch when it had one.
  constexpr uint32_t kChannels = 4, kCircuitsPerChannel = 16, kCellsPerCircuit = 300;
  std::vector<InCell> opens;
  for (uint32_t ch = 0; ch < kChannels; ++ch) {
    for (uint32_t c = 1; c <= kCircuitsPerChannel; ++c) {
      opens.push_back(MakeCell(ch, c, 0, 0, InKind::kOpen));
    }
  }
  SubmitAll(engine, opens, sink);

  std::mt19937 rng(42);
  std::vector<uint32_t> next_cell(kChannels * kCircuitsPerChannel, 0);
  std::vector<InCell> batch;
  uint64_t submitted = 0;
  for (;;) {
    const uint32_t ch = rng() % kChannels;
    batch.clear();
    const size_t size = 1 + rng() % 40;
    for (size_t i = 0; i < size; ++i) {
      const uint32_t c = 1 + rng() % kCircuitsPerChannel;
      uint32_t& n = next_cell[ch * kCircuitsPerChannel + c - 1];
      if (n < kCellsPerCircuit) batch.push_back(MakeCell(ch, c, kRelay, n++));
    }
    SubmitAll(engine, batch, sink);
    submitted += batch.size();
    if (submitted == uint64_t{kChannels} * kCircuitsPerChannel * kCellsPerCircuit) break;
  }
  engine.Stop(sink);

  EXPECT_EQ(sink.sends, submitted);
  EXPECT_EQ(sink.reordered, 0u);
  EXPECT_EQ(sink.processor_saw_reordered, 0u);
  for (const auto& [key, next] : sink.next_seq) EXPECT_EQ(next, kCellsPerCircuit) << key;
  EXPECT_EQ(sink.next_seq.size(), size_t{kChannels} * kCircuitsPerChannel);
  for (size_t s = 0; s < engine.workers(); ++s) {
    EXPECT_EQ(Processor(engine, s).unknown_circuit, 0u);
    EXPECT_EQ(Processor(engine, s).open_failures, 0u);
    EXPECT_EQ(Processor(engine, s).foreign_thread_calls, 0u);
    EXPECT_LE(Processor(engine, s).max_batch_seen, 3u);
  }
  EXPECT_EQ(engine.stats().inputs, submitted + opens.size());
  EXPECT_EQ(engine.stats().outputs, submitted);
}

TEST(ShardedPipeline, CircuitRemovedMidBatchLosesNothing) {
  ShardedPipelineConfig config;
  config.workers = 2;
  config.shard = {.queue_capacity = 1024, .max_batch = 256, .output_buffer = 16};
  ShardedPipeline engine(config, SequenceFactory(64));
  Collector sink;

  // Circuits 1..8 on channel 5. Each gets 40 cells, then circuits 1..4 are destroyed (by a
  // DESTROY cell for odd ones, by the host's kClose for even ones) and get 10 more cells that
  // must be counted as for an unknown circuit; all in one submission, so the removals fall in
  // the middle of the workers' batches.
  std::vector<InCell> items;
  for (uint32_t c = 1; c <= 8; ++c) items.push_back(MakeCell(5, c, 0, 0, InKind::kOpen));
  for (uint64_t n = 0; n < 50; ++n) {
    for (uint32_t c = 1; c <= 8; ++c) {
      if (n == 40 && c <= 4) {
        items.push_back(c % 2 ? MakeCell(5, c, kDestroy, 0) : MakeCell(5, c, 0, 0, InKind::kClose));
      }
      items.push_back(MakeCell(5, c, kRelay, n));
    }
  }
  SubmitAll(engine, items, sink);
  // The same ids open again as new circuits: their counts restart.
  std::vector<InCell> reopen;
  for (uint32_t c = 1; c <= 4; ++c) {
    reopen.push_back(MakeCell(5, c, 0, 0, InKind::kOpen));
    reopen.push_back(MakeCell(5, c, kRelay, 0));
  }
  SubmitAll(engine, reopen, sink);
  engine.Stop(sink);

  uint64_t unknown = 0;
  for (size_t s = 0; s < engine.workers(); ++s) unknown += Processor(engine, s).unknown_circuit;
  EXPECT_EQ(unknown, 4u * 10);  // cells after a removal: counted, not lost, not delivered
  EXPECT_EQ(sink.processor_saw_reordered, 0u);
  for (uint32_t c = 1; c <= 8; ++c) {
    const uint64_t key = CircuitKey{5, c}.packed();
    EXPECT_EQ(sink.destroys[key], c <= 4 ? 1 : 0) << c;
    EXPECT_EQ(sink.next_seq[key], c <= 4 ? 40u + 1 : 50u) << c;  // +1: the reopened circuit
  }
  // The reopened circuit's first cell has sequence 0 after 40: the host-side order check
  // counts it once as a restart per reopened circuit, nothing else.
  EXPECT_EQ(sink.reordered, 4u);
  EXPECT_EQ(sink.sends, 4u * 40 + 4u * 50 + 4u);
}

TEST(ShardedPipeline, StopDrainsCellsStillQueued) {
  ShardedPipelineConfig config;
  config.workers = 2;
  config.shard = {.queue_capacity = 64, .max_batch = 8, .output_buffer = 8};
  std::atomic<bool> gate{false};
  ShardedPipeline engine(config, [&](size_t) {
    auto p = std::make_unique<SequenceProcessor>(16);
    p->slow_first_batch_gate = &gate;  // each worker stalls on its first cell until released
    return p;
  });
  Collector sink;
  std::vector<InCell> items;
  for (uint32_t c = 1; c <= 8; ++c) items.push_back(MakeCell(1, c, 0, 0, InKind::kOpen));
  for (uint64_t n = 0; n < 100; ++n) {
    for (uint32_t c = 1; c <= 8; ++c) items.push_back(MakeCell(1, c, kRelay, n));
  }
  // Fill the queues while the workers are stalled (no resubmission: whatever is refused is
  // simply not part of this test's traffic).
  size_t accepted = 0;
  for (int tries = 0; tries < 100 && accepted < items.size(); ++tries) {
    accepted += engine.Submit(std::span(items).subspan(accepted));
  }
  ASSERT_GT(accepted, 8u);
  ASSERT_LT(accepted, items.size());  // back-pressure: the queues are full
  EXPECT_GT(engine.QueuedInputsApprox(), 0u);
  gate.store(true, std::memory_order_release);
  engine.Stop(sink);
  EXPECT_TRUE(engine.stopped());
  EXPECT_EQ(engine.QueuedInputsApprox(), 0u);
  EXPECT_EQ(sink.sends, accepted - 8);  // every accepted cell, minus the 8 opens
  EXPECT_EQ(sink.reordered, 0u);
  EXPECT_EQ(sink.processor_saw_reordered, 0u);
  EXPECT_EQ(engine.Submit(items), 0u);  // nothing is accepted after Stop
}

TEST(ShardedPipeline, HostThatDoesNotPollStallsWorkersWithoutLoss) {
  ShardedPipelineConfig config;
  config.workers = 1;
  config.shard = {.queue_capacity = 8, .max_batch = 4, .output_buffer = 4};
  ShardedPipeline engine(config, SequenceFactory(4));
  std::vector<InCell> items;
  items.push_back(MakeCell(2, 9, 0, 0, InKind::kOpen));
  for (uint64_t n = 0; n < 1000; ++n) items.push_back(MakeCell(2, 9, kRelay, n));
  size_t accepted = 0;
  int refusals = 0;
  while (refusals < 20 && accepted < items.size()) {
    const size_t n = engine.Submit(std::span(items).subspan(accepted));
    accepted += n;
    refusals = n == 0 ? refusals + 1 : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // In flight at most: the in-queue, the batch in hand, the worker's output buffer and the
  // out-queue (the worker blocks on the full out-queue instead of dropping).
  EXPECT_LE(accepted, 8u + 4 + 4 + 8);
  EXPECT_GT(engine.stats().output_stalls, 0u);
  Collector sink;
  engine.Stop(sink);
  EXPECT_EQ(sink.sends, accepted - 1);
  EXPECT_EQ(sink.reordered, 0u);
  EXPECT_EQ(sink.processor_saw_reordered, 0u);
}

TEST(ShardedPipeline, RoutingIsStableBalancedAndSteerable) {
  ShardedPipelineConfig config;
  config.workers = 4;
  ShardedPipeline engine(config, SequenceFactory(4));
  std::vector<int> per_shard(4, 0);
  for (uint32_t id = 1; id <= 20000; ++id) {
    const size_t s = engine.ShardOf({id % 8, id});
    ASSERT_LT(s, 4u);
    ASSERT_EQ(s, engine.ShardOf({id % 8, id}));
    ++per_shard[s];
  }
  for (int n : per_shard) {
    EXPECT_GT(n, 4000);
    EXPECT_LT(n, 6000);
  }
  for (size_t s = 0; s < 4; ++s) {
    for (uint32_t hint : {0u, 1u, 0x7FFFFFFFu, 12345u}) {
      const uint32_t low = engine.PickCircIdForShard(3, s, hint, 0);
      EXPECT_NE(low, 0u);
      EXPECT_EQ(low & 0x80000000u, 0u);
      EXPECT_EQ(engine.ShardOf({3, low}), s);
      const uint32_t high = engine.PickCircIdForShard(3, s, hint, 0x80000000u);
      EXPECT_NE(high & 0x80000000u, 0u);
      EXPECT_EQ(engine.ShardOf({3, high}), s);
    }
  }
}

TEST(ShardedPipeline, ZeroWorkersMeansOnePerHardwareThread) {
  ShardedPipeline engine(ShardedPipelineConfig{}, SequenceFactory(4));
  EXPECT_EQ(engine.workers(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(ShardedPipeline, DestructorWithoutStopJoinsCleanly) {
  std::vector<InCell> items = {MakeCell(1, 1, 0, 0, InKind::kOpen), MakeCell(1, 1, kRelay, 0)};
  ShardedPipelineConfig config;
  config.workers = 2;
  auto engine = std::make_unique<ShardedPipeline>(config, SequenceFactory(4));
  EXPECT_EQ(engine->Submit(items), 2u);
  engine.reset();  // must not hang or leak a thread (ASan/TSan runs check the latter)
}

TEST(ShardedPipeline, WaitForProgressTimesOutWhenNothingHappens) {
  ShardedPipelineConfig config;
  config.workers = 2;
  ShardedPipeline engine(config, SequenceFactory(4));
  EXPECT_FALSE(engine.WaitForProgress(kShortWait));  // nothing submitted, nothing to come
  Collector sink;
  engine.Stop(sink);
  EXPECT_FALSE(engine.WaitForProgress(kNoLostWakeUps));  // after Stop: at once
}

// The host submitted everything and waits for output; the worker is stalled, then released by
// another thread while the host is (usually) parked.
TEST(ShardedPipeline, WaitForProgressReturnsWhenAWorkerProducesOutput) {
  ShardedPipelineConfig config;
  config.workers = 1;
  std::atomic<bool> gate{false};
  ShardedPipeline engine(config, [&](size_t) {
    auto p = std::make_unique<SequenceProcessor>(4);
    p->slow_first_batch_gate = &gate;
    return p;
  });
  const std::vector<InCell> items = {MakeCell(1, 1, 0, 0, InKind::kOpen),
                                     MakeCell(1, 1, kRelay, 0)};
  ASSERT_EQ(engine.Submit(items), items.size());
  Collector sink;
  EXPECT_EQ(engine.Poll(sink), 0u);
  EXPECT_FALSE(engine.WaitForProgress(kShortWait));  // the worker is held at its first cell
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.store(true, std::memory_order_release);
  });
  EXPECT_TRUE(engine.WaitForProgress(kNoLostWakeUps));
  release.join();
  EXPECT_EQ(engine.Poll(sink), 1u);
  EXPECT_EQ(sink.sends, 1u);
  EXPECT_EQ(sink.reordered, 0u);
  engine.Stop(sink);
}

// Refused by a full queue, the host is woken only once the queue has room for a run of
// host_wake_items cells (or the worker ran dry): the next Submit then accepts at least that
// many. The cells are for circuits nobody opened, so they produce no output to wake on.
TEST(ShardedPipeline, WaitForProgressAfterRefusalWaitsForARunOfRoom) {
  ShardedPipelineConfig config;
  config.workers = 1;
  config.shard = {.queue_capacity = 64, .max_batch = 4, .output_buffer = 4, .host_wake_items = 24};
  // The worker is held at its first batch until the queue has refused the host once, so the
  // refusal happens however fast the worker would drain the queue (sanitizers, a busy machine).
  std::atomic<bool> gate{false};
  ShardedPipeline engine(config, [&](size_t) {
    auto p = std::make_unique<SequenceProcessor>(4);
    p->slow_first_batch_gate = &gate;
    return p;
  });
  std::vector<InCell> items;
  for (uint64_t n = 0; n < 4000; ++n) items.push_back(MakeCell(3, 7, kRelay, n));
  std::span<const InCell> rest(items);
  Collector sink;
  int waits = 0;
  bool waited = false;
  while (!rest.empty()) {
    const size_t accepted = engine.Submit(rest);
    if (waited) {
      EXPECT_GE(accepted, std::min<size_t>(24, rest.size()));  // room for a run
    }
    waited = false;
    rest = rest.subspan(accepted);
    if (accepted != 0) continue;
    gate.store(true, std::memory_order_release);
    EXPECT_EQ(engine.Poll(sink), 0u);
    ASSERT_TRUE(engine.WaitForProgress(kNoLostWakeUps));
    waited = true;
    ++waits;
  }
  engine.Stop(sink);
  EXPECT_GT(waits, 0);  // the queue did refuse: the wait was exercised
  EXPECT_EQ(Processor(engine, 0).unknown_circuit, items.size());
  EXPECT_EQ(sink.sends, 0u);
}

}  // namespace
}  // namespace relaycell
