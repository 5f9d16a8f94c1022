// CREATE2 and CREATED2 bodies (network.md §3; tor-spec's layout): the 509 payload bytes after
// circ_id | command. EXTENDED2's relay data is a CREATED2 body too (network.md §4).
//
//   CREATE2:  HTYPE u16 | HLEN u16 | HDATA[HLEN] | zeros
//   CREATED2: HLEN u16 | HDATA[HLEN] | zeros
//
// Parsers only check that HDATA lies inside the body; whether HTYPE is offered and HLEN is the
// handshake's (96 client, 64 server) is the handshake's call. Bytes after HDATA are not checked.
// Nothing here allocates: hdata views point into the caller's buffer.
#ifndef RELAYCELL_NET_WIRE_CREATE2_H_
#define RELAYCELL_NET_WIRE_CREATE2_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/cell.h"
#include "net/wire/ip_address.h"

namespace relaycell::net {

// HTYPE | HLEN before HDATA in CREATE2, HLEN alone in CREATED2.
inline constexpr size_t kCreate2HeaderBytes = 4;
inline constexpr size_t kCreated2HeaderBytes = 2;
// The most HDATA one cell carries.
inline constexpr size_t kMaxCreate2Hdata = kCellBodyBytes - kCreate2HeaderBytes;    // 505
inline constexpr size_t kMaxCreated2Hdata = kCellBodyBytes - kCreated2HeaderBytes;  // 507

struct Create2Body {
  uint16_t htype = 0;
  std::span<const uint8_t> hdata;  // HLEN bytes inside the payload
};

// kBadHlen if HLEN runs past the payload.
WireError ParseCreate2(std::span<const uint8_t, kCellBodyBytes> payload, Create2Body& out);
// Writes HTYPE, HLEN, HDATA and zero-fills the rest; false (payload untouched) if HDATA is
// longer than kMaxCreate2Hdata.
bool BuildCreate2(uint16_t htype, std::span<const uint8_t> hdata,
                  std::span<uint8_t, kCellBodyBytes> payload);

// `body` is a CREATED2 payload or an EXTENDED2's relay data: kTruncated if shorter than HLEN
// itself, kBadHlen if HDATA runs past its end; bytes after HDATA are ignored.
WireError ParseCreated2(std::span<const uint8_t> body, std::span<const uint8_t>& hdata);
// Writes HLEN | HDATA: 2 + HLEN bytes, or 0 if that does not fit `out` (or HLEN > 65535). The
// caller zero-fills the rest of a CREATED2 payload.
size_t BuildCreated2(std::span<const uint8_t> hdata, std::span<uint8_t> out);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_CREATE2_H_
