// Opening a link to a relay (network.md §2, §4): TCP to each address in the order given, TLS
// 1.3 as the client (no certificate of ours), then the peer's certificate must be its Ed25519
// identity. Only then is the Link made; VERSIONS follow in Link::Start.
#ifndef RELAYCELL_NET_LINK_LINK_DIALER_H_
#define RELAYCELL_NET_LINK_LINK_DIALER_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include <asio.hpp>
#include <asio/ssl.hpp>

#include "net/link/link.h"
#include "net/wire/ip_address.h"

namespace relaycell::net {

enum class DialError : uint8_t {
  kOk = 0,
  kConnectFailed,  // no address answered (refused, unreachable, timed out)
  kTlsFailed,      // the TLS handshake failed
  kWrongIdentity,  // the certificate is not the expected Ed25519 identity
};
const char* DialErrorName(DialError error);

asio::ip::address ToAsioAddress(const IpAddress& address);
IpAddress FromAsioAddress(const asio::ip::address& address);

// On kOk `out` holds the link (not yet started). Each address gets `timeout` for TCP and TLS.
asio::awaitable<DialError> DialLink(asio::io_context& io, asio::ssl::context& tls,
                                    std::span<const Endpoint> endpoints,
                                    const std::array<uint8_t, 32>& identity, uint32_t channel,
                                    LinkHandler& handler, std::chrono::milliseconds timeout,
                                    std::shared_ptr<Link>& out);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_LINK_LINK_DIALER_H_
