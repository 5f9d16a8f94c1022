// Shared by the kernel tests: run a check once per Highway target, and hex vectors.
#ifndef RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_
#define RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "kernels/kernel_path.h"
#include "kernels/path_choice.h"

namespace relaycell::kernels {

// Runs body once per Highway target this CPU supports, with dispatch forced to that target, so
// a bug on one target is not hidden by a pass on the best one.
template <class Body>
void ForEachTarget(Body body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
  hwy::GetChosenTarget().DeInit();
}

// Runs body(path) once per path of `family` this CPU can run (raw kernels and every Highway
// target), with the family's automatic entry points forced to that path on this thread, so
// the calibration's choice does not hide a bug on another path.
template <class Body>
void ForEachPath(KernelFamily family, Body body) {
  const std::vector<KernelPath> paths = RunnablePaths(family);
  ASSERT_FALSE(paths.empty());
  for (KernelPath path : paths) {
    ScopedPathOverride force(family, path);
    SCOPED_TRACE(std::string(FamilyName(family)) + " path " + path.Name());
    body(path);
  }
}

// The raw kernels of a family this CPU cannot run: their tests skip, and these paths must be
// refused (nothing written) rather than crash.
inline std::vector<KernelPath> UnrunnableRawPaths(std::initializer_list<RawKernel> raws) {
  std::vector<KernelPath> out;
  for (RawKernel raw : raws) {
    if (!RawKernelUsable(raw)) out.push_back(KernelPath::Raw(raw));
  }
  return out;
}

inline std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_
