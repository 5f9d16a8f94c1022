// Fuzzes the CREATE2 and CREATED2 body parsers (network.md §3): a parsed CREATE2's HDATA is
// the HLEN bytes right after its 4-byte header, inside the 509-byte payload; building the
// parsed HTYPE and HDATA gives the same header and HDATA with zeros after. CREATED2 (also an
// EXTENDED2's relay data, of any length) parses to the HLEN bytes after its 2-byte header, and
// building that gives the body's first 2 + HLEN bytes back.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/wire/create2.h"

namespace {

using namespace relaycell;
using namespace relaycell::net;

uint16_t BigEndian16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void CheckCreate2(std::span<const uint8_t> data) {
  // The payload a link reader hands over: the input's first 509 bytes, zeros after.
  std::array<uint8_t, kCellBodyBytes> payload{};
  std::copy_n(data.begin(), std::min(data.size(), payload.size()), payload.begin());
  Create2Body body;
  const WireError error = ParseCreate2(payload, body);
  const size_t hlen = BigEndian16(&payload[2]);
  if (error != WireError::kNone) {
    if (error != WireError::kBadHlen || hlen <= kMaxCreate2Hdata) __builtin_trap();
    return;
  }
  if (hlen > kMaxCreate2Hdata || body.htype != BigEndian16(&payload[0]) ||
      body.hdata.size() != hlen || body.hdata.data() != payload.data() + kCreate2HeaderBytes) {
    __builtin_trap();
  }
  std::array<uint8_t, kCellBodyBytes> built;
  built.fill(0xa5);  // a builder that forgets the zero fill shows here
  if (!BuildCreate2(body.htype, body.hdata, built)) __builtin_trap();
  const size_t used = kCreate2HeaderBytes + hlen;
  if (std::memcmp(built.data(), payload.data(), used) != 0 ||
      std::any_of(built.begin() + static_cast<std::ptrdiff_t>(used), built.end(),
                  [](uint8_t b) { return b != 0; })) {
    __builtin_trap();
  }
}

void CheckCreated2(std::span<const uint8_t> data) {
  std::span<const uint8_t> hdata;
  const WireError error = ParseCreated2(data, hdata);
  if (data.size() < kCreated2HeaderBytes) {
    if (error != WireError::kTruncated) __builtin_trap();
    return;
  }
  const size_t hlen = BigEndian16(data.data());
  if (error != WireError::kNone) {
    if (error != WireError::kBadHlen || kCreated2HeaderBytes + hlen <= data.size()) {
      __builtin_trap();
    }
    return;
  }
  if (hdata.size() != hlen || hdata.data() != data.data() + kCreated2HeaderBytes) {
    __builtin_trap();
  }
  std::array<uint8_t, kCellBodyBytes> built{};
  const size_t n = BuildCreated2(hdata, built);
  const size_t want = kCreated2HeaderBytes + hlen;
  if (want > built.size()) {
    if (n != 0) __builtin_trap();  // too long for the buffer: refused, not truncated
    return;
  }
  if (n != want || std::memcmp(built.data(), data.data(), n) != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  CheckCreate2(input);
  CheckCreated2(input);
  return 0;
}
