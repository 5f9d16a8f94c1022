#include "kernels/aes256_block.h"

#include <immintrin.h>

namespace relaycell::kernels {

__attribute__((target("aes,sse2"))) void Aes256EncryptBlockAesNi(
    const uint8_t round_keys[kAes256ScheduleBytes], const uint8_t in[16], uint8_t out[16]) {
  const __m128i* rk = reinterpret_cast<const __m128i*>(round_keys);
  __m128i b =
      _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in)), _mm_loadu_si128(rk));
  for (int r = 1; r < 14; ++r) b = _mm_aesenc_si128(b, _mm_loadu_si128(rk + r));
  b = _mm_aesenclast_si128(b, _mm_loadu_si128(rk + 14));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), b);
}

}  // namespace relaycell::kernels
