// A relay's configuration: DIR/relay.json, JSON with // comments (nlohmann's ignore_comments),
// written commented by `relaycell relay init` and read by `relaycell relay run`. Every error
// names the bad key ("relay.json: key \"limits.max_links\": must be a positive integer").
#ifndef RELAYCELL_NET_RELAY_RELAY_CONFIG_H_
#define RELAYCELL_NET_RELAY_RELAY_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rekey/rekey_config.h"
#include "net/exit/exit_policy.h"
#include "net/wire/ip_address.h"

namespace relaycell::net {

// `relaycell relay` refuses a smaller slack: on a network the cells in flight can be a whole
// circuit window of backward DATA (1000) plus its SENDMEs (protocol.md §7).
inline constexpr uint64_t kMinNetworkRekeySlack = 1100;

struct RelayLimits {
  size_t max_links = 1024;
  size_t max_circuits_per_link = 1024;
  size_t max_link_buffer_bytes = 4u << 20;  // queued to send on one link; readers pause above
  uint32_t idle_circuit_timeout_s = 600;    // a circuit with no cell for this long is closed
  uint32_t handshake_timeout_ms = 10000;    // TLS + VERSIONS must finish within this
  uint32_t connect_timeout_ms = 5000;       // extending: TCP + TLS to the next hop
};

struct RelayConfig {
  std::string nickname;
  Endpoint listen;  // the descriptor's address and port
  bool exit = false;
  ExitPolicy exit_policy = ExitPolicy::LoopbackOnly();
  std::vector<std::string> suites{"aez", "tor1", "cgo"};
  // Engine shard workers; 0 (the default) runs the engine on the network thread. One network
  // thread spends about ten times the engine's time per cell on TLS and sockets, so handing
  // the crypto to a worker saves less than the wake-ups cost (docs/network.md, "Workers").
  size_t workers = 0;
  RelayLimits limits;
  RekeyConfig rekey;
  std::optional<Endpoint> metrics_listen;  // Prometheus text page, loopback by default
};

// The commented file `relay init` writes.
std::string RelayConfigTemplate(std::string_view nickname, const Endpoint& listen, bool exit);
// Parses over the defaults; false with *error naming the key.
bool ParseRelayConfig(std::string_view text, RelayConfig& out, std::string* error);
bool LoadRelayConfig(const std::string& path, RelayConfig& out, std::string* error);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_RELAY_RELAY_CONFIG_H_
