// AEZ-tiny: a balanced Feistel network for 1..31-byte messages. Each round depends on the
// previous one, so the E calls go one at a time; tiny messages are rare on a relay.
#include <sodium.h>

#include <cstring>

#include "engine/aez/aez_internal.h"
#include "kernels/aes_rounds.h"

namespace relaycell::aez_internal {
namespace {

// out = E^{0,i}(in) = AES4(in ^ 2^ceil(i/8)·I ^ (i mod 8)·L), i in 1..7 here.
void E0(const AezKey& key, size_t i, const uint8_t in[16], uint8_t out[16]) {
  uint8_t offset[16];
  XorBlock(key.blocks().i_powers[1], key.blocks().l_multiple(i), offset);
  kernels::AesRounds(std::span<const uint8_t>(in, 16), std::span<const uint8_t>(offset, 16),
                     key.blocks().aes4_schedule(), std::span<uint8_t>(out, 16));
  sodium_memzero(offset, sizeof offset);  // 2I ^ iL
}

// The top bit of E^{0,3}(Δ ^ ((X || 0*) with its first bit set)): the extra mixing that
// keeps messages under 16 bytes from being distinguishable by their first bit.
uint8_t TopBitMask(const AezKey& key, const uint8_t delta[16], const uint8_t* x, size_t bytes) {
  uint8_t block[16] = {};
  std::memcpy(block, x, bytes);
  block[0] |= 0x80;
  XorBlock(block, delta, block);
  E0(key, 3, block, block);
  const uint8_t bit = block[0] & 0x80;
  sodium_memzero(block, sizeof block);
  return bit;
}

}  // namespace

void Tiny(const AezKey& key, const uint8_t delta[16], const uint8_t* in, uint8_t* out, size_t bytes,
          bool decipher) {
  const size_t rounds = bytes == 1 ? 24 : bytes == 2 ? 16 : bytes < 16 ? 10 : 8;
  const size_t tweak_index = bytes < 16 ? 7 : 6;
  const size_t half = (bytes + 1) / 2;  // bytes holding one half (4·bytes bits)
  const bool odd = (bytes & 1) != 0;
  // Halves, left-aligned; with an odd length the last byte of each holds one valid nibble.
  uint8_t left[16] = {}, right[16] = {}, block[16];
  std::memcpy(left, in, half);
  std::memcpy(right, in + bytes / 2, half);
  if (odd) {
    for (size_t k = 0; k + 1 < half; ++k)
      right[k] = static_cast<uint8_t>(right[k] << 4 | right[k + 1] >> 4);
    right[half - 1] = static_cast<uint8_t>(right[half - 1] << 4);
  }
  if (decipher && bytes < 16) left[0] ^= TopBitMask(key, delta, in, bytes);

  // F(h, j) = E^{0,k}(Δ ^ (h || 10*) ^ [j]_128), truncated to one half.
  auto feistel = [&](const uint8_t* source, uint8_t* target, size_t j) {
    std::memset(block, 0, 16);
    std::memcpy(block, source, half);
    if (odd) {
      block[half - 1] = static_cast<uint8_t>((block[half - 1] & 0xF0) | 0x08);
    } else {
      block[half] = 0x80;
    }
    XorBlock(block, delta, block);
    block[15] ^= static_cast<uint8_t>(j);
    E0(key, tweak_index, block, block);
    for (size_t k = 0; k < half; ++k) target[k] ^= block[k];
  };
  if (!decipher) {
    for (size_t j = 0; j < rounds; j += 2) {
      feistel(right, left, j);
      feistel(left, right, j + 1);
    }
  } else {
    for (size_t j = rounds; j >= 2; j -= 2) {
      feistel(right, left, j - 1);
      feistel(left, right, j - 2);
    }
  }
  // Output R || L, rejoined mid-byte for odd lengths.
  uint8_t joined[32] = {};
  std::memcpy(joined, right, bytes / 2);
  if (odd) {
    joined[bytes / 2] = static_cast<uint8_t>((right[bytes / 2] & 0xF0) | (left[0] >> 4));
    for (size_t k = 0; k + 1 < half; ++k) {
      joined[bytes / 2 + 1 + k] = static_cast<uint8_t>(left[k] << 4 | left[k + 1] >> 4);
    }
  } else {
    std::memcpy(joined + bytes / 2, left, half);
  }
  if (!decipher && bytes < 16) joined[0] ^= TopBitMask(key, delta, joined, bytes);
  std::memcpy(out, joined, bytes);
  sodium_memzero(left, sizeof left);
  sodium_memzero(right, sizeof right);
  sodium_memzero(block, sizeof block);
  sodium_memzero(joined, sizeof joined);
}

}  // namespace relaycell::aez_internal
