// A relay on the network (network.md): accepts TLS links, answers CREATE2 with ntor, relays
// cells through the batched cell engine, extends circuits on EXTEND2, and at an exit carries
// TCP streams. It is the engine's host: links feed cells in, the engine's outputs go out on
// links or come back here (cells for this hop: EXTEND2, BEGIN, DATA, END, SENDME).
//
//   RelayNode relay(io, config, keys);
//   relay.Start(error);   // listens on config.listen
//   io.run();             // until Shutdown(): DESTROY on every circuit, links closed
//
// Threads: the io_context's one thread; the engine's shard workers behind RelayCellEngine.
#ifndef RELAYCELL_NET_RELAY_RELAY_NODE_H_
#define RELAYCELL_NET_RELAY_RELAY_NODE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "circuit/cell.h"
#include "circuit/pipeline/shard.h"
#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"
#include "net/common/node_counters.h"
#include "net/common/stack_wipe_after_handler.h"
#include "net/identity/relay_keys.h"
#include "net/link/link.h"
#include "net/relay/exit_stream.h"
#include "net/relay/relay_cell_engine.h"
#include "net/relay/relay_config.h"
#include "net/stream/flow_window.h"
#include "net/stream/stream_sendmes.h"
#include "net/wire/begin.h"
#include "net/wire/extend2.h"

namespace relaycell::net {

class RelayNode final : public LinkHandler, public ExitStreamHost {
 public:
  RelayNode(asio::io_context& io, const RelayConfig& config, const RelayKeys& keys);
  ~RelayNode() override;

  // Binds the listening socket (and the metrics page, if configured).
  bool Start(std::string* error);
  // DESTROY(FINISHED) on every circuit, links flushed and closed, the engine stopped; io.run()
  // then returns once the last handler is done.
  void Shutdown();

  const NodeCounters& counters() const { return counters_; }
  // Counters with the engine's and the live gauges folded in.
  NodeCounters Snapshot();

  // LinkHandler
  void OnLinkOpen(Link& link) override;
  void OnLinkCell(Link& link, std::span<const uint8_t, kCellBytes> cell) override;
  void OnLinkBatchEnd(Link& link) override;
  void OnLinkClosed(Link& link) override;

  // ExitStreamHost
  void OnStreamConnected(ExitStream& stream) override;
  void OnStreamFailed(ExitStream& stream, EndReason reason) override;
  bool OnStreamData(ExitStream& stream, std::span<const uint8_t> data) override;
  void OnStreamEof(ExitStream& stream) override;
  void OnStreamWritten(ExitStream& stream) override;
  size_t StreamCellsAllowed(const ExitStream& stream) const override;

 private:
  enum class NextHop : uint8_t {
    kNone,        // this relay is the circuit's last hop
    kDialing,     // EXTEND2 taken: opening a link to the next relay
    kCreateSent,  // CREATE2 sent on the next link, CREATED2 awaited
    kAttached,    // the engine relays cells to and from the next hop
  };
  struct Circuit {
    CircuitKey client;  // (client-side channel, circ_id)
    const CellSuite* suite = nullptr;
    bool stream_sendmes = true;  // HasStreamSendmes(*suite)
    NextHop next_state = NextHop::kNone;
    CircuitKey next;     // valid from kCreateSent
    uint16_t htype = 0;  // EXTEND2 being carried out
    std::vector<uint8_t> create_hdata;
    std::array<uint8_t, 32> next_identity{};
    PackageWindow package{kCircuitWindowStart, kCircuitWindowIncrement};  // our backward DATA
    DeliverWindow deliver{kCircuitWindowStart, kCircuitWindowIncrement};  // forward DATA to us
    std::unordered_map<uint16_t, std::unique_ptr<ExitStream>> streams;
    std::chrono::steady_clock::time_point last_cell;
  };

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> MetricsLoop();
  void ArmPump();  // polls the sharded engine every kPumpInterval until it has been quiet
  void StartPumpTimer();
  void Pump();
  // Pump once the current handler returns: the cells a handler originates (a stream read's
  // batch) reach the engine together.
  void SchedulePump();
  void ArmIdleSweep();

  // Cells from links.
  void OnCreate2(Link& link, std::span<const uint8_t, kCellBytes> cell);
  void OnCreated2(Link& link, std::span<const uint8_t, kCellBytes> cell);
  void ToEngine(Link& link, std::span<const uint8_t, kCellBytes> cell);
  void SendDestroy(Link& link, uint32_t circ_id, DestroyReason reason);

  // Engine outputs.
  void OnEngineOutputs(std::span<const OutItem> items);
  void OnDeliver(const OutItem& item);
  void OnExtend2(Circuit& circuit, std::span<const uint8_t> data, bool early);
  void OnBegin(Circuit& circuit, uint16_t stream_id, std::span<const uint8_t> data);
  void OnData(Circuit& circuit, uint16_t stream_id, std::span<const uint8_t> data);
  void OnEnd(Circuit& circuit, uint16_t stream_id);
  void OnSendme(Circuit& circuit, uint16_t stream_id);
  void SendCreate2(Circuit& circuit, Link& next_link);
  void ExtendFailed(Circuit& circuit, DestroyReason reason);

  // Towards the client, through the engine (it adds our layer). False if the engine refused.
  bool Originate(Circuit& circuit, RelayCommand command, uint16_t stream_id,
                 std::span<const uint8_t> data);
  void SendEnd(Circuit& circuit, uint16_t stream_id, EndReason reason);
  // Closes the circuit at the engine: DESTROY(reason) to the sides told.
  void CloseCircuit(Circuit& circuit, DestroyReason reason, bool tell_client, bool tell_next);
  void ProtocolViolation(Circuit& circuit, std::string_view reason);
  void Forget(CircuitKey client_key);
  Circuit* FindByClient(CircuitKey key);
  Circuit* FindByNext(CircuitKey key);
  void ResumeStreams(Circuit& circuit);
  void ApplyBackPressure();

  asio::io_context& io_;
  // After each CREATE2 (ntor and key setup run here; the cells' crypto runs in the engine's
  // batches, which wipe behind themselves).
  StackWipeAfterHandler stack_wipe_{io_};
  const RelayConfig config_;
  const RelayKeys& keys_;
  asio::ssl::context server_tls_;
  asio::ssl::context client_tls_;
  Tcp::acceptor acceptor_;
  std::unique_ptr<Tcp::acceptor> metrics_acceptor_;
  RelayCellEngine engine_;
  asio::steady_timer pump_timer_;
  asio::steady_timer idle_timer_;
  bool pump_armed_ = false;
  int pump_idle_ticks_ = 0;
  bool shutting_down_ = false;
  bool engine_stopped_ = false;
  bool pump_posted_ = false;
  bool pumping_ = false;  // inside Pump: outputs are being handled
  bool reads_paused_ = false;

  uint32_t next_channel_ = 1;
  std::unordered_map<uint32_t, std::shared_ptr<Link>> links_;
  std::unordered_map<uint32_t, size_t> circuits_per_link_;
  std::unordered_map<uint64_t, std::unique_ptr<Circuit>> circuits_;  // by client key
  std::unordered_map<uint64_t, uint64_t> by_next_;                   // next key -> client key
  // Extends waiting for a link being opened: link identity's dial, keyed by channel.
  std::unordered_map<uint32_t, std::vector<uint64_t>> waiting_for_link_;
  uint32_t circ_id_hint_ = 1;
  size_t peak_link_buffer_ = 0;  // the most bytes ever queued on one link
  NodeCounters counters_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_RELAY_RELAY_NODE_H_
