// Shared by the kernel tests: run a check once per Highway target, and hex vectors.
#ifndef RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_
#define RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"

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

inline std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_TESTS_KERNEL_TEST_UTIL_H_
