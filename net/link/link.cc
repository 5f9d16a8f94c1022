#include "net/link/link.h"

#include <cstring>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "net/wire/versions.h"

namespace relaycell::net {

std::shared_ptr<Link> Link::Make(asio::io_context& io, TlsStream stream, uint32_t channel,
                                 LinkSide side, LinkHandler& handler) {
  return std::shared_ptr<Link>(new Link(io, std::move(stream), channel, side, handler));
}

Link::Link(asio::io_context& io, TlsStream stream, uint32_t channel, LinkSide side,
           LinkHandler& handler)
    : stream_(std::move(stream)),
      channel_(channel),
      side_(side),
      handler_(handler),
      reader_(side == LinkSide::kOpened),
      handshake_timer_(io),
      resume_timer_(io),
      read_buffer_(kReadCells * kCellBytes) {
  std::error_code ec;
  const auto remote = stream_.lowest_layer().remote_endpoint(ec);
  if (!ec) peer_address_ = remote.address().to_string() + ":" + std::to_string(remote.port());
}

Link::~Link() = default;

void Link::Start(std::chrono::milliseconds handshake_timeout) {
  auto self = shared_from_this();
  handshake_timer_.expires_after(handshake_timeout);
  handshake_timer_.async_wait([self](std::error_code ec) {
    if (!ec && !self->open_) self->Close();
  });
  asio::co_spawn(stream_.get_executor(), Run(self), asio::detached);
}

asio::awaitable<void> Link::Run(std::shared_ptr<Link> self) {
  std::error_code ec;
  if (side_ == LinkSide::kAccepted) {
    co_await stream_.async_handshake(asio::ssl::stream_base::server,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) {
      Close();
      co_return;
    }
  }
  // Each side sends VERSIONS without waiting for the peer's (network.md §2).
  std::array<uint8_t, kCellBytes> versions{};
  versions[4] = kVersionsCommand;
  BuildVersions(
      std::span<uint8_t, kCellBodyBytes>(versions.data() + kCellHeaderBytes, kCellBodyBytes));
  Send(versions);

  while (!closed_) {
    if (paused_) {
      resume_timer_.expires_at(asio::steady_timer::time_point::max());
      co_await resume_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const size_t got = co_await stream_.async_read_some(
        asio::buffer(read_buffer_.data() + read_fill_, read_buffer_.size() - read_fill_),
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) break;
    read_fill_ += got;
    read_fill_ += ReadBuffered(std::span(read_buffer_).subspan(read_fill_));
    HandleBytes();
  }
  Close();
}

// Each async_read_some hands back one TLS record, and the socket read behind it may have
// brought in thirty more. Going round the event loop for each made every cell a batch of one
// from there on: one engine call, one TLS record and one send() per cell at every hop. SSL_read
// on the stream's own SSL object takes the records already buffered, as Asio's read operation
// would, and stops at the first not yet received (SSL_ERROR_WANT_READ). An error stops it too;
// the next async_read_some meets the same error and reports it.
size_t Link::ReadBuffered(std::span<uint8_t> into) {
  SSL* ssl = stream_.native_handle();
  size_t got = 0;
  while (got < into.size()) {
    ERR_clear_error();
    const int n = SSL_read(ssl, into.data() + got, static_cast<int>(into.size() - got));
    if (n <= 0) break;
    got += size_t(n);
  }
  ERR_clear_error();
  return got;
}

void Link::HandleBytes() {
  size_t offset = 0;
  bool any = false;
  while (!closed_ && read_fill_ - offset >= kCellBytes) {
    std::span<const uint8_t, kCellBytes> cell(read_buffer_.data() + offset, kCellBytes);
    offset += kCellBytes;
    ++counters_.cells_in;
    switch (reader_.OnCell(cell)) {
      case LinkCellAction::kSendNothing:
        if (!open_ && reader_.state() == LinkState::kOpen) {
          open_ = true;
          handshake_timer_.cancel();
          handler_.OnLinkOpen(*this);
        }
        break;
      case LinkCellAction::kCloseLink: Close(); return;
      case LinkCellAction::kDrop: ++counters_.dropped; break;
      case LinkCellAction::kCircuitCell:
        any = true;
        handler_.OnLinkCell(*this, cell);
        break;
    }
  }
  if (closed_) return;
  // Keep a partial cell at the front for the next read.
  std::memmove(read_buffer_.data(), read_buffer_.data() + offset, read_fill_ - offset);
  read_fill_ -= offset;
  if (any) handler_.OnLinkBatchEnd(*this);
}

void Link::Send(std::span<const uint8_t, kCellBytes> cell) {
  if (closed_) return;
  outbox_.insert(outbox_.end(), cell.begin(), cell.end());
  ++counters_.cells_out;
  // The write starts once the handler that sends has returned, so that every cell it sends
  // (a whole engine batch) goes out in one TLS record and one send(), not the first alone.
  if (!writing_ && !write_posted_) {
    write_posted_ = true;
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->write_posted_ = false;
      if (!self->writing_) self->StartWrite();
    });
  }
}

void Link::StartWrite() {
  if (closed_) return;
  if (outbox_.empty()) {
    if (close_after_flush_) Close();
    return;
  }
  writing_ = true;
  inflight_.swap(outbox_);
  outbox_.clear();
  auto self = shared_from_this();
  asio::async_write(stream_, asio::buffer(inflight_), [self](std::error_code ec, size_t) {
    self->writing_ = false;
    self->inflight_.clear();
    if (ec) {
      self->Close();
      return;
    }
    self->StartWrite();
  });
}

void Link::CloseAfterFlush() {
  close_after_flush_ = true;
  PauseReading();
  if (!writing_) StartWrite();
}

void Link::PauseReading() { paused_ = true; }

void Link::ResumeReading() {
  if (!paused_) return;
  paused_ = false;
  resume_timer_.cancel();
}

void Link::Close() {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  handshake_timer_.cancel();
  resume_timer_.cancel();
  std::error_code ec;
  stream_.lowest_layer().shutdown(Tcp::socket::shutdown_both, ec);
  stream_.lowest_layer().close(ec);
  outbox_.clear();
  handler_.OnLinkClosed(*this);
}

}  // namespace relaycell::net
