// BEGIN's relay data and stream END reasons (network.md §5; tor-spec's layout):
//
//   "host:port" NUL [flags u32]
//
// host is an IPv4 dotted quad, an IPv6 literal in brackets ("[::1]:80"), or a hostname of
// [A-Za-z0-9.-], 1..255 bytes. port is decimal 1..65535 without sign or leading zeros. An IPv6
// literal without brackets is refused ("::1:80" is kBadTarget: the last ':' cannot be told
// from the address's own). A hostname of digits and dots only that is no dotted quad ("127.1",
// "1.2.3.256") is refused too, so a resolver's inet_aton shorthand never turns a "hostname"
// into an address; the exit policy is checked on every resolved address anyway. What follows
// the NUL (flags, ignored in v1) is not read. stream_id rules are the host's.
#ifndef RELAYCELL_NET_WIRE_BEGIN_H_
#define RELAYCELL_NET_WIRE_BEGIN_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "net/wire/ip_address.h"

namespace relaycell::net {

// tor-spec's stream end reasons, the one byte of END.
enum class EndReason : uint8_t {
  kMisc = 1,
  kResolveFailed = 2,
  kConnectRefused = 3,
  kExitPolicy = 4,
  kDestroy = 5,
  kDone = 6,
  kTimeout = 7,
  kNoRoute = 8,
  kHibernating = 9,
  kInternal = 10,
  kResourceLimit = 11,
  kConnReset = 12,
  kTorProtocol = 13,
  kNotDirectory = 14,
};
// "EXITPOLICY", tor-spec's names; "unknown" for other bytes.
const char* EndReasonName(EndReason reason);
bool IsKnownEndReason(uint8_t reason);

inline constexpr size_t kMaxHostnameBytes = 255;

enum class BeginTargetKind : uint8_t { kIpv4, kIpv6, kHostname };

struct BeginTarget {
  BeginTargetKind kind = BeginTargetKind::kHostname;
  std::string host;  // IPv6 without brackets; literals as written
  uint16_t port = 0;
  bool operator==(const BeginTarget&) const = default;
};

// What `host` (no brackets, no port) is: an IPv4 dotted quad, an IPv6 literal, or a hostname
// by the rules above. kBadTarget for anything else (empty included), kTooLong for a hostname
// over 255 bytes. Shared with the SOCKS5 front, whose domain names may be literals.
WireError ClassifyHost(std::string_view host, BeginTargetKind& kind);

// `data` is the relay message's data. kMissingNul, kBadTarget, kZeroPort, kTooLong. `out.host`
// is assigned only on success (its capacity is reused).
WireError ParseBegin(std::span<const uint8_t> data, BeginTarget& out);

// Writes "host:port" NUL (brackets around an IPv6 host), no flags. Bytes written, or 0 if they
// do not fit `out` or the target is one ParseBegin refuses (port 0, a host whose kind is not
// target.kind).
size_t BuildBegin(const BeginTarget& target, std::span<uint8_t> out);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_BEGIN_H_
