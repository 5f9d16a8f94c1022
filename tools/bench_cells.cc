// `relaycell bench cells`: per-cell cost of the three hot paths, aez against tor1 in one run.
//   cells.<suite>.peel       a relay removes its layer from a cell it does not recognize
//   cells.<suite>.originate  the client builds a cell for hop 3 of 3 (three layers)
//   cells.<suite>.deliver    the client receives a cell from hop 3 of 3 (three layers off)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "tools/bench.h"
#include "engine/suite/suite_registry.h"

namespace relaycell::tools {
namespace {

using Cell = std::array<uint8_t, kCellBytes>;
constexpr int kHops = 3;
constexpr uint32_t kBaseId = 500;

// The hot paths are timed without a rekey falling inside the timed loop: the first rekey is set
// beyond any run's cell count (the cost of rekeying itself is `relaycell bench rekey`). The
// enforcement check still runs on every cell, as in production.
RekeyConfig BenchRekeyConfig() {
  RekeyConfig config;
  config.first = config.interval = uint64_t{1} << 36;
  return config;
}

struct BenchPath {
  ClientCircuit client;
  std::vector<RelayCircuit> relays;
  bool ok = false;

  explicit BenchPath(const CellSuite& suite) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    const size_t seed_bytes = suite.min_seed_bytes();
    for (int h = 0; h < kHops; ++h) seeds.emplace_back(seed_bytes, uint8_t(h + 1));
    for (auto& s : seeds) views.emplace_back(s);
    if (ClientCircuit::Create(suite, kBaseId, views, BenchRekeyConfig(), client) !=
        SuiteError::kOk) {
      return;
    }
    relays.resize(kHops);
    for (int h = 0; h < kHops; ++h) {
      if (RelayCircuit::Create(suite, seeds[size_t(h)], kBaseId + uint32_t(h),
                               h + 1 < kHops ? kBaseId + uint32_t(h) + 1 : 0, BenchRekeyConfig(),
                               RekeyEnforcer::Mode::kEnforce,
                               relays[size_t(h)]) != SuiteError::kOk) {
        return;
      }
    }
    ok = true;
  }
};

// A full DATA cell (stream 1) in the suite's format.
std::array<uint8_t, kCellBodyBytes> SamplePayload(const CellSuite& suite) {
  std::array<uint8_t, kCellBodyBytes> payload{};
  const RelayFormat& format = suite.relay_format();
  std::vector<uint8_t> data(format.max_data(uint8_t(RelayCommand::kData)));
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13 + 1);
  BuildRelayPayload(format, {RelayCommand::kData, 1, uint16_t(data.size())}, data, payload);
  return payload;
}

// Run(n): n unrecognized cells through the first relay. The cell keeps its peeled bytes, so
// each round is a fresh unrecognized cell.
struct PeelWorkload {
  BenchPath path;
  Cell cell{};
  size_t not_forwarded = 0;
  explicit PeelWorkload(const CellSuite& suite) : path(suite) {
    for (size_t i = 0; i < cell.size(); ++i) cell[i] = uint8_t(i * 7 + 3);
  }
  void Run(size_t n) {
    RelayCircuit& relay = path.relays[0];
    for (size_t i = 0; i < n; ++i) {
      WriteCellHeader(kBaseId, CellCommand::kRelay, cell);
      not_forwarded += relay.HandleForward(cell).outcome != CellOutcome::kForward;
    }
    ClobberMemory();
  }
  bool ok() const { return path.ok && not_forwarded == 0; }  // never report a broken path
};

// Run(n): the client builds n cells for hop 3 of 3.
struct OriginateWorkload {
  BenchPath path;
  std::array<uint8_t, kCellBodyBytes> payload;
  Cell cell{};
  size_t refused = 0;
  explicit OriginateWorkload(const CellSuite& suite) : path(suite), payload(SamplePayload(suite)) {}
  void Run(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      refused += path.client.OriginatePayload(kHops, payload, false, cell) != OriginateError::kOk;
      DoNotOptimize(cell[0]);
    }
    ClobberMemory();
  }
  bool ok() const { return path.ok && refused == 0; }
};

// Deliver needs real cells from hop 3: each round makes a batch (untimed), then times the
// client on it. Round() returns ns per cell, or 0 for a broken path.
struct DeliverWorkload {
  BenchPath path;
  std::array<uint8_t, kCellBodyBytes> payload;
  std::vector<Cell> cells;
  DeliverWorkload(const CellSuite& suite, bool quick)
      : path(suite), payload(SamplePayload(suite)), cells(quick ? 2048 : 8192) {}
  double Round() {
    if (!path.ok) return 0;
    for (Cell& cell : cells) {
      path.relays[kHops - 1].OriginatePayload(payload, cell);
      for (int h = kHops - 2; h >= 0; --h) path.relays[size_t(h)].HandleBackward(cell);
    }
    const auto start = std::chrono::steady_clock::now();
    size_t delivered = 0;
    for (Cell& cell : cells)
      delivered += path.client.Receive(cell).outcome == CellOutcome::kDelivered;
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (delivered != cells.size()) return 0;  // never report a figure for a broken path
    return ns / double(cells.size());
  }
};

// Every suite's deliver in alternation, round by round, the fastest round kept per suite.
std::vector<double> DeliverNs(const std::vector<const CellSuite*>& suites, double min_time_s,
                              bool quick) {
  std::vector<std::unique_ptr<DeliverWorkload>> workloads;
  for (const CellSuite* suite : suites)
    workloads.push_back(std::make_unique<DeliverWorkload>(*suite, quick));
  std::vector<double> best(suites.size(), 1e300);
  std::vector<bool> broken(suites.size(), false);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration<double>(min_time_s * 2 * double(suites.size()));
  for (int round = 0; round < 3 || std::chrono::steady_clock::now() < deadline; ++round) {
    for (size_t i = 0; i < workloads.size(); ++i) {
      const double ns = workloads[i]->Round();
      if (ns == 0) broken[i] = true;
      best[i] = std::min(best[i], ns);
    }
    if (round > 50) break;
  }
  for (size_t i = 0; i < best.size(); ++i)
    if (broken[i]) best[i] = 0;
  return best;
}

void RunCellsBench(const BenchConfig& config, std::vector<BenchResult>& results) {
  const double t = config.min_time_s;
  // Every suite asked for (all registered ones by default), peel and originate of all suites in
  // alternation, so the ratios survive this machine's noise.
  std::vector<const CellSuite*> suites;
  for (const CellSuite* suite : AllSuites()) {
    if (config.suite == "all" || config.suite == suite->name()) suites.push_back(suite);
  }
  std::vector<std::unique_ptr<PeelWorkload>> peelers;
  std::vector<std::unique_ptr<OriginateWorkload>> clients;
  std::vector<std::function<void(size_t)>> runs;
  for (const CellSuite* suite : suites) {
    peelers.push_back(std::make_unique<PeelWorkload>(*suite));
    clients.push_back(std::make_unique<OriginateWorkload>(*suite));
  }
  for (auto& p : peelers) runs.push_back([&p](size_t n) { p->Run(n); });
  for (auto& c : clients) runs.push_back([&c](size_t n) { c->Run(n); });
  const std::vector<double> ns = NsPerOpInterleaved(runs, t * 2 * double(suites.size()));
  struct Figures {
    std::string name;
    double peel, originate, deliver;
  };
  const std::vector<double> deliver_ns = DeliverNs(suites, t, config.quick);
  std::vector<Figures> figures;
  for (size_t i = 0; i < suites.size(); ++i) {
    figures.push_back({suites[i]->name(), peelers[i]->ok() ? ns[i] : 0,
                       clients[i]->ok() ? ns[suites.size() + i] : 0, deliver_ns[i]});
  }
  auto ratio = [](double base, double ours) { return ours > 0 ? base / ours : 0.0; };
  // aez's rows carry its speed-up over every other suite measured.
  for (const Figures& f : figures) {
    BenchResult peel{
        "cells." + f.name + ".peel", f.peel, "ns", {}, "per unrecognized cell at a relay"};
    BenchResult orig{
        "cells." + f.name + ".originate", f.originate, "ns", {}, "client to hop 3 of 3"};
    BenchResult del{"cells." + f.name + ".deliver", f.deliver, "ns", {}, "client from hop 3 of 3"};
    if (f.name == "aez") {
      for (const Figures& o : figures) {
        if (o.name == f.name) continue;
        peel.vs.emplace_back("cells." + o.name + ".peel", ratio(o.peel, f.peel));
        orig.vs.emplace_back("cells." + o.name + ".originate", ratio(o.originate, f.originate));
        del.vs.emplace_back("cells." + o.name + ".deliver", ratio(o.deliver, f.deliver));
      }
    }
    results.push_back(std::move(peel));
    results.push_back(std::move(orig));
    results.push_back(std::move(del));
  }
}

const bool registered = RegisterBenchGroup(
    {"cells", "per-cell peel / originate / deliver, every suite, aez vs the others", RunCellsBench,
     30});

}  // namespace
}  // namespace relaycell::tools
