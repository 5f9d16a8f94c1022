// A TCP socket carried as a stream: each read takes at most as many DATA cells' worth (498
// bytes each) as the host's windows allow at that moment (PumpCellsAllowed, at most
// kReadCells), so a full window stops the reading instead of filling a buffer (network.md §5:
// back-pressure, not buffering), and a fast source costs one read and one engine hand-over per
// batch of cells, not per cell. The host takes the bytes a cell's worth at a time
// (OnPumpData). Writes queue in order; the host hears when a write finished (OnPumpWritten),
// which is when it may grant more.
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
  // One DATA cell's worth (at most max_chunk bytes). False: the windows closed while the read
  // was in flight (several streams share a circuit window); the pump keeps these bytes and
  // the rest of the read and offers them again at the next Wake().
  virtual bool OnPumpData(SocketPump& pump, std::span<const uint8_t> data) = 0;
  virtual void OnPumpEof(SocketPump& pump) = 0;  // the peer closed or the socket failed
  virtual void OnPumpWritten(SocketPump& pump) = 0;
  // How many DATA cells the windows allow now; 0 stops the reading until Wake().
  virtual size_t PumpCellsAllowed(const SocketPump& pump) const = 0;
};

class SocketPump : public std::enable_shared_from_this<SocketPump> {
 public:
  // The most one read takes, in cells: 32 cells' worth is about one TLS record downstream.
  static constexpr size_t kReadCells = 32;

  // `max_chunk` (<= 498) bytes are one DATA cell's room in the suite.
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
  bool OfferHeld();
  void StartWrite();

  asio::ip::tcp::socket socket_;
  SocketPumpHost* host_;  // null once detached
  const size_t max_chunk_;
  std::vector<uint8_t> read_buffer_;  // kReadCells * max_chunk_ bytes
  std::vector<uint8_t> outbox_;
  std::vector<uint8_t> inflight_;
  // Bytes read but not yet taken by the host: read_buffer_[held_begin_, held_end_).
  size_t held_begin_ = 0, held_end_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool started_ = false;
  bool closed_ = false;
  bool close_after_writes_ = false;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_STREAM_SOCKET_PUMP_H_
