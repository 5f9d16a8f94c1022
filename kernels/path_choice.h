// The path each kernel family runs, chosen once per process by timing every path this CPU can
// run on a small workload of the family's own hot shape (a 509-byte cell, a 4 KiB share, ...)
// and keeping the fastest. RELAYCELL_FORCE_PATH=FAMILY:PATH[,FAMILY:PATH...] overrides the
// choice; ScopedPathOverride forces one family's path on the calling thread (tests run every
// path through the same entry points the engine uses).
#ifndef RELAYCELL_KERNELS_PATH_CHOICE_H_
#define RELAYCELL_KERNELS_PATH_CHOICE_H_

#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

struct PathCandidate {
  KernelPath path;
  std::string name;
  std::optional<double>
      figure;  // the calibration's figure (unit: FamilyChoice::unit); none if forced
};

struct FamilyChoice {
  KernelFamily family;
  KernelPath chosen;
  bool forced = false;  // by RELAYCELL_FORCE_PATH
  std::string unit;     // what the figures count, higher is faster
  std::vector<PathCandidate> candidates;
};

// Every path of the family this CPU can run: the raw kernels first, then Highway's compiled
// and supported targets, best first.
std::vector<KernelPath> RunnablePaths(KernelFamily family);
bool PathRunnable(KernelFamily family, KernelPath path);

// The family's choice, calibrating on first call (a millisecond or so per family).
const FamilyChoice& Choice(KernelFamily family);

// Empty when RELAYCELL_FORCE_PATH is unset or names only known families and paths this CPU
// can run; otherwise a sentence saying what is wrong. Front ends check it before any work and
// exit 2; the kernels themselves ignore a bad entry and calibrate.
std::string ForcedPathError();

namespace detail {
inline std::array<std::atomic<uint16_t>, kKernelFamilies> chosen_path_codes{};
inline thread_local std::array<uint16_t, kKernelFamilies> thread_path_codes{};
KernelPath ChooseSlow(KernelFamily family);
}  // namespace detail

// The path a family's automatic entry point runs now: this thread's override, else the
// process-wide choice. Two loads on the hot path once chosen.
inline KernelPath ActivePath(KernelFamily family) {
  const size_t i = static_cast<size_t>(family);
  if (const uint16_t code = detail::thread_path_codes[i]; code != 0) {
    return KernelPath::FromCode(code);
  }
  if (const uint16_t code = detail::chosen_path_codes[i].load(std::memory_order_acquire);
      code != 0) {
    return KernelPath::FromCode(code);
  }
  return detail::ChooseSlow(family);
}

// Forces `path` for `family` on this thread for the object's lifetime (tests, benches).
class ScopedPathOverride {
 public:
  ScopedPathOverride(KernelFamily family, KernelPath path)
      : index_(static_cast<size_t>(family)), saved_(detail::thread_path_codes[index_]) {
    detail::thread_path_codes[index_] = path.code();
  }
  ~ScopedPathOverride() { detail::thread_path_codes[index_] = saved_; }
  ScopedPathOverride(const ScopedPathOverride&) = delete;
  ScopedPathOverride& operator=(const ScopedPathOverride&) = delete;

 private:
  size_t index_;
  uint16_t saved_;
};

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_PATH_CHOICE_H_
