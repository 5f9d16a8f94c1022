// Fuzzes EXTEND2's parser (network.md §4): a parsed request has one identity, 1..4 addresses
// with non-zero ports and HDATA inside the input; building it and parsing that gives back the
// same request.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "net/wire/extend2.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell::net;
  const std::span<const uint8_t> input(data, size);
  Extend2Request request;
  if (ParseExtend2(input, request) != WireError::kNone) return 0;
  if (request.address_count == 0 || request.address_count > kMaxExtendAddresses ||
      request.hdata.data() < data || request.hdata.data() + request.hdata.size() > data + size) {
    __builtin_trap();
  }
  for (const Endpoint& endpoint : request.endpoints()) {
    if (endpoint.port == 0) __builtin_trap();
  }
  std::array<uint8_t, 1 + 4 * 20 + 34 + 4 + 65535> built;
  const size_t n = BuildExtend2(request, built);
  if (n == 0) __builtin_trap();
  Extend2Request again;
  if (ParseExtend2(std::span<const uint8_t>(built).first(n), again) != WireError::kNone ||
      again.identity != request.identity || again.address_count != request.address_count ||
      !std::equal(again.endpoints().begin(), again.endpoints().end(),
                  request.endpoints().begin()) ||
      again.htype != request.htype ||
      !std::equal(again.hdata.begin(), again.hdata.end(), request.hdata.begin(),
                  request.hdata.end())) {
    __builtin_trap();
  }
  return 0;
}
