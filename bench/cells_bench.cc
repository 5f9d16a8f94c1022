// Google Benchmark view of the cell hot paths (the `relaycell bench cells` figures, per suite).
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/tor1_layer.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using Cell = std::array<uint8_t, kCellBytes>;

const CellSuite& SuiteOf(int64_t index) { return index == 0 ? AezCellSuite() : Tor1CellSuite(); }

// No rekey inside a run: a relay enforcing the default schedule destroys the circuit after
// 2^15 cells without one, and every later cell would time the refusal (the cost of a rekey is
// `relaycell bench rekey`). The enforcement check still runs on every cell.
RekeyConfig NoRekeyInRun() {
  RekeyConfig config;
  config.first = config.interval = uint64_t{1} << 36;
  return config;
}

struct Path {
  ClientCircuit client;
  std::vector<RelayCircuit> relays;
  explicit Path(const CellSuite& suite, int hops = 3) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 0; h < hops; ++h)
      seeds.emplace_back(suite.id() == kTor1SuiteId ? kTor1SeedBytes : 32, uint8_t(h + 9));
    for (auto& s : seeds) views.emplace_back(s);
    ClientCircuit::Create(suite, 1, views, NoRekeyInRun(), client);
    relays.resize(size_t(hops));
    for (int h = 0; h < hops; ++h)
      RelayCircuit::Create(suite, seeds[size_t(h)], 1 + uint32_t(h),
                           h + 1 < hops ? 2 + uint32_t(h) : 0, NoRekeyInRun(),
                           RekeyEnforcer::Mode::kEnforce, relays[size_t(h)]);
  }
};

void BM_Peel(benchmark::State& state) {
  Path path(SuiteOf(state.range(0)));
  Cell cell{};
  for (size_t i = 0; i < cell.size(); ++i) cell[i] = uint8_t(i * 7 + 3);
  for (auto _ : state) {
    WriteCellHeader(1, CellCommand::kRelay, cell);
    if (path.relays[0].HandleForward(cell).outcome != CellOutcome::kForward) {
      state.SkipWithError("a cell was not forwarded: the path is broken");
      break;
    }
  }
  state.SetLabel(SuiteOf(state.range(0)).name());
}

void BM_Originate(benchmark::State& state) {
  Path path(SuiteOf(state.range(0)));
  Cell cell{};
  const uint8_t data[498] = {1};
  for (auto _ : state) {
    if (path.client.Originate(3, {RelayCommand::kData, 1, 498}, data, false, cell) !=
        OriginateError::kOk) {
      state.SkipWithError("the client refused to originate: the path is broken");
      break;
    }
    benchmark::DoNotOptimize(cell);
  }
  state.SetLabel(SuiteOf(state.range(0)).name());
}

void BM_Deliver(benchmark::State& state) {
  Path path(SuiteOf(state.range(0)));
  Cell cell{};
  const uint8_t data[498] = {2};
  for (auto _ : state) {
    state.PauseTiming();
    path.relays[2].Originate({RelayCommand::kData, 1, 498}, data, cell);
    path.relays[1].HandleBackward(cell);
    path.relays[0].HandleBackward(cell);
    state.ResumeTiming();
    if (path.client.Receive(cell).outcome != CellOutcome::kDelivered) {
      state.SkipWithError("a cell was not delivered: the path is broken");
      break;
    }
  }
  state.SetLabel(SuiteOf(state.range(0)).name());
}

BENCHMARK(BM_Peel)->Arg(0)->Arg(1);
BENCHMARK(BM_Originate)->Arg(0)->Arg(1);
BENCHMARK(BM_Deliver)->Arg(0)->Arg(1);

}  // namespace
}  // namespace relaycell
