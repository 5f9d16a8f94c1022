#include <sys/resource.h>

#include <cstdio>

#include "engine/aez_layer.h"
#include "kernels/targets.h"
#include "tools/command.h"

namespace relaycell::tools {
namespace {

int RunVersion(Args args) {
  std::printf("relaycell %s\n", RELAYCELL_VERSION_STRING);
  std::printf("highway targets (compiled, supported here):");
  for (const auto& name : kernels::SupportedTargetNames()) std::printf(" %s", name.c_str());
  std::printf("\nhighway target chosen: %s\n", kernels::ChosenTargetName().c_str());
  // Keys live in locked memory only as far as the kernel allows (engine/key_arena.h).
  rlimit memlock{};
  if (getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
    if (memlock.rlim_cur == RLIM_INFINITY) {
      std::printf("locked memory for keys: unlimited\n");
    } else {
      const double per_circuit = 2.0 * double(AezCellDirection::Arena().slot_bytes());
      std::printf("locked memory for keys: %.1f MiB (RLIMIT_MEMLOCK; without CAP_IPC_LOCK about "
                  "%.0f aez relay circuits; raise it, e.g. systemd LimitMEMLOCK=, for more)\n",
                  double(memlock.rlim_cur) / (1 << 20), double(memlock.rlim_cur) / per_circuit);
    }
  }
  return kExitOk;
}

const bool registered = RegisterCommand(
    {"version", "print the version and the SIMD targets compiled in and chosen here",
     "relaycell version", RunVersion});

}  // namespace
}  // namespace relaycell::tools
