#include "net/wire/create2.h"

#include <algorithm>
#include <limits>

#include "engine/common/byte_io.h"

namespace relaycell::net {

WireError ParseCreate2(std::span<const uint8_t, kCellBodyBytes> payload, Create2Body& out) {
  ByteReader r(payload);
  uint16_t hlen = 0;
  if (!r.BigEndian(out.htype) || !r.BigEndian(hlen)) return WireError::kTruncated;
  if (!r.View(hlen, out.hdata)) return WireError::kBadHlen;
  return WireError::kNone;
}

bool BuildCreate2(uint16_t htype, std::span<const uint8_t> hdata,
                  std::span<uint8_t, kCellBodyBytes> payload) {
  if (hdata.size() > kMaxCreate2Hdata) return false;
  ByteWriter w(payload);
  w.BigEndian(htype);
  w.BigEndian(static_cast<uint16_t>(hdata.size()));
  w.Bytes(hdata);
  std::fill(payload.begin() + static_cast<std::ptrdiff_t>(w.size()), payload.end(), uint8_t{0});
  return w.ok();
}

WireError ParseCreated2(std::span<const uint8_t> body, std::span<const uint8_t>& hdata) {
  ByteReader r(body);
  uint16_t hlen = 0;
  if (!r.BigEndian(hlen)) return WireError::kTruncated;
  if (!r.View(hlen, hdata)) return WireError::kBadHlen;
  return WireError::kNone;
}

size_t BuildCreated2(std::span<const uint8_t> hdata, std::span<uint8_t> out) {
  if (hdata.size() > std::numeric_limits<uint16_t>::max()) return 0;
  ByteWriter w(out);
  w.BigEndian(static_cast<uint16_t>(hdata.size()));
  w.Bytes(hdata);
  return w.ok() ? w.size() : 0;
}

}  // namespace relaycell::net
