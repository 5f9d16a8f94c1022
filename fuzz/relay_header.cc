// Fuzzes both relay payload layouts: a parsed payload's data always lies inside the payload and
// is at most 498 bytes; building from a parse gives back the same fields.
#include <array>
#include <cstdint>
#include <cstring>

#include "circuit/relay_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell;
  if (size < 1) return 0;
  const RelayFormat& layout = (data[0] & 1) ? kTor1RelayFormat : kAezRelayFormat;
  std::array<uint8_t, kCellBodyBytes> payload{};
  std::memcpy(payload.data(), data + 1, size - 1 < payload.size() ? size - 1 : payload.size());
  const ParsedRelay parsed = ParseRelayPayload(layout, payload);
  if (!parsed.ok()) return 0;
  if (parsed.data.size() > kRelayDataBytes ||
      parsed.data.data() != payload.data() + kRelayHeaderBytes) {
    __builtin_trap();
  }
  std::array<uint8_t, kCellBodyBytes> rebuilt{};
  if (!BuildRelayPayload(layout, parsed.header, parsed.data, rebuilt)) __builtin_trap();
  const ParsedRelay again = ParseRelayPayload(layout, rebuilt);
  if (!again.ok() || again.header.command != parsed.header.command ||
      again.header.stream_id != parsed.header.stream_id ||
      again.header.length != parsed.header.length) {
    __builtin_trap();
  }
  return 0;
}
