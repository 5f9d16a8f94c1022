// A TCP socket carried as a stream: reads at most one DATA cell's worth (498 bytes) at a time,
// and only while the host's windows allow (PumpMayRead), so a full window stops the reading
// instead of filling a buffer (network.md §5: back-pressure, not buffering). Writes queue in
// order; the host hears when a write finished (OnPumpWritten), which is when it may grant more.
// Used by the exit's streams and the client's SOCKS connections.
//
// Lifetime: the owner holds the shared_ptr and calls Detach() before it goes away; after it no
// callback runs. Threads: the io_context's one thread.
#ifndef RELAYCELL_NET_STREAM_SOCKET_PUMP_H_
#define RELAYCELL_NET_STREAM_SOCKET_PUMP_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "circuit/relay_header.h"

namespace relaycell::net {

class SocketPump;

class SocketPumpHost {
 public:
  virtual ~SocketPumpHost() = default;
  // False: the windows closed while the read was in flight (several streams share a circuit
  // window); the pump keeps the bytes and offers them again at the next Wake().
  virtual bool OnPumpData(SocketPump& pump, std::span<const uint8_t> data) = 0;
  virtual void OnPumpEof(SocketPump& pump) = 0;  // the peer closed or the socket failed
  virtual void OnPumpWritten(SocketPump& pump) = 0;
  virtual bool PumpMayRead(const SocketPump& pump) const = 0;
};

class SocketPump : public std::enable_shared_from_this<SocketPump> {
 public:
  // Reads at most `max_chunk` (<= 498) bytes at a time: one DATA cell's room in the suite.
  SocketPump(asio::ip::tcp::socket socket, SocketPumpHost& host, size_t max_chunk);
  // Starts reading (when the host allows).
  void Start();
  // The host's windows opened: read again if reading had stopped.
  void Wake();
  void Write(std::span<const uint8_t> data);
  // Sends what is queued, then closes (a stream's END after its data). Reads stop at once.
  void CloseAfterWrites();
  void Close();
  // The owner goes away: no callback runs any more; queued writes still go out if
  // CloseAfterWrites was asked for, else the socket closes now.
  void Detach();
  size_t queued_bytes() const { return outbox_.size() + inflight_.size(); }
  bool closed() const { return closed_; }

 private:
  void StartRead();
  void StartWrite();

  asio::ip::tcp::socket socket_;
  SocketPumpHost* host_;  // null once detached
  const size_t max_chunk_;
  std::array<uint8_t, kRelayDataBytes> read_buffer_{};
  std::vector<uint8_t> outbox_;
  std::vector<uint8_t> inflight_;
  size_t held_ = 0;  // bytes read but not yet taken by the host (read_buffer_[0, held_))
  bool reading_ = false;
  bool writing_ = false;
  bool started_ = false;
  bool closed_ = false;
  bool close_after_writes_ = false;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_STREAM_SOCKET_PUMP_H_
