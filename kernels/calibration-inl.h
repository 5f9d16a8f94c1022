// Private to kernels/: each family's calibration workload (defined beside the family's code)
// and the timer they share. Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_CALIBRATION_INL_H_
#define RELAYCELL_KERNELS_CALIBRATION_INL_H_

#include <algorithm>
#include <chrono>
#include <cstddef>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

// Each returns the family's figure for `path` (units per ns, higher is faster) on a fixed
// workload of the family's hot shape. `path` is runnable here.
double MeasureAesRounds(KernelPath path);
double MeasureAezCore(KernelPath path);
double MeasureAezHash(KernelPath path);
double MeasureGf256(KernelPath path);
double MeasurePolyval(KernelPath path);
double MeasureOtpXor(KernelPath path);

// units / ns of the best of three short trials of `call` (each about 10 µs after a warm-up),
// so a preempted trial does not decide. The calibration also interleaves rounds of these
// across the candidates, so a burst of load elsewhere does not favour one of them. `units` is what one call does.
template <class Call>
double BestRate(double units, Call call) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) call();  // warm caches, frequency and the branch predictor
  size_t reps = 1;
  for (;;) {  // reps so that a trial lasts at least 10 µs
    const auto start = Clock::now();
    for (size_t r = 0; r < reps; ++r) call();
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (ns >= 10'000 || reps >= (size_t{1} << 20)) break;
    reps *= 2;
  }
  double best_ns = 1e300;
  for (int trial = 0; trial < 3; ++trial) {
    const auto start = Clock::now();
    for (size_t r = 0; r < reps; ++r) call();
    best_ns =
        std::min(best_ns, std::chrono::duration<double, std::nano>(Clock::now() - start).count());
  }
  return units * static_cast<double>(reps) / std::max(best_ns, 1.0);
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_CALIBRATION_INL_H_
