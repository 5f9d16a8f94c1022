#include "net/link/link.h"

#include <cstring>
#include <utility>

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
    HandleBytes(got);
  }
  Close();
}

void Link::HandleBytes(size_t bytes) {
  read_fill_ += bytes;
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
  if (!writing_) StartWrite();
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
