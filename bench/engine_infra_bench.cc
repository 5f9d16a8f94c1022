// The sharded engine's machinery without crypto: queue hand-off, circuit lookup, and the whole
// Submit -> worker -> Poll round trip with a stand-in processor.
//
//   build/.../bench/engine_infra_bench --benchmark_min_time=0.5
//
// Figures to read: BM_CircuitTableFind vs BM_AbslFlatHashMapFind (ns per lookup at 100,000
// circuits, and their bytes_per_entry counters); BM_SpscHandOff (cells/s between two threads);
// BM_ShardedPipeline/workers:1 vs /workers:2 (cells/s; their ratio is the infrastructure's share of
// engine.scaling — the real figure waits for the real circuits).
#include <benchmark/benchmark.h>

#include <absl/container/flat_hash_map.h>

#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "circuit/pipeline/circuit_table.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "circuit/pipeline/spsc_queue.h"

namespace relaycell {
namespace {

constexpr size_t kTableCircuits = 100000;

std::vector<CircuitKey> RandomKeys(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<CircuitKey> keys(n);
  for (auto& key : keys) key = CircuitKey{uint32_t(rng() % 512), uint32_t(rng() | 1)};
  return keys;
}

// Lookups in random order over 100,000 circuits: the table does not fit in L2, as on a relay.
void BM_CircuitTableFind(benchmark::State& state) {
  const std::vector<CircuitKey> keys = RandomKeys(kTableCircuits, 1);
  CircuitTable table(kTableCircuits);
  for (const CircuitKey& key : keys) table.Insert(key);
  std::vector<CircuitKey> probes = keys;
  std::shuffle(probes.begin(), probes.end(), std::mt19937(2));
  size_t i = 0;
  uint64_t sum = 0;
  for (auto _ : state) {
    sum += table.Find(probes[i]);
    if (++i == probes.size()) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  state.counters["bytes_per_entry"] = double(table.MemoryBytes()) / kTableCircuits;
}
BENCHMARK(BM_CircuitTableFind);

struct PackedKeyHash {
  CircuitKeyHash hash;
  size_t operator()(uint64_t packed) const {
    return hash(CircuitKey{uint32_t(packed >> 32), uint32_t(packed)});
  }
};

// The baseline: absl::flat_hash_map reserved for the same count. Bytes per entry are computed
// from its layout (one control byte per bucket plus 16 cloned ones, then the slots).
void BM_AbslFlatHashMapFind(benchmark::State& state) {
  const std::vector<CircuitKey> keys = RandomKeys(kTableCircuits, 1);
  absl::flat_hash_map<uint64_t, uint32_t> map;
  map.reserve(kTableCircuits);
  uint32_t slot = 0;
  for (const CircuitKey& key : keys) map.emplace(key.packed(), slot++);
  std::vector<CircuitKey> probes = keys;
  std::shuffle(probes.begin(), probes.end(), std::mt19937(2));
  size_t i = 0;
  uint64_t sum = 0;
  for (auto _ : state) {
    auto it = map.find(probes[i].packed());
    sum += it == map.end() ? kNoCircuitSlot : it->second;
    if (++i == probes.size()) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  const size_t buckets = map.bucket_count();
  const size_t slot_bytes = sizeof(std::pair<const uint64_t, uint32_t>);
  state.counters["bytes_per_entry"] =
      double(buckets + 16 + buckets * slot_bytes + sizeof(map)) / kTableCircuits;
}
BENCHMARK(BM_AbslFlatHashMapFind);

// Cells (520-byte InCell items) from one thread to another through the ring, in batches, the
// consumer reading in place. Items per second = cells per second the queue can carry.
void BM_SpscHandOff(benchmark::State& state) {
  const size_t batch = size_t(state.range(0));
  for (auto _ : state) {
    constexpr size_t kCells = 200000;
    SpscQueue<InCell> queue(1024);
    std::thread consumer([&] {
      size_t seen = 0;
      uint64_t sum = 0;
      while (seen < kCells) {
        std::span<InCell> run = queue.PeekReadable(batch);
        if (run.empty()) {
          std::this_thread::yield();
          continue;
        }
        for (const InCell& cell : run) sum += cell.cell.bytes[100];
        queue.Consume(run.size());
        seen += run.size();
      }
      benchmark::DoNotOptimize(sum);
    });
    std::vector<InCell> cells(batch);
    for (size_t sent = 0; sent < kCells;) {
      const size_t n = queue.TryPushBatch(std::span(cells).first(std::min(batch, kCells - sent)));
      if (n == 0) std::this_thread::yield();
      sent += n;
    }
    consumer.join();
    state.SetItemsProcessed(state.items_processed() + kCells);
  }
}
BENCHMARK(BM_SpscHandOff)->Arg(1)->Arg(16)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

// Stand-in for the real circuits: a table lookup, a copy to the output, and a chain of dependent
// multiply-adds per cell (tens of ns, the order of one AEZ layer), so scaling has work to scale.
class StandInProcessor : public ShardProcessor {
 public:
  StandInProcessor(std::span<const CircuitKey> keys, int work_rounds)
      : table_(keys.size()), work_rounds_(work_rounds) {
    for (const CircuitKey& key : keys) table_.Insert(key);
  }
  void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) override {
    for (const InCell& in : batch) {
      const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
      if (slot == kNoCircuitSlot) continue;
      uint64_t x = slot;
      for (int r = 0; r < work_rounds_; ++r) x = x * 6364136223846793005u + 1442695040888963407u;
      OutItem& item = out.Append();
      item.channel = in.channel ^ 1;
      item.kind = OutKind::kSend;
      item.cell = in.cell;
      item.cell.bytes[5] ^= uint8_t(x);
    }
  }

 private:
  CircuitTable table_;
  int work_rounds_;
};

void BM_ShardedPipeline(benchmark::State& state) {
  constexpr size_t kCircuits = 10000;
  constexpr int kWorkRounds = 40;  // 40 dependent multiply-adds: ~50 ns per cell on Zen 3
  const std::vector<CircuitKey> keys = RandomKeys(kCircuits, 3);
  ShardedPipelineConfig config;
  config.workers = size_t(state.range(0));
  config.shard.queue_capacity = 1024;
  config.shard.max_batch = 64;
  ShardedPipeline engine(config, [&](size_t) {
    return std::make_unique<StandInProcessor>(keys, kWorkRounds);  // every shard knows all
  });
  std::vector<InCell> cells(4096);
  std::mt19937 rng(4);
  for (InCell& cell : cells) {
    const CircuitKey& key = keys[rng() % kCircuits];
    cell.channel = key.channel;
    WriteCellHeader(key.circ_id, CellCommand::kRelay, cell.cell.span());
  }
  uint64_t outputs = 0;
  auto sink = [&](std::span<const OutItem> items) { outputs += items.size(); };
  for (auto _ : state) {
    std::span<const InCell> rest(cells);
    while (!rest.empty()) {
      const size_t accepted = engine.Submit(rest.first(std::min<size_t>(rest.size(), 256)));
      rest = rest.subspan(accepted);
      if (engine.Poll(sink) == 0 && accepted == 0) std::this_thread::yield();
    }
  }
  engine.Stop(sink);
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(cells.size()));
  if (outputs != uint64_t(state.iterations()) * cells.size()) state.SkipWithError("lost cells");
}
BENCHMARK(BM_ShardedPipeline)
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace relaycell
