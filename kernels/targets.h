// Which Highway targets this build compiled, and which one runs on this CPU.
#ifndef RELAYCELL_KERNELS_TARGETS_H_
#define RELAYCELL_KERNELS_TARGETS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace relaycell::kernels {

// Names of the compiled targets this CPU supports, best first (e.g. "AVX3_DL", "AVX2").
std::vector<std::string> SupportedTargetNames();
// The best compiled target this CPU supports (what HWY_DYNAMIC_DISPATCH would pick), and its name.
int64_t BestHighwayTarget();
std::string ChosenTargetName();

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_TARGETS_H_
