// Private to kernels/: the aez layer's chain step, chain ^= AES-256(chain), inlined into the
// cell kernels (kernels/aez_core_vaes*.cc), where its 14 serial rounds run beside AEZ-core's,
// and behind Aes256EncryptBlockAesNi (kernels/aes256_block.h). Only for CPUs with AES-NI.
#ifndef RELAYCELL_KERNELS_AES256_BLOCK_INL_H_
#define RELAYCELL_KERNELS_AES256_BLOCK_INL_H_

#include <immintrin.h>

#include <cstdint>

namespace relaycell::kernels {

// AES-256 of `block` under 15 round keys.
__attribute__((target("aes,sse2"), always_inline)) inline __m128i Aes256Block(
    const uint8_t* round_keys, __m128i block) {
  const __m128i* rk = reinterpret_cast<const __m128i*>(round_keys);
  __m128i b = _mm_xor_si128(block, _mm_loadu_si128(rk));
  for (int r = 1; r < 14; ++r) b = _mm_aesenc_si128(b, _mm_loadu_si128(rk + r));
  return _mm_aesenclast_si128(b, _mm_loadu_si128(rk + 14));
}

// chain ^= AES-256(chain), in place.
__attribute__((target("aes,sse2"), always_inline)) inline void StepChain(const uint8_t* round_keys,
                                                                         uint8_t chain[16]) {
  __m128i* at = reinterpret_cast<__m128i*>(chain);
  const __m128i value = _mm_loadu_si128(at);
  _mm_storeu_si128(at, _mm_xor_si128(value, Aes256Block(round_keys, value)));
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AES256_BLOCK_INL_H_
