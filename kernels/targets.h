// Which Highway targets this build compiled, and which one runs on this CPU.
#ifndef RELAYCELL_KERNELS_TARGETS_H_
#define RELAYCELL_KERNELS_TARGETS_H_

#include <string>
#include <vector>

namespace relaycell::kernels {

// Names of the compiled targets this CPU supports, best first (e.g. "AVX3_DL", "AVX2").
std::vector<std::string> SupportedTargetNames();
// The target dynamic dispatch picks here.
std::string ChosenTargetName();

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_TARGETS_H_
