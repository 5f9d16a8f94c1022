#include "kernels/targets.h"

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace relaycell::kernels {

std::vector<std::string> SupportedTargetNames() {
  std::vector<std::string> names;
  for (int64_t target : hwy::SupportedAndGeneratedTargets())
    names.emplace_back(hwy::TargetName(target));
  return names;
}

int64_t BestHighwayTarget() {
  const auto targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? HWY_STATIC_TARGET : targets.front();
}

std::string ChosenTargetName() {
  const auto targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? std::string("none") : std::string(hwy::TargetName(targets.front()));
}

}  // namespace relaycell::kernels
