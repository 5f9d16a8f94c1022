// One link: a TLS 1.3 connection between two nodes carrying 514-byte cells back to back
// (network.md §2). A Link reads cells and hands them to its LinkHandler in batches (a batch
// is what one read brought in), and queues cells to send with a byte count the host watches
// for back-pressure. VERSIONS and the link-level rules live in LinkCellReader; the Link only
// moves bytes and keeps order.
//
//   auto link = Link::Make(io, std::move(tls), channel, LinkSide::kAccepted, handler);
//   link->Start();                   // TLS handshake (server), VERSIONS both ways, then reads
//   link->Send(cell);                // queued; written in order
//   if (link->buffered_bytes() > limit) pause the readers that feed it
//
// Threads: everything runs on the io_context's one thread.
#ifndef RELAYCELL_NET_LINK_LINK_H_
#define RELAYCELL_NET_LINK_LINK_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "circuit/cell.h"
#include "net/wire/link_cell_reader.h"

namespace relaycell::net {

using Tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<Tcp::socket>;

enum class LinkSide : uint8_t {
  kAccepted,  // the peer opened the TCP connection: we are the TLS server
  kOpened,    // we opened it (a client, or a relay extending): TLS client, checks the identity
};

class Link;

class LinkHandler {
 public:
  virtual ~LinkHandler() = default;
  // TLS and VERSIONS are done: circuit cells may flow.
  virtual void OnLinkOpen(Link& link) = 0;
  // A cell the link layer passed on (LinkCellAction::kCircuitCell), in arrival order.
  virtual void OnLinkCell(Link& link, std::span<const uint8_t, kCellBytes> cell) = 0;
  // The end of one read's cells: the moment to hand a batch to the engine.
  virtual void OnLinkBatchEnd(Link& link) = 0;
  // Called once, whatever closed the link (peer, error, Close()). No cell is read after it.
  virtual void OnLinkClosed(Link& link) = 0;
};

struct LinkCounters {
  uint64_t cells_in = 0;
  uint64_t cells_out = 0;
  uint64_t dropped = 0;  // LinkCellAction::kDrop
};

class Link : public std::enable_shared_from_this<Link> {
 public:
  static std::shared_ptr<Link> Make(asio::io_context& io, TlsStream stream, uint32_t channel,
                                    LinkSide side, LinkHandler& handler);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Runs the TLS handshake (as server for kAccepted; kOpened streams arrive handshaken and
  // identity-checked from DialLink), sends VERSIONS and starts reading. A link that has not
  // finished VERSIONS within `handshake_timeout` is closed (half-open connections cost a slot
  // for that long, no more).
  void Start(std::chrono::milliseconds handshake_timeout);

  // Queues a cell; dropped (and counted by the caller's choice) once the link is closed.
  void Send(std::span<const uint8_t, kCellBytes> cell);
  // Closes the connection; OnLinkClosed follows at once.
  void Close();
  // Stops reading, writes what is queued, then closes (shutdown: the DESTROYs get out).
  void CloseAfterFlush();

  // Back-pressure: a paused link reads nothing until Resume.
  void PauseReading();
  void ResumeReading();

  uint32_t channel() const { return channel_; }
  LinkSide side() const { return side_; }
  bool is_open() const { return open_; }
  bool is_closed() const { return closed_; }
  size_t buffered_bytes() const { return outbox_.size() + inflight_.size(); }
  // The identity the peer proved (links we opened), if any.
  const std::optional<std::array<uint8_t, 32>>& peer_identity() const { return peer_identity_; }
  void set_peer_identity(const std::array<uint8_t, 32>& id) { peer_identity_ = id; }
  const LinkCellReader& reader() const { return reader_; }
  const LinkCounters& counters() const { return counters_; }
  // The top bit of the circ_ids this side chooses (network.md §2).
  uint32_t our_id_high_bit() const { return reader_.our_id_high_bit(); }
  std::string peer_address() const { return peer_address_; }

 private:
  Link(asio::io_context& io, TlsStream stream, uint32_t channel, LinkSide side,
       LinkHandler& handler);
  asio::awaitable<void> Run(std::shared_ptr<Link> self);
  size_t ReadBuffered(std::span<uint8_t> into);
  void HandleBytes();
  void StartWrite();

  static constexpr size_t kReadCells = 32;

  TlsStream stream_;
  const uint32_t channel_;
  const LinkSide side_;
  LinkHandler& handler_;
  LinkCellReader reader_;
  asio::steady_timer handshake_timer_;
  asio::steady_timer resume_timer_;  // a paused reader waits on it; Resume cancels it
  std::vector<uint8_t> read_buffer_;
  size_t read_fill_ = 0;
  std::vector<uint8_t> outbox_;    // cells queued, not yet handed to the socket
  std::vector<uint8_t> inflight_;  // the write in progress
  bool writing_ = false;
  bool write_posted_ = false;  // a StartWrite is posted to run after the current handler
  bool paused_ = false;
  bool close_after_flush_ = false;
  bool open_ = false;
  bool closed_ = false;
  std::optional<std::array<uint8_t, 32>> peer_identity_;
  std::string peer_address_;
  LinkCounters counters_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_LINK_LINK_H_
