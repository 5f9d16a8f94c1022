// AES rounds with 256-bit VAES: two blocks per VAESENC. Highway 1.0.3 uses VAES only on its
// AVX3_DL (AVX-512) target; on AVX2 it splits each 256-bit round into two AESENC and shuffles.
// CPUs with VAES but no AVX-512 (Zen 3, Alder Lake) run this instead (see AesRoundsWithPath).
#include <immintrin.h>
#include <string.h>  // explicit_bzero

#include "kernels/aes_rounds.h"
#include "kernels/aes_rounds_vaes-inl.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_VAES_TARGET __attribute__((target("avx2,aes,vaes")))

template <size_t kVectors>
RELAYCELL_VAES_TARGET inline void Rounds256(const uint8_t* in, const uint8_t* offsets,
                                            const __m256i* keys, size_t rounds, uint8_t* out) {
  __m256i v[kVectors];
  for (size_t i = 0; i < kVectors; ++i) {
    v[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + 32 * i));
    if (offsets) {
      v[i] = _mm256_xor_si256(
          v[i], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets + 32 * i)));
    }
  }
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < kVectors; ++i) v[i] = _mm256_aesenc_epi128(v[i], keys[r]);
  }
  for (size_t i = 0; i < kVectors; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * i), v[i]);
  }
}

}  // namespace

// Eight vectors (16 blocks) in flight cover the AESENC latency at two per cycle; smaller
// batches finish with four, one, then a lone 128-bit block.
RELAYCELL_VAES_TARGET void AesRoundsVaes256(const uint8_t* in, const uint8_t* offsets,
                                            size_t blocks, const uint8_t* round_keys, size_t rounds,
                                            uint8_t* out) {
  __m256i keys[kMaxAesRounds];
  for (size_t r = 0; r < rounds; ++r) {
    keys[r] = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(round_keys + 16 * r)));
  }
  size_t b = 0;
  auto at = [&](const uint8_t* p) { return p ? p + 16 * b : nullptr; };
  for (; b + 16 <= blocks; b += 16)
    Rounds256<8>(in + 16 * b, at(offsets), keys, rounds, out + 16 * b);
  for (; b + 8 <= blocks; b += 8)
    Rounds256<4>(in + 16 * b, at(offsets), keys, rounds, out + 16 * b);
  for (; b + 2 <= blocks; b += 2)
    Rounds256<1>(in + 16 * b, at(offsets), keys, rounds, out + 16 * b);
  if (b < blocks) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16 * b));
    if (offsets)
      v = _mm_xor_si128(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(offsets + 16 * b)));
    for (size_t r = 0; r < rounds; ++r) v = _mm_aesenc_si128(v, _mm256_castsi256_si128(keys[r]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16 * b), v);
  }
  explicit_bzero(keys, rounds * sizeof(__m256i));  // round keys are secret
}

}  // namespace relaycell::kernels
