// Small pieces the network commands share: flag values and the signal handling of a daemon.
#ifndef RELAYCELL_TOOLS_NET_ARGS_H_
#define RELAYCELL_TOOLS_NET_ARGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "net/wire/ip_address.h"

namespace relaycell::tools {

// "127.0.0.1:9050" or "[::1]:9050".
std::optional<net::Endpoint> ParseEndpointArg(std::string_view text);
// A decimal number within [min, max], or a power of two written "2^N".
std::optional<uint64_t> ParseCountArg(std::string_view text, uint64_t min, uint64_t max);
bool ReadWholeFile(const std::string& path, std::string& out);

// Runs `io` until SIGINT/SIGTERM: then `shutdown`, a grace period for the last writes, and
// stop. SIGUSR1 calls `report` (counters to stderr) and goes on. The process is made
// non-dumpable first: it holds keys.
void RunDaemon(asio::io_context& io, const std::function<void()>& shutdown,
               const std::function<void()>& report);

}  // namespace relaycell::tools

#endif  // RELAYCELL_TOOLS_NET_ARGS_H_
