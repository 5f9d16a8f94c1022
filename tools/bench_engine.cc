// `relaycell bench engine` (the main job of `relaycell bench`): the pipelines on many circuits,
// every registered suite in one run (aez's rows carry its speed-up over the others).
//   engine.<suite>.peel       RelayPipeline: forward cells at a middle relay (unrecognized: passed
//                             on), `circuits` circuits drawn at random (`cells` draws), the
//                             cells hot in cache as from an in-queue, one core, batches of 64
//   engine.<suite>.originate  ClientPipeline: a cell to hop `hops` of `hops` (all layers)
//   engine.<suite>.deliver    ClientPipeline: a cell from hop `hops` back (all layers off)
//   engine.scaling            ShardedPipeline throughput, 2 workers ÷ 1 (host thread included)
//   engine.<suite>.overhead   engine.<suite>.peel ÷ RelayCircuit::HandleForward on one hot
//                             circuit, same run: what the pipeline adds to the cell layer
//   engine.batch_gain         RelayPipeline fed batches of 64 ÷ batches of 1, same cells
//   engine.bytes_per_circuit  summed sizes per aez relay circuit at 100,000 circuits (RSS
//                             delta in the note)
//   engine.circuit_setup      one kOpen: KDF, key setup both directions, table inserts
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unordered_set>

#include "circuit/pipeline/client_pipeline.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/relay_header.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "engine/suite/aez_layer.h"
#include "tools/bench.h"
#include "engine/suite/suite_registry.h"

namespace relaycell::tools {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBatch = 64;
constexpr uint32_t kClientChannel = 1;
constexpr uint32_t kNextChannel = 2;
constexpr double kPayloadBits = kCellBodyBytes * 8.0;

std::vector<uint8_t> Seed(SuiteId suite, size_t circuit, int hop) {
  std::vector<uint8_t> seed(FindSuite(suite)->min_seed_bytes());
  uint64_t x = circuit * 0x9e3779b97f4a7c15ull + uint64_t(hop) * 0xbf58476d1ce4e5b9ull + 1;
  for (auto& b : seed) {
    x ^= x >> 31, x *= 0x94d049bb133111ebull;
    b = uint8_t(x >> 56);
  }
  return seed;
}

std::string Rate(double ns_per_cell) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.2f Mcells/s, %.2f Gbit/s", 1e3 / ns_per_cell,
                kPayloadBits / ns_per_cell);
  return buf;
}

// Middle-relay circuits: client side (kClientChannel, 1 + i), next side (kNextChannel, ...).
std::vector<InCell> RelayOpens(SuiteId suite, size_t circuits,
                               const ShardedPipeline* engine = nullptr) {
  std::vector<InCell> opens(circuits);
  std::unordered_set<uint32_t> used;  // next-side ids must be distinct on the channel
  for (size_t i = 0; i < circuits; ++i) {
    const uint32_t id = 1 + uint32_t(i);
    uint32_t next_id = 0x80000000u | id;
    if (engine != nullptr) {  // both sides on the same worker
      const size_t shard = engine->ShardOf({kClientChannel, id});
      next_id =
          engine->PickCircIdForShard(kNextChannel, shard, 0x80000000u | (id * 8), 0x80000000u);
      while (!used.insert(next_id).second) {
        next_id = engine->PickCircIdForShard(kNextChannel, shard, next_id + 1, 0x80000000u);
      }
    }
    const auto seed = Seed(suite, i, 1);
    EncodeRelayOpen(kClientChannel, id, {suite, kNextChannel, next_id, seed}, opens[i]);
  }
  return opens;
}

// Forward cells at random circuits, random bodies: unrecognized at a middle relay.
std::vector<InCell> PeelCells(size_t circuits, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<InCell> cells(count);
  for (InCell& in : cells) {
    in.channel = kClientChannel;
    WriteCellHeader(1 + uint32_t(rng() % circuits), CellCommand::kRelay, in.cell.span());
    for (size_t i = 0; i < kCellBodyBytes; i += 8) {
      const uint64_t r = rng();
      for (size_t j = 0; j < 8 && i + j < kCellBodyBytes; ++j)
        in.cell.payload()[i + j] = uint8_t(r >> (8 * j));
    }
  }
  return cells;
}

std::unique_ptr<RelayPipeline> MakeRelay(SuiteId suite, size_t circuits) {
  RelayPipelineConfig config;
  config.max_circuits = circuits;
  auto engine = std::make_unique<RelayPipeline>(config);
  DirectOutput sink(false);
  const auto opens = RelayOpens(suite, circuits);
  for (size_t at = 0; at < opens.size(); at += kBatch) {
    engine->ProcessBatch(std::span(opens).subspan(at, std::min(kBatch, opens.size() - at)),
                         sink.output());
  }
  return engine;
}

// Peels forward cells at random circuits. The cells arrive hot, as they do from a shard's
// in-queue or the TLS layer: their bodies come from a pool of kPeelPool cells (one default
// in-queue), and before each batch the host-side step stamps the next random circ_ids (of
// `circuit_ids`, drawn over all circuits) into them, so every circuit's key state is visited
// in random order while the input bytes stay in cache.
constexpr size_t kPeelPool = 1024;
// `batch`: the host's batches (kBatch as a relay's host hands them over; 1 for one cell at a
// time through the same path).
double PeelNs(RelayPipeline& engine, std::span<const uint32_t> circuit_ids, double min_time_s,
              size_t batch = kBatch) {
  auto pool = PeelCells(1, kPeelPool, 5);
  DirectOutput sink(false);
  size_t next_id = 0, at = 0;
  return NsPerOp(
      [&](size_t iterations) {
        for (size_t done = 0; done < iterations;) {
          const size_t n = std::min({batch, iterations - done, pool.size() - at});
          for (size_t j = 0; j < n; ++j) {
            WriteCellHeader(circuit_ids[next_id], CellCommand::kRelay, pool[at + j].cell.span());
            next_id = next_id + 1 == circuit_ids.size() ? 0 : next_id + 1;
          }
          engine.ProcessBatch(std::span<const InCell>(pool).subspan(at, n), sink.output());
          done += n;
          at = (at + n) % pool.size();
        }
        DoNotOptimize(sink.count());
      },
      min_time_s);
}

std::vector<uint32_t> RandomCircuitIds(size_t circuits, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> ids(count);
  for (uint32_t& id : ids) id = 1 + uint32_t(rng() % circuits);
  return ids;
}

// Client side: `circuits` circuits of `hops` hops, with the relays that answer them.
struct ClientSide {
  ClientPipeline engine;
  std::vector<std::vector<RelayCircuit>> relays;
  explicit ClientSide(size_t circuits) : engine({.max_circuits = circuits}) {}
};

std::unique_ptr<ClientSide> MakeClient(SuiteId kind, size_t circuits, int hops) {
  auto side = std::make_unique<ClientSide>(circuits);
  const CellSuite& suite = *FindSuite(kind);
  side->relays.resize(circuits);
  DirectOutput sink(false);
  for (size_t i = 0; i < circuits; ++i) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 1; h <= hops; ++h) seeds.push_back(Seed(kind, i, h));
    for (auto& s : seeds) views.emplace_back(s);
    InCell open;
    EncodeClientOpen(kClientChannel, 1 + uint32_t(i), {kind, views}, open);
    side->engine.ProcessBatch(std::span(&open, 1), sink.output());
    side->relays[i].resize(size_t(hops));
    for (int h = 0; h < hops; ++h) {
      RelayCircuit::Create(suite, seeds[size_t(h)], 10 + uint32_t(h),
                           h + 1 < hops ? 11 + uint32_t(h) : 0, side->relays[i][size_t(h)]);
    }
  }
  return side;
}

InCell OriginateItem(SuiteId kind, uint32_t circ_id, int hop) {
  InCell in;
  in.channel = kClientChannel;
  in.kind = InKind::kOriginate;
  in.hop = uint8_t(hop);
  WriteCellHeader(circ_id, CellCommand::kRelay, in.cell.span());
  const RelayFormat& format = FindSuite(kind)->relay_format();
  std::vector<uint8_t> data(format.max_data(uint8_t(RelayCommand::kData)), 0x5a);
  BuildRelayPayload(format, {RelayCommand::kData, 1, uint16_t(data.size())}, data,
                    in.cell.payload());
  return in;
}

double OriginateNs(ClientSide& side, SuiteId kind, size_t circuits, int hops, double min_time_s) {
  std::mt19937_64 rng(7);
  std::vector<InCell> cells(4096);
  for (InCell& in : cells) in = OriginateItem(kind, 1 + uint32_t(rng() % circuits), hops);
  DirectOutput sink(false);
  size_t at = 0;
  return NsPerOp(
      [&](size_t iterations) {
        for (size_t done = 0; done < iterations;) {
          const size_t n = std::min({kBatch, iterations - done, cells.size() - at});
          side.engine.ProcessBatch(std::span(cells).subspan(at, n), sink.output());
          done += n;
          at = (at + n) % cells.size();
        }
        DoNotOptimize(sink.count());
      },
      min_time_s);
}

// Cells from the last hop, layered by every relay on the way: each can be received once, so
// a round makes a fresh set (untimed) and times its delivery. Best of `rounds`.
double DeliverNs(ClientSide& side, SuiteId kind, size_t circuits, int hops, size_t cells_per_round,
                 int rounds) {
  std::mt19937_64 rng(11);
  std::vector<uint8_t> data(FindSuite(kind)->relay_format().max_data(uint8_t(RelayCommand::kData)),
                            0xa5);
  std::vector<InCell> cells(cells_per_round);
  double best = 1e300;
  DirectOutput sink(false);
  for (int round = 0; round < rounds; ++round) {
    for (InCell& in : cells) {
      const size_t i = rng() % circuits;
      auto& relays = side.relays[i];
      in.channel = kClientChannel;
      in.kind = InKind::kCell;
      relays[size_t(hops - 1)].Originate({RelayCommand::kData, 1, uint16_t(data.size())}, data,
                                         in.cell.span());
      for (int h = hops - 2; h >= 0; --h) relays[size_t(h)].HandleBackward(in.cell.span());
      WriteCellHeader(1 + uint32_t(i), CellCommand::kRelay, in.cell.span());
    }
    const auto start = Clock::now();
    for (size_t at = 0; at < cells.size(); at += kBatch) {
      side.engine.ProcessBatch(std::span(cells).subspan(at, std::min(kBatch, cells.size() - at)),
                               sink.output());
    }
    DoNotOptimize(sink.count());
    best = std::min(best, std::chrono::duration<double, std::nano>(Clock::now() - start).count() /
                              double(cells.size()));
  }
  return best;
}

// Cells per second through a ShardedPipeline with `workers` workers, the host submitting and
// polling on its own thread and parking in WaitForProgress when it can do neither (on a
// machine with one core per worker a spinning host would run on a worker's core).
double ShardedCellsPerSecond(SuiteId suite, size_t circuits, size_t workers, size_t total_cells) {
  constexpr std::chrono::microseconds kWaitTimeout{1000};
  ShardedPipelineConfig config;
  config.workers = workers;
  config.shard.queue_capacity = 4096;
  ShardedPipeline engine(config, [&](size_t) {
    return std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = circuits});
  });
  uint64_t polled = 0;
  auto sink = [&](std::span<const OutItem> items) { polled += items.size(); };
  auto submit_all = [&](std::span<const InCell> items) {
    while (!items.empty()) {
      const size_t accepted = engine.Submit(items);
      items = items.subspan(accepted);
      if (engine.Poll(sink) == 0 && accepted == 0) engine.WaitForProgress(kWaitTimeout);
    }
  };
  submit_all(RelayOpens(suite, circuits, &engine));
  // As in PeelNs: the host's cells are hot (fresh from its TLS layer), their circuits random
  // over all of them, so the workers still visit every circuit's key state.
  auto pool = PeelCells(1, kPeelPool, 3);
  const auto circuit_ids = RandomCircuitIds(circuits, 65536, 3);
  size_t next_id = 0;
  const size_t opens_out = polled;
  const auto start = Clock::now();
  for (size_t done = 0; done < total_cells; done += pool.size()) {
    for (InCell& in : pool) {
      WriteCellHeader(circuit_ids[next_id], CellCommand::kRelay, in.cell.span());
      next_id = next_id + 1 == circuit_ids.size() ? 0 : next_id + 1;
    }
    submit_all(pool);
  }
  engine.Stop(sink);  // drains: every accepted cell processed, every output polled
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return double(polled - opens_out) / seconds;
}

// Cells per second of `threads` RelayPipelines run directly on their own threads (each with its
// share of the circuits and its own hot cells, no queues, no host): what the cores themselves
// give, beside ShardedCellsPerSecond's whole pipeline.
double DirectCellsPerSecond(SuiteId suite, size_t circuits, size_t threads, size_t total_cells) {
  const size_t share = std::max<size_t>(1, circuits / threads);
  std::vector<std::unique_ptr<RelayPipeline>> engines;
  for (size_t t = 0; t < threads; ++t) engines.push_back(MakeRelay(suite, share));
  std::atomic<size_t> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> seconds(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto pool = PeelCells(1, kPeelPool, 7 + t);
      const auto ids = RandomCircuitIds(share, 65536, 9 + t);
      DirectOutput sink(false);
      size_t next_id = 0;
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const auto start = Clock::now();
      for (size_t done = 0; done < total_cells / threads; done += kBatch) {
        const size_t at = done % pool.size();
        for (size_t j = 0; j < kBatch; ++j) {
          WriteCellHeader(ids[next_id], CellCommand::kRelay, pool[at + j].cell.span());
          next_id = next_id + 1 == ids.size() ? 0 : next_id + 1;
        }
        engines[t]->ProcessBatch(std::span<const InCell>(pool).subspan(at, kBatch), sink.output());
      }
      DoNotOptimize(sink.count());
      seconds[t] = std::chrono::duration<double>(Clock::now() - start).count();
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& w : workers) w.join();
  return double(total_cells / threads / kBatch * kBatch * threads) /
         *std::max_element(seconds.begin(), seconds.end());
}

// RelayCircuit::HandleForward on one hot circuit: the cell layer alone, as `cells` measures it.
double OneCircuitPeelNs(const CellSuite& suite, double min_time_s) {
  const std::vector<uint8_t> seed = Seed(suite.id(), 0, 1);
  // No rekey falls inside the timed loop (as in `cells`); the enforcement check still runs.
  RekeyConfig rekey;
  rekey.first = rekey.interval = uint64_t{1} << 36;
  RelayCircuit circuit;
  if (RelayCircuit::Create(suite, seed, 1, 2, rekey, RekeyEnforcer::Mode::kEnforce, circuit) !=
      SuiteError::kOk) {
    return 0;
  }
  std::array<uint8_t, kCellBytes> cell{};
  for (size_t i = 0; i < cell.size(); ++i) cell[i] = uint8_t(i * 7 + 3);
  size_t not_forwarded = 0;
  const double ns = NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          WriteCellHeader(1, CellCommand::kRelay, cell);
          not_forwarded += circuit.HandleForward(cell).outcome != CellOutcome::kForward;
        }
        DoNotOptimize(cell[0]);
      },
      min_time_s);
  return not_forwarded == 0 ? ns : 0;
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

void Run(const BenchConfig& config, std::vector<BenchResult>& results) {
  const size_t circuits = config.circuits;
  const int hops = config.hops;
  const bool quick = config.quick;
  const double min_time = config.min_time_s;
  const size_t peel_cells = config.cells != 0 ? config.cells : 65536;
  const auto cells = RandomCircuitIds(circuits, peel_cells, 1);

  struct Figures {
    const CellSuite* suite;
    double peel = 0, originate = 0, deliver = 0, one_circuit_peel = 0;
  };
  std::vector<Figures> figures;
  for (const CellSuite* suite : AllSuites()) {
    if (config.suite != "all" && config.suite != suite->name()) continue;
    Figures& f = figures.emplace_back(Figures{suite});
    {
      auto relay = MakeRelay(suite->id(), circuits);
      f.peel = PeelNs(*relay, cells, min_time);
      f.one_circuit_peel = OneCircuitPeelNs(*suite, min_time);
    }
    auto client = MakeClient(suite->id(), circuits, hops);
    f.originate = OriginateNs(*client, suite->id(), circuits, hops, min_time);
    f.deliver = DeliverNs(*client, suite->id(), circuits, hops, quick ? 8192 : 32768, 3);
  }
  auto add = [&](std::string name, double value, const char* unit,
                 std::vector<std::pair<std::string, double>> vs, std::string note) {
    BenchResult r{std::move(name), value, unit, {}, std::move(note)};
    for (auto& [baseline, baseline_value] : vs) {
      if (baseline_value > 0 && value > 0) r.vs.emplace_back(baseline, baseline_value / value);
    }
    results.push_back(std::move(r));
  };
  // aez's rows carry its speed-up over every other suite measured.
  for (const Figures& f : figures) {
    const std::string name = f.suite->name();
    std::vector<std::pair<std::string, double>> peel_vs, originate_vs, deliver_vs;
    if (name == "aez") {
      for (const Figures& o : figures) {
        if (&o == &f) continue;
        const std::string other = o.suite->name();
        peel_vs.emplace_back("engine." + other + ".peel", o.peel);
        originate_vs.emplace_back("engine." + other + ".originate", o.originate);
        deliver_vs.emplace_back("engine." + other + ".deliver", o.deliver);
      }
    }
    char per_layer[64];
    std::snprintf(per_layer, sizeof per_layer, "%.1f ns/layer, ", f.originate / hops);
    add("engine." + name + ".peel", f.peel, "ns/cell", peel_vs, Rate(f.peel));
    add("engine." + name + ".originate", f.originate, "ns/cell", originate_vs,
        per_layer + Rate(f.originate));
    add("engine." + name + ".deliver", f.deliver, "ns/cell", deliver_vs, Rate(f.deliver));
    char note[200];
    std::snprintf(note, sizeof note,
                  "engine peel %.1f ns at %zu circuits / RelayCircuit::HandleForward %.1f ns on "
                  "one hot circuit, same run: the pipeline's own cost (goal <= 1.25)",
                  f.peel, circuits, f.one_circuit_peel);
    add("engine." + name + ".overhead", f.one_circuit_peel > 0 ? f.peel / f.one_circuit_peel : 0,
        "x", {}, note);
  }
  const SuiteId main_suite = figures.empty() ? kAezSuiteId : figures.front().suite->id();

  // Scaling: the same cells through 1 and 2 workers (or `workers`, if given).
  {
    const size_t total = quick ? 200000 : 600000;
    const size_t many = config.workers > 0 ? size_t(config.workers) : 2;
    // Best of a few runs, alternating, so a neighbour's burst on this shared machine does not
    // land on one side of the ratio only.
    const int rounds = quick ? 2 : 3;
    double one = 0, two = 0, direct_one = 0, direct_two = 0;
    for (int round = 0; round < rounds; ++round) {
      one = std::max(one, ShardedCellsPerSecond(main_suite, circuits, 1, total));
      two = std::max(two, ShardedCellsPerSecond(main_suite, circuits, many, total));
      direct_one = std::max(direct_one, DirectCellsPerSecond(main_suite, circuits, 1, total));
      direct_two = std::max(direct_two, DirectCellsPerSecond(main_suite, circuits, many, total));
    }
    char note[300];
    std::snprintf(note, sizeof note,
                  "%zu workers %.2f Mcells/s vs 1 worker %.2f Mcells/s, %s, best of %d; host "
                  "thread included, parked when idle; engines alone on %zu threads: %.2fx",
                  many, two / 1e6, one / 1e6, FindSuite(main_suite)->name(), rounds, many,
                  direct_two / direct_one);
    add("engine.scaling", two / one, "x", {}, note);
  }

  // Batch gain: the same cells through the one path, handed over 64 at a time or one by one.
  {
    auto batched = MakeRelay(main_suite, circuits);
    auto single = MakeRelay(main_suite, circuits);
    const double b = PeelNs(*batched, cells, min_time);
    const double o = PeelNs(*single, cells, min_time, 1);
    char note[200];
    std::snprintf(note, sizeof note,
                  "batches of %zu %.1f ns/cell, batches of 1 %.1f ns/cell; in batches: lookups and "
                  "key prefetch ahead, layers of up to 64 circuits in one LayerBatch",
                  kBatch, b, o);
    add("engine.batch_gain", o / b, "x", {}, note);
  }

  // Memory and setup: 100,000 aez relay circuits.
  {
    constexpr size_t kCount = 100000;
    const auto opens = RelayOpens(kAezSuiteId, kCount);
    const size_t before = ResidentBytes();
    RelayPipelineConfig rc;
    rc.max_circuits = kCount;
    auto engine = std::make_unique<RelayPipeline>(rc);
    DirectOutput sink(false);
    const auto start = Clock::now();
    for (size_t at = 0; at < opens.size(); at += kBatch) {
      engine->ProcessBatch(std::span(opens).subspan(at, std::min(kBatch, opens.size() - at)),
                           sink.output());
    }
    const double setup_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / double(kCount);
    const size_t after = ResidentBytes();
    // Summed sizes: the key arena reuses slots freed by the runs above, so the RSS delta
    // undercounts; the sum is what a fresh process holds. Heap: the AezRelay object (two
    // pointers) and its malloc header.
    const double tables = double(engine->MemoryBytes()) / kCount;
    const double slots = 2.0 * double(AezCellDirection::Arena().slot_bytes());
    const double heap = 32 + 16;
    char note[256];
    std::snprintf(note, sizeof note,
                  "summed: tables+circuit array %.0f B, 2 key slots %.0f B, heap %.0f B; "
                  "RSS delta %.0f B; %zu open; key slabs not locked: %zu",
                  tables, slots, heap, double(after - before) / double(kCount),
                  engine->open_circuits(), AezCellDirection::Arena().unlocked_slabs());
    add("engine.bytes_per_circuit", tables + slots + heap, "bytes", {}, note);
    add("engine.circuit_setup", setup_ns, "ns", {},
        "aez relay hop: KDF, 2 key setups, table insert");
  }
}

const bool registered = RegisterBenchGroup(
    {"engine", "batched relay/client engines on many circuits (the main job)", Run, 50});

}  // namespace
}  // namespace relaycell::tools
