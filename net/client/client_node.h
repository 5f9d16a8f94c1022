// The client on the network (network.md): a SOCKS5 proxy (RFC 1928, no authentication,
// CONNECT) whose streams ride circuits it builds hop by hop (CREATE2, then EXTEND2 in
// RELAY_EARLY) through relays chosen from a network file, the last an exit. Streams share
// circuits up to a limit; a circuit that dies takes its streams with it (their SOCKS
// connections close) and is left out for the streams that come after, as are its relays for
// a while. RELAY_REKEY runs on every circuit on the ClientCircuit's schedule.
//
// Threads: the io_context's one thread.
#ifndef RELAYCELL_NET_CLIENT_CLIENT_NODE_H_
#define RELAYCELL_NET_CLIENT_CLIENT_NODE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "circuit/client_circuit.h"
#include "engine/rekey/rekey_config.h"
#include "net/common/node_counters.h"
#include "net/common/stack_wipe_after_handler.h"
#include "net/handshake/ntor.h"
#include "net/identity/descriptor.h"
#include "net/link/link.h"
#include "net/stream/flow_window.h"
#include "net/stream/stream_sendmes.h"
#include "net/stream/socket_pump.h"
#include "net/wire/begin.h"
#include "net/wire/ip_address.h"

namespace relaycell::net {

struct ClientConfig {
  NetworkFile network;
  Endpoint socks;
  int hops = 3;
  std::string suite = "aez";
  RekeyConfig rekey;
  size_t max_streams_per_circuit = 8;
  // Each circuit carries one stream, ever (measurements of fresh circuits: build time, TTFB).
  bool one_stream_per_circuit = false;
  uint32_t connect_timeout_ms = 5000;
  uint32_t build_timeout_ms = 20000;
  uint32_t relay_down_s = 60;  // a relay blamed for a failure is left out of paths this long
};

class SocksSession;

class ClientNode final : public LinkHandler {
 public:
  ClientNode(asio::io_context& io, const ClientConfig& config);
  ~ClientNode() override;

  bool Start(std::string* error);
  void Shutdown();
  NodeCounters Snapshot() const;

  // LinkHandler
  void OnLinkOpen(Link& link) override;
  void OnLinkCell(Link& link, std::span<const uint8_t, kCellBytes> cell) override;
  void OnLinkBatchEnd(Link& link) override {}
  void OnLinkClosed(Link& link) override;

  // From SocksSession.
  void OnSocksRequest(uint64_t session, const BeginTarget& target);
  // False: the windows are closed; the session keeps the bytes for later.
  bool OnSessionData(uint64_t session, std::span<const uint8_t> data);
  void OnSessionWritten(uint64_t session);
  void OnSessionClosed(uint64_t session);
  // How many DATA cells the stream's and circuit's windows let the session send now.
  size_t SessionCellsAllowed(uint64_t session) const;

 private:
  enum class CircuitState : uint8_t { kBuilding, kOpen, kDead };
  struct Stream {
    uint64_t session = 0;
    bool connected = false;
    bool end_sent = false;
    PackageWindow package{kStreamWindowStart, kStreamWindowIncrement};
    DeliverWindow deliver{kStreamWindowStart, kStreamWindowIncrement};
  };
  struct Circuit {
    uint32_t channel = 0;
    uint32_t circ_id = 0;
    std::vector<size_t> path;  // indexes into config_.network.relays
    const NtorSuite* ntor = nullptr;
    bool stream_sendmes = true;  // HasStreamSendmes(suite)
    CircuitState state = CircuitState::kBuilding;
    int built = 0;
    ClientCircuit circuit;
    std::unique_ptr<NtorClient> handshake;
    PackageWindow package{kCircuitWindowStart, kCircuitWindowIncrement};
    DeliverWindow deliver{kCircuitWindowStart, kCircuitWindowIncrement};
    std::unordered_map<uint16_t, Stream> streams;
    std::vector<uint64_t> waiting;  // sessions to BEGIN once open
    uint16_t next_stream_id = 1;
    std::unique_ptr<asio::steady_timer> build_timer;
    std::chrono::steady_clock::time_point launched;
    bool retired = false;  // takes no new streams (one_stream_per_circuit)
  };
  struct SessionRoute {
    uint64_t circuit = 0;  // packed (channel, circ_id); 0 while none
    uint16_t stream_id = 0;
    BeginTarget target;
    int builds_tried = 0;
  };

  asio::awaitable<void> AcceptLoop();
  uint64_t BuildCircuit();
  bool PickPath(std::vector<size_t>& path);
  void StartFirstHop(uint64_t key);
  void SendCreate2(Circuit& circuit, Link& link);
  void Extend(Circuit& circuit);
  void OnCircuitOpen(Circuit& circuit);
  void BeginStream(Circuit& circuit, uint64_t session);
  void OnRelayCell(Circuit& circuit, Link& link, std::span<const uint8_t, kCellBytes> cell);
  void OnDelivered(Circuit& circuit, const CellResult& result);
  void KillCircuit(uint64_t key, std::string_view why, int blame_hop);
  // A DESTROY with `reason` and a zero payload (circuit/cell.h's BuildDestroyCell).
  void SendDestroy(Link& link, uint32_t circ_id, DestroyReason reason);
  // The relays broke the protocol: DESTROY(PROTOCOL) to hop 1, then KillCircuit.
  void ProtocolViolation(uint64_t key, std::string_view why);
  void SendToHop(Circuit& circuit, int hop, RelayCommand command, uint16_t stream_id,
                 std::span<const uint8_t> data, bool early = false);
  void SendControlCells(Circuit& circuit);
  void SendStreamSendmes(Circuit& circuit, uint16_t stream_id, Stream& stream);
  void FailSession(uint64_t session, EndReason reason);
  Circuit* FindCircuit(uint64_t key);
  static uint64_t Key(uint32_t channel, uint32_t circ_id) {
    return uint64_t{channel} << 32 | circ_id;
  }

  asio::io_context& io_;
  // After every handler that enciphered, deciphered or ran ntor (single cells: no batch wipe).
  StackWipeAfterHandler stack_wipe_{io_};
  const ClientConfig config_;
  asio::ssl::context tls_;
  Tcp::acceptor acceptor_;
  std::mt19937_64 random_;
  bool shutting_down_ = false;
  uint32_t next_channel_ = 1;
  uint32_t next_circ_id_ = 1;
  uint64_t next_session_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<Link>> links_;
  std::unordered_map<uint32_t, size_t> link_relay_;  // channel -> relay index
  std::unordered_map<uint32_t, std::vector<uint64_t>> waiting_for_link_;
  std::unordered_map<uint64_t, std::unique_ptr<Circuit>> circuits_;
  std::unordered_map<uint64_t, std::shared_ptr<SocksSession>> sessions_;
  std::unordered_map<uint64_t, SessionRoute> routes_;
  std::vector<std::chrono::steady_clock::time_point> relay_down_until_;
  NodeCounters counters_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_CLIENT_CLIENT_NODE_H_
