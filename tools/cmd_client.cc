// relaycell client --network FILE --socks 127.0.0.1:PORT [--hops 3] [--suite aez|tor1|cgo]
//                  [--rekey-first N] [--rekey-interval N] [--streams-per-circuit N]
// A SOCKS5 proxy (no authentication, CONNECT) whose streams ride circuits through the network
// file's relays. Foreground, logs to stderr; SIGUSR1 prints the counters.
#include <cstdio>
#include <string>

#include "net/client/client_node.h"
#include "net/identity/descriptor.h"
#include "tools/command.h"
#include "tools/net_args.h"

namespace relaycell::tools {
namespace {

constexpr std::string_view kUsage =
    "relaycell client --network FILE --socks ADDRESS:PORT [--hops N] [--suite aez|tor1|cgo]\n"
    "                        [--rekey-first N] [--rekey-interval N] [--streams-per-circuit N]\n"
    "                        [--one-stream-per-circuit]";

int RunClient(Args args);
const Command kClientCommand{"client", "a SOCKS5 proxy over circuits through the network", kUsage,
                             RunClient, /*holds_secrets=*/true};

int RunClient(Args args) {
  if (WantsHelp(args)) {
    std::printf("usage: %.*s\n", int(kUsage.size()), kUsage.data());
    return kExitOk;
  }
  net::ClientConfig config;
  std::string network_path;
  bool have_socks = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (flag == "--one-stream-per-circuit") {  // the one switch; every other flag has a value
      config.one_stream_per_circuit = true;
      continue;
    }
    if (i + 1 >= args.size())
      return UsageError(kClientCommand, std::string(flag) + " needs a value");
    const std::string_view value = args[++i];
    if (flag == "--network") {
      network_path = value;
    } else if (flag == "--socks") {
      const auto endpoint = ParseEndpointArg(value);
      if (!endpoint) return UsageError(kClientCommand, "--socks: ADDRESS:PORT");
      config.socks = *endpoint;
      have_socks = true;
    } else if (flag == "--hops") {
      const auto hops = ParseCountArg(value, 1, 8);
      if (!hops) return UsageError(kClientCommand, "--hops: 1..8");
      config.hops = int(*hops);
    } else if (flag == "--suite") {
      config.suite = value;
      if (!net::FindNtorSuiteBySuiteName(config.suite))
        return UsageError(kClientCommand, "--suite: aez, tor1 or cgo");
    } else if (flag == "--rekey-first" || flag == "--rekey-interval") {
      const auto count = ParseCountArg(value, 1, uint64_t{1} << 38);
      if (!count) return UsageError(kClientCommand, std::string(flag) + ": a cell count");
      (flag == "--rekey-first" ? config.rekey.first : config.rekey.interval) = *count;
    } else if (flag == "--streams-per-circuit") {
      const auto count = ParseCountArg(value, 1, 1000);
      if (!count) return UsageError(kClientCommand, "--streams-per-circuit: 1..1000");
      config.max_streams_per_circuit = *count;
    } else {
      return UsageError(kClientCommand, "unknown flag " + std::string(flag));
    }
  }
  if (network_path.empty() || !have_socks)
    return UsageError(kClientCommand, "need --network FILE and --socks ADDRESS:PORT");
  // The client's relays enforce their own min_spacing; keep ours below any threshold asked.
  config.rekey.min_spacing = 0;
  if (config.rekey.Validate() != RekeyConfigError::kOk)
    return UsageError(kClientCommand, RekeyConfigErrorMessage(config.rekey.Validate()));
  std::string text, error;
  if (!ReadWholeFile(network_path, text)) {
    std::fprintf(stderr, "relaycell client: %s: cannot be read\n", network_path.c_str());
    return kExitUsage;
  }
  std::vector<std::string> left_out;
  if (!net::ParseNetworkFile(text, config.network, &left_out, &error)) {
    std::fprintf(stderr, "relaycell client: %s: %s\n", network_path.c_str(), error.c_str());
    return kExitUsage;
  }
  for (const auto& why : left_out)
    std::fprintf(stderr, "relaycell client: left out %s\n", why.c_str());
  asio::io_context io(1);
  net::ClientNode client(io, config);
  if (!client.Start(&error)) {
    std::fprintf(stderr, "relaycell client: %s\n", error.c_str());
    return kExitFailed;
  }
  std::fprintf(stderr, "relaycell client: SOCKS5 on %s:%u, %d hops, suite %s, %zu relays\n",
               config.socks.address.ToString().c_str(), unsigned(config.socks.port), config.hops,
               config.suite.c_str(), config.network.relays.size());
  auto report = [&] {
    std::fprintf(stderr, "relaycell client counters:\n%s", client.Snapshot().Text().c_str());
  };
  RunDaemon(
      io,
      [&] {
        client.Shutdown();
        report();
      },
      report);
  return kExitOk;
}

const bool registered = RegisterCommand(kClientCommand);

}  // namespace
}  // namespace relaycell::tools
