// One stream at an exit (network.md §5): resolves the BEGIN's host, checks every address it
// resolves to against the exit policy, connects, then carries bytes both ways through a
// SocketPump. The stream's windows live here; the circuit's live in the RelayNode.
#ifndef RELAYCELL_NET_RELAY_EXIT_STREAM_H_
#define RELAYCELL_NET_RELAY_EXIT_STREAM_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "circuit/pipeline/circuit_table.h"
#include "net/exit/exit_policy.h"
#include "net/stream/flow_window.h"
#include "net/stream/socket_pump.h"
#include "net/wire/begin.h"

namespace relaycell::net {

class ExitStream;

class ExitStreamHost {
 public:
  virtual ~ExitStreamHost() = default;
  virtual void OnStreamConnected(ExitStream& stream) = 0;
  virtual void OnStreamFailed(ExitStream& stream, EndReason reason) = 0;
  virtual bool OnStreamData(ExitStream& stream, std::span<const uint8_t> data) = 0;
  virtual void OnStreamEof(ExitStream& stream) = 0;
  virtual void OnStreamWritten(ExitStream& stream) = 0;
  // How many DATA cells the stream's and circuit's windows let it send now.
  virtual size_t StreamCellsAllowed(const ExitStream& stream) const = 0;
};

class ExitStream final : public SocketPumpHost {
 public:
  ExitStream(asio::io_context& io, ExitStreamHost& host, CircuitKey circuit, uint16_t stream_id,
             size_t max_chunk);
  ~ExitStream() override;

  void Begin(const BeginTarget& target, const ExitPolicy& policy,
             std::chrono::milliseconds connect_timeout);
  void Write(std::span<const uint8_t> data);
  void Wake();
  void CloseAfterWrites();
  size_t queued_bytes() const { return pump_ ? pump_->queued_bytes() : 0; }
  bool connected() const { return pump_ != nullptr; }

  CircuitKey circuit() const { return circuit_; }
  uint16_t stream_id() const { return stream_id_; }
  PackageWindow package{kStreamWindowStart, kStreamWindowIncrement};
  DeliverWindow deliver{kStreamWindowStart, kStreamWindowIncrement};
  bool end_sent = false;

  // SocketPumpHost
  bool OnPumpData(SocketPump& pump, std::span<const uint8_t> data) override;
  void OnPumpEof(SocketPump& pump) override;
  void OnPumpWritten(SocketPump& pump) override;
  size_t PumpCellsAllowed(const SocketPump& pump) const override;

 private:
  asio::awaitable<void> Connect(BeginTarget target, ExitPolicy policy,
                                std::chrono::milliseconds timeout, std::shared_ptr<bool> alive);

  asio::io_context& io_;
  ExitStreamHost& host_;
  const CircuitKey circuit_;
  const uint16_t stream_id_;
  const size_t max_chunk_;
  std::shared_ptr<bool> alive_;  // false once destroyed: the connect coroutine checks it
  std::shared_ptr<asio::ip::tcp::socket> connecting_;
  std::shared_ptr<SocketPump> pump_;
  std::vector<uint8_t> early_data_;
  bool close_requested_ = false;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_RELAY_EXIT_STREAM_H_
