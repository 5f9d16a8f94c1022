#include "net/client/socks_session.h"

#include <array>
#include <utility>

#include "net/client/client_node.h"

namespace relaycell::net {

SocksSession::SocksSession(asio::ip::tcp::socket socket, ClientNode& node, uint64_t id,
                           size_t max_chunk)
    : socket_(std::move(socket)), node_(node), id_(id), max_chunk_(max_chunk) {}

SocksSession::~SocksSession() {
  if (pump_) pump_->Detach();
}

void SocksSession::Start() {
  asio::co_spawn(socket_.get_executor(), Handshake(shared_from_this()), asio::detached);
}

asio::awaitable<void> SocksSession::Handshake(std::shared_ptr<SocksSession> self) {
  std::vector<uint8_t> buffer;
  std::error_code ec;
  // Greeting, then the request, each possibly cut into many reads.
  SocksGreeting greeting;
  for (;;) {
    size_t consumed = 0;
    const SocksParse parse = ParseSocksGreeting(buffer, consumed, greeting);
    if (parse == SocksParse::kOk) {
      buffer.erase(buffer.begin(), buffer.begin() + std::ptrdiff_t(consumed));
      break;
    }
    if (parse == SocksParse::kBad) {
      Close(false);
      node_.OnSessionClosed(id_);
      co_return;
    }
    if (!co_await ReadMore(buffer)) co_return;
  }
  std::array<uint8_t, 2> choice;
  BuildSocksMethodChoice(greeting.offers_no_auth, choice);
  co_await asio::async_write(socket_, asio::buffer(choice),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec || !greeting.offers_no_auth || closed_) {
    if (!closed_) {
      Close(false);
      node_.OnSessionClosed(id_);
    }
    co_return;
  }
  SocksRequest request;
  for (;;) {
    size_t consumed = 0;
    SocksReply refusal = SocksReply::kGeneralFailure;
    const SocksParse parse = ParseSocksRequest(buffer, consumed, request, refusal);
    if (parse == SocksParse::kOk) {
      buffer.erase(buffer.begin(), buffer.begin() + std::ptrdiff_t(consumed));
      break;
    }
    if (parse == SocksParse::kBad) {
      Refuse(refusal);
      node_.OnSessionClosed(id_);
      co_return;
    }
    if (!co_await ReadMore(buffer)) co_return;
  }
  // Bytes a client sent ahead of the reply are not expected in SOCKS5 (it waits): dropped.
  node_.OnSocksRequest(id_, request.target);
}

asio::awaitable<bool> SocksSession::ReadMore(std::vector<uint8_t>& buffer) {
  std::array<uint8_t, 512> chunk;
  std::error_code ec;
  const size_t n = co_await socket_.async_read_some(asio::buffer(chunk),
                                                    asio::redirect_error(asio::use_awaitable, ec));
  if (ec || closed_) {
    if (!closed_) node_.OnSessionClosed(id_);
    co_return false;
  }
  buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + std::ptrdiff_t(n));
  co_return true;
}

void SocksSession::Connected() {
  if (closed_) return;
  std::array<uint8_t, 10> reply;
  const size_t n = BuildSocksReply(SocksReply::kSucceeded, reply);
  pump_ = std::make_shared<SocketPump>(std::move(socket_), *this, max_chunk_);
  pump_->Write(std::span<const uint8_t>(reply.data(), n));
  pump_->Start();
}

void SocksSession::Refuse(SocksReply reply_code) {
  if (closed_) return;
  closed_ = true;
  auto reply = std::make_shared<std::array<uint8_t, 10>>();
  const size_t n = BuildSocksReply(reply_code, *reply);
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(reply->data(), n),
                    [self, reply](std::error_code, size_t) {
                      std::error_code ec;
                      self->socket_.close(ec);
                    });
}

void SocksSession::Write(std::span<const uint8_t> data) {
  if (pump_ && !closed_) pump_->Write(data);
}

void SocksSession::Wake() {
  if (pump_ && !closed_) pump_->Wake();
}

void SocksSession::Close(bool flush) {
  if (closed_) return;
  closed_ = true;
  if (pump_) {
    if (flush) {
      pump_->CloseAfterWrites();
      pump_->Detach();
    } else {
      pump_->Detach();
      pump_->Close();
    }
    pump_.reset();
    return;
  }
  std::error_code ec;
  socket_.close(ec);
}

bool SocksSession::OnPumpData(SocketPump&, std::span<const uint8_t> data) {
  return node_.OnSessionData(id_, data);
}

void SocksSession::OnPumpEof(SocketPump&) {
  if (closed_) return;
  node_.OnSessionClosed(id_);
}

void SocksSession::OnPumpWritten(SocketPump&) { node_.OnSessionWritten(id_); }

size_t SocksSession::PumpCellsAllowed(const SocketPump&) const {
  return closed_ ? 0 : node_.SessionCellsAllowed(id_);
}

}  // namespace relaycell::net
