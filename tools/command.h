// The relaycell command line: one front door, subcommands registered from their own files.
#ifndef RELAYCELL_TOOLS_COMMAND_H_
#define RELAYCELL_TOOLS_COMMAND_H_

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace relaycell::tools {

// Exit codes every subcommand uses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // ran, and something failed (a KAT, a check)
inline constexpr int kExitUsage = 2;   // bad arguments or unreadable/malformed input

using Args = std::span<const std::string_view>;
using CommandFn = int (*)(Args args);

struct Command {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;  // printed by `relaycell NAME --help`
  CommandFn run;
  // Keys, seeds or pads pass through its memory: main makes the process non-dumpable first
  // (no core file, no ptrace by the same user) so they cannot leave that way.
  bool holds_secrets = false;
};

// Called from a static initializer in each subcommand's file.
bool RegisterCommand(const Command& command);
const std::vector<Command>& Commands();

// True if args contains --help or -h.
bool WantsHelp(Args args);
// Prints "relaycell: <message>" and the usage line to stderr; returns kExitUsage.
int UsageError(const Command& command, std::string_view message);

}  // namespace relaycell::tools

#endif  // RELAYCELL_TOOLS_COMMAND_H_
