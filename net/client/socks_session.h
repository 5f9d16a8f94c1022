// One SOCKS5 connection at the client: the greeting and CONNECT request (net/socks/socks5.h
// parses them), then, once the exit answered, the stream's bytes through a SocketPump.
#ifndef RELAYCELL_NET_CLIENT_SOCKS_SESSION_H_
#define RELAYCELL_NET_CLIENT_SOCKS_SESSION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "net/socks/socks5.h"
#include "net/stream/socket_pump.h"

namespace relaycell::net {

class ClientNode;

class SocksSession final : public std::enable_shared_from_this<SocksSession>,
                           public SocketPumpHost {
 public:
  SocksSession(asio::ip::tcp::socket socket, ClientNode& node, uint64_t id, size_t max_chunk);
  ~SocksSession() override;

  // Reads the greeting and the request; hands the request to ClientNode::OnSocksRequest.
  void Start();
  // The exit said CONNECTED: reply success and start carrying bytes.
  void Connected();
  // The stream could not be opened: reply with `reply` and close.
  void Refuse(SocksReply reply);
  void Write(std::span<const uint8_t> data);
  void Wake();
  size_t queued_bytes() const { return pump_ ? pump_->queued_bytes() : 0; }
  // Closes the connection (after what is queued, when `flush`); no callback follows.
  void Close(bool flush);
  uint64_t id() const { return id_; }

  // SocketPumpHost
  bool OnPumpData(SocketPump& pump, std::span<const uint8_t> data) override;
  void OnPumpEof(SocketPump& pump) override;
  void OnPumpWritten(SocketPump& pump) override;
  size_t PumpCellsAllowed(const SocketPump& pump) const override;

 private:
  asio::awaitable<void> Handshake(std::shared_ptr<SocksSession> self);
  // Appends one read's bytes to `buffer`; false (the node told) if the connection ended.
  asio::awaitable<bool> ReadMore(std::vector<uint8_t>& buffer);

  asio::ip::tcp::socket socket_;
  ClientNode& node_;
  const uint64_t id_;
  const size_t max_chunk_;
  std::shared_ptr<SocketPump> pump_;
  bool closed_ = false;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_CLIENT_SOCKS_SESSION_H_
