// Fuzzes BEGIN's "host:port" NUL parser (network.md §5): a parsed target has a non-empty host
// within 255 bytes of the allowed characters (or a literal) and a non-zero port; building it
// and parsing that gives back the same target.
#include <array>
#include <cstdint>
#include <span>

#include "net/wire/begin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell::net;
  BeginTarget target;
  if (ParseBegin(std::span<const uint8_t>(data, size), target) != WireError::kNone) return 0;
  BeginTargetKind kind = BeginTargetKind::kHostname;
  if (target.port == 0 || target.host.empty() || target.host.size() > kMaxHostnameBytes ||
      ClassifyHost(target.host, kind) != WireError::kNone || kind != target.kind) {
    __builtin_trap();
  }
  std::array<uint8_t, 498> built{};
  const size_t n = BuildBegin(target, built);
  if (n == 0 || n > size) __builtin_trap();  // the canonical form is never longer
  BeginTarget again;
  if (ParseBegin(std::span<const uint8_t>(built).first(n), again) != WireError::kNone ||
      !(again == target)) {
    __builtin_trap();
  }
  return 0;
}
