#include "net/link/link_dialer.h"

#include <cstring>
#include <utility>

#include "net/link/tls_identity.h"

namespace relaycell::net {

const char* DialErrorName(DialError error) {
  switch (error) {
    case DialError::kOk: return "ok";
    case DialError::kConnectFailed: return "connect failed";
    case DialError::kTlsFailed: return "TLS handshake failed";
    case DialError::kWrongIdentity: return "peer identity does not match";
  }
  return "unknown";
}

asio::ip::address ToAsioAddress(const IpAddress& address) {
  if (address.v6) {
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), address.bytes.data(), 16);
    return asio::ip::address_v6(bytes);
  }
  asio::ip::address_v4::bytes_type bytes;
  std::memcpy(bytes.data(), address.bytes.data(), 4);
  return asio::ip::address_v4(bytes);
}

IpAddress FromAsioAddress(const asio::ip::address& address) {
  IpAddress out;
  if (address.is_v6()) {
    out.v6 = true;
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(out.bytes.data(), bytes.data(), 16);
  } else {
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(out.bytes.data(), bytes.data(), 4);
  }
  return out;
}

asio::awaitable<DialError> DialLink(asio::io_context& io, asio::ssl::context& tls,
                                    std::span<const Endpoint> endpoints,
                                    const std::array<uint8_t, 32>& identity, uint32_t channel,
                                    LinkHandler& handler, std::chrono::milliseconds timeout,
                                    std::shared_ptr<Link>& out) {
  DialError last = DialError::kConnectFailed;
  for (const Endpoint& endpoint : endpoints) {
    TlsStream stream(io, tls);
    asio::steady_timer timer(io);
    timer.expires_after(timeout);
    // A peer that never answers must not hold the extend forever: the timer closes the socket,
    // which ends the pending operation with an error.
    timer.async_wait([&stream](std::error_code ec) {
      if (!ec) {
        std::error_code ignored;
        stream.lowest_layer().close(ignored);
      }
    });
    std::error_code ec;
    co_await stream.lowest_layer().async_connect(
        Tcp::endpoint(ToAsioAddress(endpoint.address), endpoint.port),
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      timer.cancel();
      last = DialError::kConnectFailed;
      continue;
    }
    stream.lowest_layer().set_option(Tcp::no_delay(true), ec);
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec) {
      last = DialError::kTlsFailed;
      continue;
    }
    if (CheckPeerIdentity(stream.native_handle(), identity) != PeerIdentityError::kOk) {
      std::error_code ignored;
      stream.lowest_layer().close(ignored);
      last = DialError::kWrongIdentity;
      continue;
    }
    out = Link::Make(io, std::move(stream), channel, LinkSide::kOpened, handler);
    out->set_peer_identity(identity);
    co_return DialError::kOk;
  }
  co_return last;
}

}  // namespace relaycell::net
