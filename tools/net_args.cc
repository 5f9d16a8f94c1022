#include "tools/net_args.h"

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>

namespace relaycell::tools {

std::optional<net::Endpoint> ParseEndpointArg(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto address = net::IpAddress::Parse(text.substr(0, colon));
  const auto port = ParseCountArg(text.substr(colon + 1), 1, 65535);
  if (!address || !port) return std::nullopt;
  net::Endpoint endpoint;
  endpoint.address = *address;
  endpoint.port = static_cast<uint16_t>(*port);
  return endpoint;
}

std::optional<uint64_t> ParseCountArg(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  if (text.size() > 2 && text.substr(0, 2) == "2^") {
    const auto exponent = ParseCountArg(text.substr(2), 0, 63);
    if (!exponent) return std::nullopt;
    value = uint64_t{1} << *exponent;
  } else {
    if (text.empty() || text.size() > 19) return std::nullopt;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + uint64_t(c - '0');
    }
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

bool ReadWholeFile(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

void RunDaemon(asio::io_context& io, const std::function<void()>& shutdown,
               const std::function<void()>& report) {
  asio::signal_set stop(io, SIGINT, SIGTERM);
  asio::signal_set usr1(io, SIGUSR1);
  asio::steady_timer grace(io);
  std::signal(SIGPIPE, SIG_IGN);
  stop.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    shutdown();
    usr1.cancel();
    // DESTROYs and closes are queued: give the sockets a moment, then leave whatever is left.
    grace.expires_after(std::chrono::seconds(2));
    grace.async_wait([&](std::error_code) { io.stop(); });
  });
  std::function<void()> arm_usr1 = [&] {
    usr1.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      report();
      arm_usr1();
    });
  };
  arm_usr1();
  io.run();
}

}  // namespace relaycell::tools
