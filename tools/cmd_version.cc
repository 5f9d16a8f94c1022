// relaycell version [--json]: the version, and for each kernel family the path this process
// runs and the calibration figures that chose it (kernels/path_choice.h).
#include <sys/resource.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/suite/aez_layer.h"
#include "kernels/cpu_features.h"
#include "kernels/path_choice.h"
#include "kernels/targets.h"
#include "tools/command.h"

namespace relaycell::tools {
namespace {

using kernels::FamilyChoice;
using kernels::KernelFamily;

const FamilyChoice& ChoiceAt(size_t i) { return kernels::Choice(static_cast<KernelFamily>(i)); }

void PrintJson() {
  nlohmann::ordered_json doc;
  doc["version"] = RELAYCELL_VERSION_STRING;
  doc["cpu"] = kernels::CpuBrand();
  nlohmann::ordered_json paths = nlohmann::ordered_json::object();
  for (size_t i = 0; i < kernels::kKernelFamilies; ++i) {
    const FamilyChoice& choice = ChoiceAt(i);
    nlohmann::ordered_json candidates = nlohmann::ordered_json::object();
    for (const auto& c : choice.candidates) {
      candidates[c.name] = c.figure ? nlohmann::ordered_json(*c.figure) : nlohmann::ordered_json();
    }
    paths[std::string(kernels::FamilyName(choice.family))] = {{"chosen", choice.chosen.Name()},
                                                              {"candidates", candidates}};
  }
  doc["paths"] = paths;
  std::printf("%s\n", doc.dump(2).c_str());
}

void PrintText() {
  std::printf("relaycell %s\n", RELAYCELL_VERSION_STRING);
  std::printf("cpu: %s\n", kernels::CpuBrand().c_str());
  std::printf("highway targets (compiled, supported here):");
  for (const auto& name : kernels::SupportedTargetNames()) std::printf(" %s", name.c_str());
  std::printf(
      "\nkernel paths (chosen by timing each candidate at start-up; "
      "RELAYCELL_FORCE_PATH=FAMILY:PATH overrides):\n");
  for (size_t i = 0; i < kernels::kKernelFamilies; ++i) {
    const FamilyChoice& choice = ChoiceAt(i);
    const std::string family(kernels::FamilyName(choice.family));
    std::printf("  %-10s %-11s%s", family.c_str(), choice.chosen.Name().c_str(),
                choice.forced ? "(forced)" : "");
    if (!choice.forced) {
      std::printf("  %s:", choice.unit.c_str());
      for (const auto& c : choice.candidates) {
        if (c.figure) {
          std::printf(" %s %.3g", c.name.c_str(), *c.figure);
        } else {
          std::printf(" %s (not timed)", c.name.c_str());
        }
      }
    }
    std::printf("\n");
  }
  // Keys live in locked memory only as far as the kernel allows (engine/key_arena.h).
  rlimit memlock{};
  if (getrlimit(RLIMIT_MEMLOCK, &memlock) == 0) {
    if (memlock.rlim_cur == RLIM_INFINITY) {
      std::printf("locked memory for keys: unlimited\n");
    } else {
      const double per_circuit = 2.0 * double(AezCellDirection::Arena().slot_bytes());
      std::printf(
          "locked memory for keys: %.1f MiB (RLIMIT_MEMLOCK; without CAP_IPC_LOCK about "
          "%.0f aez relay circuits; raise it, e.g. systemd LimitMEMLOCK=, for more)\n",
          double(memlock.rlim_cur) / (1 << 20), double(memlock.rlim_cur) / per_circuit);
    }
  }
}

const Command kVersion = {"version",
                          "print the version and, per kernel family, the path chosen here and why",
                          "relaycell version [--json]", nullptr};

int RunVersion(Args args) {
  bool json = false;
  for (std::string_view a : args) {
    if (a == "--json") {
      json = true;
    } else {
      return UsageError(kVersion, "unknown argument '" + std::string(a) + "'");
    }
  }
  if (json) {
    PrintJson();
  } else {
    PrintText();
  }
  return kExitOk;
}

const bool registered =
    RegisterCommand({kVersion.name, kVersion.summary, kVersion.usage, RunVersion});

}  // namespace
}  // namespace relaycell::tools
