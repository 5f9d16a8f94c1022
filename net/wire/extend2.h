// EXTEND2's relay data (network.md §4; tor-spec's layout with relaycell's Ed25519 identity):
//
//   NSPEC u8 | NSPEC x (LSTYPE u8 | LSLEN u8 | LSPEC[LSLEN]) | HTYPE u16 | HLEN u16 | HDATA
//
// Link specifiers: 0 IPv4 addr[4] | port u16, 1 IPv6 addr[16] | port u16, 3 Ed25519 ID [32].
// Other types (Tor's legacy RSA digest 2 included) are skipped. Refused: a known type of the
// wrong length, port 0, no or two IDs, no address, a body cut short. Bytes after HDATA are
// ignored. EXTENDED2's data is a CREATED2 body: ParseCreated2 / BuildCreated2 (create2.h).
#ifndef RELAYCELL_NET_WIRE_EXTEND2_H_
#define RELAYCELL_NET_WIRE_EXTEND2_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/wire/ip_address.h"

namespace relaycell::net {

enum class LinkSpecifierType : uint8_t {
  kIpv4 = 0,       // addr[4] | port u16
  kIpv6 = 1,       // addr[16] | port u16
  kLegacyId = 2,   // Tor's RSA digest: skipped
  kEd25519Id = 3,  // [32]
};
inline constexpr size_t kIpv4LinkSpecifierBytes = 6;
inline constexpr size_t kIpv6LinkSpecifierBytes = 18;
inline constexpr size_t kEd25519IdBytes = 32;

// Addresses a relay keeps from one EXTEND2, in the order given. Valid addresses past the
// fourth are checked like the others, then ignored.
inline constexpr size_t kMaxExtendAddresses = 4;

struct Extend2Request {
  std::array<uint8_t, kEd25519IdBytes> identity{};
  std::array<Endpoint, kMaxExtendAddresses> addresses{};
  size_t address_count = 0;
  uint16_t htype = 0;
  std::span<const uint8_t> hdata;  // HLEN bytes inside `data`, passed on unchecked

  std::span<const Endpoint> endpoints() const {
    return std::span<const Endpoint>(addresses).first(address_count);
  }
};

// `data` is the relay message's data (`length` bytes). Fills every field of `out`; on an error
// its contents are unspecified.
WireError ParseExtend2(std::span<const uint8_t> data, Extend2Request& out);

// Writes the addresses in order, then the identity, then HTYPE | HLEN | HDATA. Bytes written,
// or 0 if they exceed `out`, or the request is one ParseExtend2 refuses (no address, more than
// kMaxExtendAddresses, a port 0) or HDATA is longer than 65535.
size_t BuildExtend2(const Extend2Request& request, std::span<uint8_t> out);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_EXTEND2_H_
