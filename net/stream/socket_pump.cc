#include "net/stream/socket_pump.h"

#include <algorithm>
#include <utility>

namespace relaycell::net {

SocketPump::SocketPump(asio::ip::tcp::socket socket, SocketPumpHost& host, size_t max_chunk)
    : socket_(std::move(socket)),
      host_(&host),
      max_chunk_(std::clamp<size_t>(max_chunk, 1, kRelayDataBytes)),
      read_buffer_(kReadCells * max_chunk_) {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

void SocketPump::Start() {
  started_ = true;
  StartRead();
}

void SocketPump::Wake() {
  if (!started_ || closed_ || !host_) return;
  if (!OfferHeld()) return;
  StartRead();
}

// Hands the held bytes to the host a cell's worth at a time. True when it took them all; false
// when it refused one (they stay held) or closed or left this pump while taking them.
bool SocketPump::OfferHeld() {
  while (held_begin_ < held_end_) {
    const size_t n = std::min(max_chunk_, held_end_ - held_begin_);
    if (!host_->OnPumpData(*this, std::span<const uint8_t>(read_buffer_.data() + held_begin_, n)))
      return false;
    held_begin_ += n;
    if (closed_ || !host_) return false;
  }
  held_begin_ = held_end_ = 0;
  return true;
}

void SocketPump::StartRead() {
  if (reading_ || held_end_ != 0 || closed_ || close_after_writes_ || !host_) return;
  const size_t cells = std::min(host_->PumpCellsAllowed(*this), kReadCells);
  if (cells == 0) return;
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(read_buffer_.data(), cells * max_chunk_),
                          [self](std::error_code ec, size_t n) {
                            self->reading_ = false;
                            if (self->closed_ || !self->host_) return;
                            if (ec) {
                              self->host_->OnPumpEof(*self);
                              return;
                            }
                            self->held_begin_ = 0;
                            self->held_end_ = n;
                            if (!self->OfferHeld()) return;
                            self->StartRead();
                          });
}

void SocketPump::Write(std::span<const uint8_t> data) {
  if (closed_ || data.empty()) return;
  outbox_.insert(outbox_.end(), data.begin(), data.end());
  if (!writing_) StartWrite();
}

void SocketPump::StartWrite() {
  if (closed_) return;
  if (outbox_.empty()) {
    if (close_after_writes_) Close();
    return;
  }
  writing_ = true;
  inflight_.swap(outbox_);
  outbox_.clear();
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(inflight_), [self](std::error_code ec, size_t) {
    self->writing_ = false;
    self->inflight_.clear();
    if (self->closed_) return;
    if (ec) {
      if (self->host_) self->host_->OnPumpEof(*self);
      self->Close();
      return;
    }
    if (self->host_) self->host_->OnPumpWritten(*self);
    self->StartWrite();
  });
}

void SocketPump::CloseAfterWrites() {
  close_after_writes_ = true;
  if (!writing_) StartWrite();
}

void SocketPump::Detach() {
  host_ = nullptr;
  if (!close_after_writes_) Close();
}

void SocketPump::Close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace relaycell::net
