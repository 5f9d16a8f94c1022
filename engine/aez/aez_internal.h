// Helpers shared by the engine's AEZ files (not part of the public API).
#ifndef RELAYCELL_ENGINE_AEZ_AEZ_INTERNAL_H_
#define RELAYCELL_ENGINE_AEZ_AEZ_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/aez/aez.h"

namespace relaycell::aez_internal {

// out = k·x in GF(2^128) (big-endian AEZ convention), by double-and-add; k is public.
void MultiplyBlock(const uint8_t x[16], uint64_t k, uint8_t out[16]);

// The offset of E^{j,i} (j >= 0): j·J ^ 2^ceil(i/8)·I ^ (i mod 8)·L.
void TweakOffset(const AezKey& key, uint64_t j, uint64_t i, uint8_t out[16]);

// AEZ-tiny (1 <= bytes <= 31). in and out may alias.
void Tiny(const AezKey& key, const uint8_t delta[16], const uint8_t* in, uint8_t* out, size_t bytes,
          bool decipher);

// out = a ^ b on 16 bytes (two 64-bit words); out may alias a or b.
inline void XorBlock(const uint8_t* a, const uint8_t* b, uint8_t* out) {
  uint64_t x[2], y[2];
  std::memcpy(x, a, 16);
  std::memcpy(y, b, 16);
  x[0] ^= y[0];
  x[1] ^= y[1];
  std::memcpy(out, x, 16);
}

// A relay cell's 10-byte nonce as AEZ-hash pads it: its bytes, 0x80, zeros.
inline void PadCellNonce(std::span<const uint8_t, kAezCellNonceBytes> nonce, uint8_t out[16]) {
  std::memset(out, 0, 16);
  std::memcpy(out, nonce.data(), kAezCellNonceBytes);
  out[kAezCellNonceBytes] = 0x80;
}

}  // namespace relaycell::aez_internal

#endif  // RELAYCELL_ENGINE_AEZ_AEZ_INTERNAL_H_
