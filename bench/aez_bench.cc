// Google Benchmark: AEZ v5 encipher at cell size, in batches under different keys, long
// messages, and the cell layer's AD hash. `relaycell bench aez` is the summary front end.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "engine/aez/aez.h"
#include "kernels/aes_rounds.h"
#include "kernels/aez_core_rounds.h"
#include "kernels/path_choice.h"

namespace relaycell {
namespace {

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::unique_ptr<AezKey> MakeKey(uint64_t seed) {
  const auto raw = RandomBytes(48, seed);
  return std::make_unique<AezKey>(std::span<const uint8_t, 48>(raw.data(), 48));
}

void BM_AezEncipher(benchmark::State& state) {
  const auto key = MakeKey(1);
  const auto delta = RandomBytes(16, 2);
  auto buffer = RandomBytes(size_t(state.range(0)), 3);
  for (auto _ : state) {
    AezEncipher(*key, std::span<const uint8_t, 16>(delta.data(), 16), buffer, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_AezEncipher)->Arg(509)->Arg(4096)->Arg(16)->Arg(64);

void BM_AezEncipherBatch509(benchmark::State& state) {
  const size_t count = size_t(state.range(0));
  std::vector<std::unique_ptr<AezKey>> keys;
  std::vector<std::vector<uint8_t>> cells, deltas;
  std::vector<AezBatchJob> jobs;
  for (size_t i = 0; i < count; ++i) {
    keys.push_back(MakeKey(10 + i));
    cells.push_back(RandomBytes(509, 100 + i));
    deltas.push_back(RandomBytes(16, 200 + i));
  }
  for (size_t i = 0; i < count; ++i)
    jobs.push_back({keys[i].get(), deltas[i].data(), cells[i].data(), cells[i].data(), 509});
  for (auto _ : state) {
    AezEncipherBatch(jobs);
    benchmark::DoNotOptimize(cells[0].data());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * count));
}
BENCHMARK(BM_AezEncipherBatch509)->Arg(16)->Arg(64);

// The AEZ-core kernel alone on one 509-byte cell, per path: the argument indexes
// kernels::RunnablePaths(kAezCore) (raw VAES paths first, then Highway targets, best first).
void BM_AezCore509Path(benchmark::State& state) {
  const auto paths = kernels::RunnablePaths(kernels::KernelFamily::kAezCore);
  if (size_t(state.range(0)) >= paths.size()) {
    state.SkipWithError("fewer paths on this CPU");
    return;
  }
  const kernels::KernelPath path = paths[size_t(state.range(0))];
  state.SetLabel(path.Name());
  const auto key = MakeKey(1);
  const auto delta = RandomBytes(16, 2);
  auto buffer = RandomBytes(509, 3);
  const kernels::AezCoreJob job{&key->blocks(), delta.data(), buffer.data(), buffer.data(), 509};
  for (auto _ : state) {
    kernels::AezCoreRoundsBatchWithPath(path, {&job, 1}, false);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * 509);
}
BENCHMARK(BM_AezCore509Path)->DenseRange(0, 4);

void BM_AezCellHash(benchmark::State& state) {
  const auto key = MakeKey(4);
  const auto nonce = RandomBytes(10, 5), a1 = RandomBytes(32, 6), a2 = RandomBytes(16, 7);
  const std::span<const uint8_t> ad[] = {a1, a2};
  uint8_t delta[16];
  for (auto _ : state) {
    AezHash(*key, 0, nonce, ad, delta);
    benchmark::DoNotOptimize(delta);
  }
}
BENCHMARK(BM_AezCellHash);

}  // namespace
}  // namespace relaycell
