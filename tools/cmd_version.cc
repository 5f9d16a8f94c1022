#include <cstdio>

#include "kernels/targets.h"
#include "tools/command.h"

namespace relaycell::tools {
namespace {

int RunVersion(Args args) {
  std::printf("relaycell %s\n", RELAYCELL_VERSION_STRING);
  std::printf("highway targets (compiled, supported here):");
  for (const auto& name : kernels::SupportedTargetNames()) std::printf(" %s", name.c_str());
  std::printf("\nhighway target chosen: %s\n", kernels::ChosenTargetName().c_str());
  return kExitOk;
}

const bool registered = RegisterCommand(
    {"version", "print the version and the SIMD targets compiled in and chosen here",
     "relaycell version", RunVersion});

}  // namespace
}  // namespace relaycell::tools
