// The SOCKS5 front's wire format (RFC 1928): NO AUTHENTICATION REQUIRED only, CONNECT only.
// Parsers are incremental over the bytes read so far: kNeedMore until a message is complete
// (read more, call again with the longer buffer), then kOk with `consumed` set, or kBad as soon
// as a byte already seen rules the message out. Builders for the client side (greeting,
// request, reply parsing) serve tests and tools.
//
//   greeting: VER 5 | NMETHODS | METHODS[NMETHODS]          answer: VER 5 | METHOD (00 or FF)
//   request:  VER 5 | CMD | RSV 0 | ATYP | DST.ADDR | DST.PORT u16
//             ATYP 1 IPv4[4], 3 domain (len u8 1..255, no NUL), 4 IPv6[16]
//   reply:    VER 5 | REP | RSV 0 | ATYP | BND.ADDR | BND.PORT u16
#ifndef RELAYCELL_NET_SOCKS_SOCKS5_H_
#define RELAYCELL_NET_SOCKS_SOCKS5_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/wire/begin.h"

namespace relaycell::net {

inline constexpr uint8_t kSocksVersion = 5;
inline constexpr uint8_t kSocksMethodNoAuth = 0x00;
inline constexpr uint8_t kSocksMethodNoneAcceptable = 0xff;
inline constexpr uint8_t kSocksCommandConnect = 1;
inline constexpr uint8_t kSocksCommandBind = 2;
inline constexpr uint8_t kSocksCommandUdpAssociate = 3;
inline constexpr uint8_t kSocksAtypIpv4 = 1;
inline constexpr uint8_t kSocksAtypDomain = 3;
inline constexpr uint8_t kSocksAtypIpv6 = 4;
// The longest request: 4 + 1 + 255 + 2.
inline constexpr size_t kMaxSocksRequestBytes = 262;
inline constexpr size_t kSocksReplyBytes = 10;  // with an IPv4 BND.ADDR

enum class SocksParse : uint8_t { kNeedMore, kOk, kBad };

struct SocksGreeting {
  bool offers_no_auth = false;
};
// kBad if VER is not 5 (SOCKS4 included): close without answering. NMETHODS 0 is kOk without
// no-auth (answer 05 FF).
SocksParse ParseSocksGreeting(std::span<const uint8_t> in, size_t& consumed, SocksGreeting& out);
// 05 01 00: what a client sends. Returns 3.
size_t BuildSocksGreeting(std::span<uint8_t, 3> out);
// 05 00 if `accept`, else 05 FF.
void BuildSocksMethodChoice(bool accept, std::span<uint8_t, 2> out);

enum class SocksReply : uint8_t {
  kSucceeded = 0,
  kGeneralFailure = 1,
  kNotAllowed = 2,
  kNetworkUnreachable = 3,
  kHostUnreachable = 4,
  kConnectionRefused = 5,
  kTtlExpired = 6,
  kCommandNotSupported = 7,
  kAddressTypeNotSupported = 8,
};

struct SocksRequest {
  uint8_t command = 0;
  // ATYP 1 gives kIpv4, 4 kIpv6 (host in inet_ntop's form); a domain is classified as BEGIN's
  // host (begin.h ClassifyHost), so "127.0.0.1" sent as a domain is kIpv4 too.
  BeginTarget target;
};
// kBad with `refusal` set: kCommandNotSupported for a CMD other than CONNECT (BIND, UDP
// ASSOCIATE), kAddressTypeNotSupported for an ATYP other than 1, 3, 4, kGeneralFailure for the
// rest (VER not 5, RSV not 0, domain length 0, a NUL or a character BEGIN refuses in the domain,
// port 0). `out` is written only on kOk.
SocksParse ParseSocksRequest(std::span<const uint8_t> in, size_t& consumed, SocksRequest& out,
                             SocksReply& refusal);
// The request for `request.target` (a kHostname goes as ATYP 3). Bytes written, or 0 if they do
// not fit or the target is malformed for its kind.
size_t BuildSocksRequest(const SocksRequest& request, std::span<uint8_t> out);

// VER 5 | reply | 0 | ATYP 1 | 0.0.0.0 | port 0. Returns 10.
size_t BuildSocksReply(SocksReply reply, std::span<uint8_t, kSocksReplyBytes> out);
// A server's reply (any BND.ATYP): kBad for VER not 5, RSV not 0 or an unknown ATYP.
SocksParse ParseSocksReply(std::span<const uint8_t> in, size_t& consumed, uint8_t& reply);

// END reason -> SOCKS reply: EXITPOLICY kNotAllowed, RESOLVEFAILED kHostUnreachable,
// CONNECTREFUSED kConnectionRefused, TIMEOUT kTtlExpired, NOROUTE kNetworkUnreachable, all
// others kGeneralFailure (DONE included: a stream that ends before CONNECTED has failed).
SocksReply SocksReplyForEnd(EndReason reason);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_SOCKS_SOCKS5_H_
