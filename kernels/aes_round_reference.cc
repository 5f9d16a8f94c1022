// Portable, constant-time AES round. Slow by design: it is the reference the SIMD targets are
// tested against, and the fallback on CPUs without any vector AES path.
#include <cstdint>

#include "kernels/aes_rounds.h"

namespace relaycell::kernels {
namespace {

// GF(2^8) multiply with the AES polynomial 0x11B, no branches on data.
uint8_t GfMulConstantTime(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int bit = 0; bit < 8; ++bit) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1B));
    b >>= 1;
  }
  return product;
}

// S(x) = affine(x^254); x^254 is the field inverse (0 maps to 0).
uint8_t SubByte(uint8_t x) {
  uint8_t x2 = GfMulConstantTime(x, x);
  uint8_t x3 = GfMulConstantTime(x2, x);
  uint8_t x6 = GfMulConstantTime(x3, x3);
  uint8_t x12 = GfMulConstantTime(x6, x6);
  uint8_t x15 = GfMulConstantTime(x12, x3);
  uint8_t x30 = GfMulConstantTime(x15, x15);
  uint8_t x60 = GfMulConstantTime(x30, x30);
  uint8_t x120 = GfMulConstantTime(x60, x60);
  uint8_t x126 = GfMulConstantTime(x120, x6);
  uint8_t x127 = GfMulConstantTime(x126, x);
  uint8_t inverse = GfMulConstantTime(x127, x127);  // x^254
  auto rotl = [](uint8_t v, int n) { return static_cast<uint8_t>((v << n) | (v >> (8 - n))); };
  return static_cast<uint8_t>(inverse ^ rotl(inverse, 1) ^ rotl(inverse, 2) ^ rotl(inverse, 3) ^
                              rotl(inverse, 4) ^ 0x63);
}

}  // namespace

void AesRoundReference(const uint8_t in[16], const uint8_t round_key[16], uint8_t out[16]) {
  // State is column-major: byte 4c + r is row r of column c.
  uint8_t shifted[16];
  for (int c = 0; c < 4; ++c) {
    for (int r = 0; r < 4; ++r) {
      shifted[4 * c + r] = SubByte(in[4 * ((c + r) % 4) + r]);
    }
  }
  for (int c = 0; c < 4; ++c) {
    const uint8_t* col = shifted + 4 * c;
    for (int r = 0; r < 4; ++r) {
      out[4 * c + r] = static_cast<uint8_t>(
          GfMulConstantTime(col[r], 2) ^ GfMulConstantTime(col[(r + 1) % 4], 3) ^ col[(r + 2) % 4] ^
          col[(r + 3) % 4] ^ round_key[4 * c + r]);
    }
  }
}

}  // namespace relaycell::kernels
