#include "kernels/path_choice.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <span>
#include <string_view>

#include "hwy/highway.h"
#include "hwy/targets.h"
#include "kernels/calibration-inl.h"

namespace relaycell::kernels {
namespace {

struct FamilySpec {
  std::string_view unit;
  std::span<const RawKernel> raw;  // the raw kernels this family has
  double (*measure)(KernelPath);
};

constexpr RawKernel kVaes[] = {RawKernel::kVaes512, RawKernel::kVaes256};
constexpr RawKernel kGfni[] = {RawKernel::kGfni512, RawKernel::kGfni256};
constexpr RawKernel kVpclmul[] = {RawKernel::kVpclmul512, RawKernel::kVpclmul256};

const FamilySpec& Spec(KernelFamily family) {
  static const FamilySpec kSpecs[kKernelFamilies] = {
      {"block-rounds/ns", kVaes, &MeasureAesRounds},
      {"bytes/ns (509-byte cells, single and batched)", kVaes, &MeasureAezCore},
      {"bytes/ns (a cell's AD strings)", kVaes, &MeasureAezHash},
      {"bytes/ns (k=3 m=5 encode of 4 KiB rows)", kGfni, &MeasureGf256},
      {"bytes/ns (512-byte messages, batch of 4)", kVpclmul, &MeasurePolyval},
      {"bytes/ns (4 KiB)", {}, &MeasureOtpXor},
  };
  return kSpecs[static_cast<size_t>(family)];
}

// RELAYCELL_FORCE_PATH, parsed once: family -> path name, plus the first problem found.
struct ForcedPaths {
  std::map<KernelFamily, std::string> by_family;
  std::string error;
};

const ForcedPaths& Forced() {
  static const ForcedPaths forced = [] {
    ForcedPaths f;
    const char* env = std::getenv("RELAYCELL_FORCE_PATH");
    if (env == nullptr || *env == '\0') return f;
    std::string_view rest(env);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      const size_t colon = item.find(':');
      if (colon == std::string_view::npos) {
        if (f.error.empty()) {
          f.error = "RELAYCELL_FORCE_PATH: '" + std::string(item) + "' is not FAMILY:PATH";
        }
        continue;
      }
      const std::string_view family_name = item.substr(0, colon),
                             path_name = item.substr(colon + 1);
      const std::optional<KernelFamily> family = ParseFamily(family_name);
      if (!family) {
        if (f.error.empty()) {
          f.error = "RELAYCELL_FORCE_PATH: unknown family '" + std::string(family_name) +
                    "' (families: aes_rounds, aez_core, aez_hash, gf256, polyval, otp_xor)";
        }
        continue;
      }
      const std::optional<KernelPath> path = KernelPath::Parse(path_name);
      if (!path || !PathRunnable(*family, *path)) {
        if (f.error.empty()) {
          std::string runnable;
          for (KernelPath p : RunnablePaths(*family))
            runnable += (runnable.empty() ? "" : ", ") + p.Name();
          f.error = "RELAYCELL_FORCE_PATH: " + std::string(family_name) + " has no path '" +
                    std::string(path_name) + "' this CPU can run (it can run: " + runnable + ")";
        }
        continue;
      }
      f.by_family[*family] = std::string(path_name);
    }
    return f;
  }();
  return forced;
}

struct Slot {
  std::once_flag once;
  FamilyChoice choice;
};
Slot& SlotOf(KernelFamily family) {
  static Slot slots[kKernelFamilies];
  return slots[static_cast<size_t>(family)];
}

FamilyChoice Calibrate(KernelFamily family) {
  const FamilySpec& spec = Spec(family);
  FamilyChoice choice{family, KernelPath(), false, std::string(spec.unit), {}};
  const auto forced = Forced().by_family.find(family);
  if (forced != Forced().by_family.end()) {
    choice.chosen = *KernelPath::Parse(forced->second);
    choice.forced = true;
  }
  const std::vector<KernelPath> paths = RunnablePaths(family);
  for (KernelPath path : paths) choice.candidates.push_back({path, path.Name(), std::nullopt});
  if (choice.forced) return choice;
  // Rounds interleaved across the candidates; each keeps its best round.
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    for (PathCandidate& candidate : choice.candidates) {
      // By rule, not timed: Highway's portable fallback, never the fastest where a SIMD target
      // exists, and so slow that timing it would cost more than all the rest.
      const int64_t target = candidate.path.highway_target();
      if ((target == HWY_SCALAR || target == HWY_EMU128) && paths.size() > 1) continue;
      const double figure = spec.measure(candidate.path);
      candidate.figure = std::max(candidate.figure.value_or(0.0), figure);
    }
  }
  double best = -1;
  for (const PathCandidate& candidate : choice.candidates) {
    if (candidate.figure && *candidate.figure > best) {
      best = *candidate.figure;
      choice.chosen = candidate.path;
    }
  }
  return choice;
}

}  // namespace

std::vector<KernelPath> RunnablePaths(KernelFamily family) {
  std::vector<KernelPath> paths;
  for (RawKernel raw : Spec(family).raw) {
    if (RawKernelUsable(raw)) paths.push_back(KernelPath::Raw(raw));
  }
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    paths.push_back(KernelPath::Highway(target));
  }
  return paths;
}

bool PathRunnable(KernelFamily family, KernelPath path) {
  for (KernelPath p : RunnablePaths(family)) {
    if (p == path) return true;
  }
  return false;
}

const FamilyChoice& Choice(KernelFamily family) {
  Slot& slot = SlotOf(family);
  std::call_once(slot.once, [&] {
    slot.choice = Calibrate(family);
    detail::chosen_path_codes[static_cast<size_t>(family)].store(slot.choice.chosen.code(),
                                                                 std::memory_order_release);
  });
  return slot.choice;
}

std::string ForcedPathError() { return Forced().error; }

namespace detail {
KernelPath ChooseSlow(KernelFamily family) { return Choice(family).chosen; }
}  // namespace detail

}  // namespace relaycell::kernels
