// relaycell network FILE DESCRIPTOR...: writes the network file (network.md §1) from relays'
// descriptor.json files. A descriptor whose onion_cert does not verify is refused, and
// nothing is written.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/identity/descriptor.h"
#include "tools/command.h"
#include "tools/net_args.h"

namespace relaycell::tools {
namespace {

constexpr std::string_view kUsage = "relaycell network FILE DESCRIPTOR.json...";

int RunNetwork(Args args);
const Command kNetworkCommand{"network", "write a network file from relay descriptors", kUsage,
                              RunNetwork};

int RunNetwork(Args args) {
  if (WantsHelp(args)) {
    std::printf("usage: %.*s\n", int(kUsage.size()), kUsage.data());
    return kExitOk;
  }
  if (args.size() < 2) return UsageError(kNetworkCommand, "need FILE and at least one descriptor");
  std::vector<net::RelayDescriptor> relays;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string path(args[i]);
    std::string text, error;
    if (!ReadWholeFile(path, text)) {
      std::fprintf(stderr, "relaycell network: %s: cannot be read\n", path.c_str());
      return kExitUsage;
    }
    nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    net::RelayDescriptor descriptor;
    if (json.is_discarded() || !net::ParseDescriptor(json, descriptor, &error)) {
      std::fprintf(stderr, "relaycell network: %s: %s\n", path.c_str(),
                   json.is_discarded() ? "not valid JSON" : error.c_str());
      return kExitUsage;
    }
    relays.push_back(std::move(descriptor));
  }
  std::string out, error;
  if (!net::BuildNetworkFile(relays, out, &error)) {
    std::fprintf(stderr, "relaycell network: refused: %s\n", error.c_str());
    return kExitFailed;
  }
  std::ofstream file(std::string(args[0]), std::ios::trunc);
  file << out << "\n";
  if (!file) {
    std::fprintf(stderr, "relaycell network: cannot write %s\n", std::string(args[0]).c_str());
    return kExitFailed;
  }
  std::printf("%s: %zu relays\n", std::string(args[0]).c_str(), relays.size());
  return kExitOk;
}

const bool registered = RegisterCommand(kNetworkCommand);

}  // namespace
}  // namespace relaycell::tools
