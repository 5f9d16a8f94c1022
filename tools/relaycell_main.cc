// relaycell: bench, kat, kdf, psrd, version. See `relaycell help`.
#include <sys/prctl.h>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "kernels/path_choice.h"
#include "tools/command.h"

namespace relaycell::tools {

std::vector<Command>& CommandTable() {
  static std::vector<Command> table;
  return table;
}

bool RegisterCommand(const Command& command) {
  CommandTable().push_back(command);
  return true;
}

const std::vector<Command>& Commands() { return CommandTable(); }

bool WantsHelp(Args args) {
  return std::any_of(args.begin(), args.end(),
                     [](std::string_view a) { return a == "--help" || a == "-h"; });
}

int UsageError(const Command& command, std::string_view message) {
  std::fprintf(stderr, "relaycell %.*s: %.*s\nusage: %.*s\n", int(command.name.size()),
               command.name.data(), int(message.size()), message.data(), int(command.usage.size()),
               command.usage.data());
  return kExitUsage;
}

namespace {

void PrintOverview(FILE* out) {
  std::fprintf(out,
               "usage: relaycell COMMAND [ARGS...]   (relaycell COMMAND --help for details)\n\n");
  auto commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  for (const Command& c : commands) {
    std::fprintf(out, "  %-8.*s %.*s\n", int(c.name.size()), c.name.data(), int(c.summary.size()),
                 c.summary.data());
  }
}

}  // namespace
}  // namespace relaycell::tools

int main(int argc, char** argv) {
  using namespace relaycell::tools;
  if (argc < 2) {
    PrintOverview(stderr);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    PrintOverview(stdout);
    return kExitOk;
  }
  // A forced kernel path that is unknown or that this CPU cannot run is refused before any
  // command runs, rather than silently calibrated away.
  if (const std::string error = relaycell::kernels::ForcedPathError(); !error.empty()) {
    std::fprintf(stderr, "relaycell: %s\n", error.c_str());
    return kExitUsage;
  }
  std::vector<std::string_view> args(argv + 2, argv + argc);
  for (const Command& command : Commands()) {
    if (command.name != name) continue;
    if (WantsHelp(args)) {
      std::printf("usage: %.*s\n\n%.*s\n", int(command.usage.size()), command.usage.data(),
                  int(command.summary.size()), command.summary.data());
      return kExitOk;
    }
    if (command.holds_secrets) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return command.run(args);
  }
  std::fprintf(stderr, "relaycell: unknown command '%s'\n", argv[1]);
  PrintOverview(stderr);
  return kExitUsage;
}
