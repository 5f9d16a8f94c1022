#include "net/wire/versions.h"

#include <algorithm>

#include "engine/common/byte_io.h"

namespace relaycell::net {

bool IsSupportedLinkVersion(uint16_t version) { return version == kLinkProtocolVersion; }

void BuildVersions(std::span<uint8_t, kCellBodyBytes> payload) {
  std::fill(payload.begin(), payload.end(), uint8_t{0});
  ByteWriter w(payload);
  w.BigEndian(uint16_t{1});
  w.BigEndian(kLinkProtocolVersion);
}

WireError ParseVersions(std::span<const uint8_t, kCellBodyBytes> payload, uint16_t& chosen) {
  ByteReader r(payload);
  uint16_t n = 0;
  if (!r.BigEndian(n)) return WireError::kTruncated;
  if (n > kMaxVersionsCount) return WireError::kBadVersionsCount;
  uint16_t best = 0;
  for (uint16_t i = 0; i < n; ++i) {
    uint16_t v = 0;
    if (!r.BigEndian(v)) return WireError::kBadVersionsCount;  // unreachable: n fits
    if (IsSupportedLinkVersion(v)) best = std::max(best, v);
  }
  if (best == 0) return WireError::kNoCommonVersion;
  chosen = best;
  return WireError::kNone;
}

}  // namespace relaycell::net
