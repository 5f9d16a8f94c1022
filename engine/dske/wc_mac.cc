#include "engine/dske/wc_mac.h"

#include <sodium.h>

#include <array>
#include <cstring>

#include "engine/common/ct_check.h"
#include "kernels/polyval.h"

namespace relaycell::wc_mac {
namespace {

constexpr size_t RoundUp16(size_t n) { return (n + 15) & ~size_t{15}; }

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}

}  // namespace

WcMacError ComputeTag(std::span<const uint8_t, kKeyBytes> key, std::span<const uint8_t> header,
                      std::span<const uint8_t> ciphertext, std::span<uint8_t, kTagBytes> tag) {
  if (header.size() > kMaxInputBytes || ciphertext.size() > kMaxInputBytes - header.size()) {
    return WcMacError::kTooLong;
  }
  // The input is public (header and ciphertext are on the wire); only H and r are secret.
  alignas(16) std::array<uint8_t, kMaxInputBytes + 32 + 16> input{};
  const size_t header_end = RoundUp16(header.size());
  const size_t body_end = header_end + RoundUp16(ciphertext.size());
  if (!header.empty()) std::memcpy(input.data(), header.data(), header.size());
  if (!ciphertext.empty())
    std::memcpy(input.data() + header_end, ciphertext.data(), ciphertext.size());
  PutU64(input.data() + body_end, header.size());
  PutU64(input.data() + body_end + 8, ciphertext.size());
  std::array<uint8_t, kernels::kPolyvalBytes> hash;
  kernels::Polyval(key.first<16>(), std::span(input.data(), body_end + 16), hash);
  for (size_t i = 0; i < kTagBytes; ++i) tag[i] = hash[i] ^ key[16 + i];
  sodium_memzero(hash.data(), hash.size());
  return WcMacError::kOk;
}

WcMacError VerifyTag(std::span<const uint8_t, kKeyBytes> key, std::span<const uint8_t> header,
                     std::span<const uint8_t> ciphertext, std::span<const uint8_t, kTagBytes> tag) {
  std::array<uint8_t, kTagBytes> expected;
  const WcMacError e = ComputeTag(key, header, ciphertext, expected);
  bool equal = e == WcMacError::kOk && sodium_memcmp(expected.data(), tag.data(), kTagBytes) == 0;
  // Public by design: the MAC verdict (a constant-time compare) decides, in plain sight,
  // whether the message is dropped. The expected tag stays secret.
  RELAYCELL_CT_PUBLIC(&equal, sizeof equal);
  sodium_memzero(expected.data(), expected.size());
  if (e != WcMacError::kOk) return e;
  return equal ? WcMacError::kOk : WcMacError::kMismatch;
}

}  // namespace relaycell::wc_mac
