// `relaycell bench` groups: each group registers a function that measures and appends results.
// A ratio in `vs` is how many times faster we are than the baseline, measured in the same run
// (> 1 means faster).
#ifndef RELAYCELL_TOOLS_BENCH_H_
#define RELAYCELL_TOOLS_BENCH_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relaycell::tools {

struct BenchResult {
  std::string name;                                // e.g. "kernels.otp_xor"
  double value = 0;                                // in `unit`
  std::string unit;                                // e.g. "GB/s", "ns", "ns/cell"
  std::vector<std::pair<std::string, double>> vs;  // baseline name -> speed ratio
  std::string note;                                // optional, shown in the table only
};

struct BenchConfig {
  double min_time_s = 0.25;  // per measurement
  bool quick = false;        // a short summary run (no-argument `relaycell bench`)
  size_t circuits = 10000;
  int hops = 3;
  size_t cells = 0;  // 0: the group's default
  int workers = -1;  // -1: the group's default (engine: all cores; net: the relays' config)
  std::string suite = "all";  // aez, tor1 or all
};

using BenchGroupFn = void (*)(const BenchConfig& config, std::vector<BenchResult>& results);

struct BenchGroup {
  std::string_view name;
  std::string_view summary;
  BenchGroupFn run;
  int order;  // groups run in ascending order
};

bool RegisterBenchGroup(const BenchGroup& group);

// Keeps the optimizer from deleting work whose result is unused.
template <class T>
inline void DoNotOptimize(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}
inline void ClobberMemory() { asm volatile("" : : : "memory"); }

// Several bodies measured in alternation: many short trials (about kTrialSeconds each) taking
// turns, the fastest trial kept per body. A noisy neighbour on this VM's other hyperthread can
// halve the AES units' throughput for tens of milliseconds at a time; short trials find the
// quiet stretches, and alternation makes ours and the baseline see the same ones, so their ratio
// stays put.
inline std::vector<double> NsPerOpInterleaved(
    const std::vector<std::function<void(size_t)>>& bodies, double min_time_s) {
  using Clock = std::chrono::steady_clock;
  constexpr double kTrialSeconds = 0.004;
  constexpr int kMinRounds = 9;
  const double trial_s = std::min(kTrialSeconds, std::max(min_time_s, 1e-4) / kMinRounds);
  const double budget_s = min_time_s * double(bodies.size());
  std::vector<size_t> iterations(bodies.size(), 1);
  std::vector<double> best(bodies.size(), 1e300);
  for (size_t b = 0; b < bodies.size(); ++b) {  // size each body's trial (and warm it up)
    for (;;) {
      const auto start = Clock::now();
      bodies[b](iterations[b]);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (seconds >= trial_s || iterations[b] > (size_t{1} << 40)) break;
      const double grow = seconds > 0 ? trial_s / seconds * 1.2 : 10.0;
      iterations[b] = size_t(double(iterations[b]) * std::min(std::max(grow, 1.5), 100.0)) + 1;
    }
  }
  double spent_s = 0;
  for (int round = 0; round < kMinRounds || spent_s < budget_s; ++round) {
    for (size_t b = 0; b < bodies.size(); ++b) {
      const auto start = Clock::now();
      bodies[b](iterations[b]);
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      best[b] = std::min(best[b], seconds * 1e9 / double(iterations[b]));
      spent_s += seconds;
    }
  }
  return best;
}

// One body alone, measured the same way: the fastest of many short trials.
template <class Body>
double NsPerOp(Body&& body, double min_time_s) {
  return NsPerOpInterleaved({[&](size_t n) { body(n); }}, min_time_s)[0];
}

// The `kernels.aes_rounds` workload, which `aez.floor` divides by: Run(n) makes n calls of the
// AES-round kernel on AEZ's shape (28 blocks x 4 rounds), independent of each other as the
// AES-CTR calls it is compared with are. (Chaining them through a byte of the output, as
// before, measured a store-forwarding stall between calls, not the kernel: 8.8 against 9.7
// block-rounds/ns on Sapphire Rapids.)
class AesRoundsWorkload {
 public:
  static constexpr size_t kBlocks = 28, kRounds = 4;
  static constexpr double kBlockRounds = double(kBlocks * kRounds);
  AesRoundsWorkload();
  void Run(size_t n);

 private:
  std::vector<uint8_t> in_, offsets_, keys_, out_;
};

// TSC ticks per nanosecond (the "cycles" of cycles-per-byte figures).
double TscTicksPerNs();

}  // namespace relaycell::tools

#endif  // RELAYCELL_TOOLS_BENCH_H_
