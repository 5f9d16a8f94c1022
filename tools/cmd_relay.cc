// relaycell relay init DIR --nickname N --address A --port P [--exit]
// relaycell relay run DIR [--workers N]
// A relay's data directory: identity_key and onion_key (mode 0600), descriptor.json, and the
// commented relay.json. `run` serves in the foreground, logging to stderr, until SIGTERM or
// SIGINT (DESTROY on every circuit, links closed, keys wiped); SIGUSR1 prints the counters.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "net/identity/descriptor.h"
#include "net/identity/relay_keys.h"
#include "net/relay/relay_config.h"
#include "net/relay/relay_node.h"
#include "tools/command.h"
#include "tools/net_args.h"

namespace relaycell::tools {
namespace {

constexpr std::string_view kUsage =
    "relaycell relay init DIR --nickname N --address A --port P [--exit]\n"
    "       relaycell relay run DIR [--workers N]";

int RunRelay(Args args);
const Command kRelayCommand{"relay", "make a relay's keys and config, or run the relay", kUsage,
                            RunRelay, /*holds_secrets=*/true};

bool WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return bool(out);
}

int Init(Args args) {
  if (args.empty()) return UsageError(kRelayCommand, "init needs DIR");
  const std::string dir(args[0]);
  std::string nickname;
  std::optional<net::IpAddress> address;
  std::optional<uint64_t> port;
  bool exit = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--exit") {
      exit = true;
      continue;
    }
    if (i + 1 >= args.size())
      return UsageError(kRelayCommand, std::string(flag) + " needs a value");
    const std::string_view value = args[++i];
    if (flag == "--nickname") {
      nickname = value;
    } else if (flag == "--address") {
      address = net::IpAddress::Parse(value);
      if (!address) return UsageError(kRelayCommand, "--address: an IPv4 or IPv6 literal");
    } else if (flag == "--port") {
      port = ParseCountArg(value, 1, 65535);
      if (!port) return UsageError(kRelayCommand, "--port: 1..65535");
    } else {
      return UsageError(kRelayCommand, "unknown flag " + std::string(flag));
    }
  }
  if (nickname.empty() || !address || !port)
    return UsageError(kRelayCommand, "init needs --nickname, --address and --port");
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "relaycell relay: cannot make %s\n", dir.c_str());
    return kExitFailed;
  }
  net::RelayKeys keys;
  std::string error;
  if (!net::GenerateRelayKeys(keys) || !net::WriteRelayKeys(dir, keys, &error)) {
    std::fprintf(stderr, "relaycell relay: %s\n", error.c_str());
    return kExitFailed;
  }
  net::Endpoint listen;
  listen.address = *address;
  listen.port = uint16_t(*port);
  const net::RelayDescriptor descriptor = net::MakeDescriptor(
      keys, nickname, address->ToString(), uint16_t(*port), exit, {"aez", "tor1", "cgo"});
  if (!WriteTextFile(dir + "/descriptor.json", net::DescriptorToJson(descriptor) + "\n") ||
      !WriteTextFile(dir + "/relay.json", net::RelayConfigTemplate(nickname, listen, exit))) {
    std::fprintf(stderr, "relaycell relay: cannot write into %s\n", dir.c_str());
    return kExitFailed;
  }
  std::printf("%s/descriptor.json\n%s/relay.json\n", dir.c_str(), dir.c_str());
  return kExitOk;
}

int Run(Args args) {
  if (args.empty()) return UsageError(kRelayCommand, "run needs DIR");
  const std::string dir(args[0]);
  std::optional<uint64_t> workers;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--workers" && i + 1 < args.size()) {
      workers = ParseCountArg(args[++i], 0, 64);
      if (!workers) return UsageError(kRelayCommand, "--workers: 0..64");
    } else {
      return UsageError(kRelayCommand, "unknown flag " + std::string(args[i]));
    }
  }
  std::string error;
  net::RelayConfig config;
  if (!net::LoadRelayConfig(dir + "/relay.json", config, &error)) {
    std::fprintf(stderr, "relaycell relay: %s\n", error.c_str());
    return kExitUsage;
  }
  if (workers) config.workers = *workers;
  net::RelayKeys keys;
  if (!net::LoadRelayKeys(dir, keys, &error)) {
    std::fprintf(stderr, "relaycell relay: %s\n", error.c_str());
    return kExitUsage;
  }
  asio::io_context io(1);
  net::RelayNode relay(io, config, keys);
  if (!relay.Start(&error)) {
    std::fprintf(stderr, "relaycell relay: %s\n", error.c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "relaycell relay %s: listening on %s:%u (%s, %zu engine workers)\n",
               config.nickname.c_str(), config.listen.address.ToString().c_str(),
               unsigned(config.listen.port), config.exit ? "exit" : "not an exit", config.workers);
  auto report = [&] {
    std::fprintf(stderr, "relaycell relay %s counters:\n%s", config.nickname.c_str(),
                 relay.Snapshot().Text().c_str());
  };
  RunDaemon(
      io,
      [&] {
        std::fprintf(stderr, "relaycell relay %s: shutting down\n", config.nickname.c_str());
        relay.Shutdown();
        report();
      },
      report);
  return kExitOk;
}

int RunRelay(Args args) {
  if (WantsHelp(args) || args.empty()) {
    std::printf("usage: %.*s\n", int(kUsage.size()), kUsage.data());
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "init") return Init(args.subspan(1));
  if (args[0] == "run") return Run(args.subspan(1));
  return UsageError(kRelayCommand, "unknown subcommand " + std::string(args[0]));
}

const bool registered = RegisterCommand(kRelayCommand);

}  // namespace
}  // namespace relaycell::tools
