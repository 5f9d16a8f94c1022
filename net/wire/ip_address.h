// IP addresses and endpoints as the network floor carries them (EXTEND2 link specifiers, BEGIN
// targets, exit policies), and WireError: why a network-floor wire format was refused.
//
// WireError lives here because this is the lowest header of net/wire/; every parser of the
// floor (create2, versions, extend2, begin) returns it.
#ifndef RELAYCELL_NET_WIRE_IP_ADDRESS_H_
#define RELAYCELL_NET_WIRE_IP_ADDRESS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace relaycell::net {

enum class WireError : uint8_t {
  kNone = 0,
  kTruncated,         // the body ends inside a field
  kBadHlen,           // HLEN runs past the end of the body
  kBadLinkSpecifier,  // a known link specifier type with the wrong LSLEN
  kNoIdentity,        // EXTEND2 without an Ed25519 identity
  kTwoIdentities,     // EXTEND2 with more than one Ed25519 identity
  kNoAddress,         // EXTEND2 without an IPv4 or IPv6 address
  kZeroPort,          // port 0 (link specifier or BEGIN target)
  kBadTarget,         // BEGIN "host:port" malformed (host characters, brackets, port digits)
  kNoCommonVersion,   // VERSIONS lists no link protocol version we speak
  kBadVersionsCount,  // VERSIONS whose n does not fit the cell
  kTooLong,           // a field longer than its format allows (hostname > 255 bytes)
  kMissingNul,        // BEGIN without the NUL that ends "host:port"
  kCount,
};
inline constexpr size_t kWireErrorKinds = size_t(WireError::kCount);

// A sentence for logs ("HLEN runs past the end of the body").
const char* WireErrorName(WireError error);
// A stable snake_case counter name ("bad_hlen"); never changed once shipped.
const char* WireErrorCounterName(WireError error);

// The longest text an address formats to: a full IPv6 literal without brackets (INET6_ADDRSTRLEN
// less its NUL).
inline constexpr size_t kMaxAddressText = 45;

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: bytes[0..4), the rest zero

  static IpAddress V4(std::span<const uint8_t, 4> octets);
  static IpAddress V6(std::span<const uint8_t, 16> octets);

  // An IPv4 dotted quad ("127.0.0.1", inet_pton's strict form: no leading zeros, no shorthand)
  // or an IPv6 literal ("::1", or "[::1]" in brackets). Brackets around an IPv4 literal, a
  // zone ("fe80::1%eth0"), an embedded NUL or anything else: nullopt.
  static std::optional<IpAddress> Parse(std::string_view literal);

  // Writes the literal (IPv6 without brackets, inet_ntop's form) without a NUL; its length, or
  // 0 if `out` is too small (kMaxAddressText always suffices).
  size_t FormatTo(std::span<char> out) const;
  std::string ToString() const;

  // 127.0.0.0/8 or ::1 only: an IPv4-mapped ::ffff:127.0.0.1 is NOT loopback (network.md §5).
  bool IsLoopback() const;

  std::span<const uint8_t> octets() const {
    return std::span<const uint8_t>(bytes).first(v6 ? 16 : 4);
  }
  bool operator==(const IpAddress&) const = default;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_IP_ADDRESS_H_
