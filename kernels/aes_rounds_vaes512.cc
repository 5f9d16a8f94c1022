// AES rounds with 512-bit VAES: four blocks per VAESENC (AVX-512 CPUs). The AES units take one
// zmm VAESENC per cycle at a latency of three, so four vectors in flight keep them busy; eight
// (32 blocks) also hide the loads and stores. What is left after the 32-block loop goes in one
// pass of up to seven zmm, a ymm and an xmm, all interleaved.
//
// Each round's key is broadcast from `round_keys` as the round starts (a load, no shuffle):
// unlike the 256-bit kernel's table of broadcast keys, nothing key-derived goes to the stack,
// so there is nothing to wipe, and a short call does not pay for the table and its wipe. The
// loops over vectors are unrolled by pragma: left to itself GCC 12 also keeps a copy of the
// blocks (XORed with the offsets, which are key-derived) on the stack.
#include "kernels/x86_intrinsics-inl.h"
#include "kernels/aes_rounds.h"
#include "kernels/aes_rounds_vaes-inl.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_VAES512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx2,aes,vaes")))

// The offsets, or 64 zero bytes read over and over: one load and XOR per vector either way (a
// branch per vector made GCC keep the blocks, XORed with key-derived offsets, on the stack).
alignas(64) constexpr uint8_t kNoOffsets[64] = {};
struct OffsetRows {
  const uint8_t* base;
  size_t stride;  // per 64 bytes of blocks
};
inline OffsetRows RowsOf(const uint8_t* offsets) {
  return offsets ? OffsetRows{offsets, 64} : OffsetRows{kNoOffsets, 0};
}

RELAYCELL_VAES512_TARGET inline __m512i RoundKey(const uint8_t* round_keys, size_t r) {
  return _mm512_broadcast_i32x4(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(round_keys + 16 * r)));
}

template <size_t kVectors>
RELAYCELL_VAES512_TARGET inline void Rounds512(const uint8_t* in, const uint8_t* offsets,
                                               const uint8_t* keys, size_t rounds, uint8_t* out) {
  __m512i v[kVectors];
  const OffsetRows rows = RowsOf(offsets);
#pragma GCC unroll 8
  for (size_t i = 0; i < kVectors; ++i) {
    v[i] = _mm512_xor_si512(_mm512_loadu_si512(in + 64 * i),
                            _mm512_loadu_si512(rows.base + rows.stride * i));
  }
  for (size_t r = 0; r < rounds; ++r) {
    const __m512i key = RoundKey(keys, r);
#pragma GCC unroll 8
    for (size_t i = 0; i < kVectors; ++i) v[i] = _mm512_aesenc_epi128(v[i], key);
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < kVectors; ++i) _mm512_storeu_si512(out + 64 * i, v[i]);
}

// Fewer than 32 blocks: kVectors zmm, then a ymm pair and a single block if asked, round by
// round together so their latencies overlap.
template <size_t kVectors>
RELAYCELL_VAES512_TARGET inline void Rest512(const uint8_t* in, const uint8_t* offsets,
                                             const uint8_t* keys, size_t rounds, bool pair,
                                             bool single, uint8_t* out) {
  __m512i v[kVectors > 0 ? kVectors : 1];
  const OffsetRows rows = RowsOf(offsets);
#pragma GCC unroll 8
  for (size_t i = 0; i < kVectors; ++i) {
    v[i] = _mm512_xor_si512(_mm512_loadu_si512(in + 64 * i),
                            _mm512_loadu_si512(rows.base + rows.stride * i));
  }
  const size_t at = 64 * kVectors;
  __m256i y = _mm256_setzero_si256();
  __m128i x = _mm_setzero_si128();
  if (pair) {
    y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + at));
    if (offsets) {
      y = _mm256_xor_si256(y, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(offsets + at)));
    }
  }
  const size_t single_at = at + (pair ? 32 : 0);
  if (single) {
    x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + single_at));
    if (offsets) {
      x = _mm_xor_si128(x, _mm_loadu_si128(reinterpret_cast<const __m128i*>(offsets + single_at)));
    }
  }
  for (size_t r = 0; r < rounds; ++r) {
    const __m512i key = RoundKey(keys, r);
#pragma GCC unroll 8
    for (size_t i = 0; i < kVectors; ++i) v[i] = _mm512_aesenc_epi128(v[i], key);
    if (pair) y = _mm256_aesenc_epi128(y, _mm512_castsi512_si256(key));
    if (single) x = _mm_aesenc_si128(x, _mm512_castsi512_si128(key));
  }
#pragma GCC unroll 8
  for (size_t i = 0; i < kVectors; ++i) _mm512_storeu_si512(out + 64 * i, v[i]);
  if (pair) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), y);
  if (single) _mm_storeu_si128(reinterpret_cast<__m128i*>(out + single_at), x);
}

}  // namespace

RELAYCELL_VAES512_TARGET void AesRoundsVaes512(const uint8_t* in, const uint8_t* offsets,
                                               size_t blocks, const uint8_t* round_keys,
                                               size_t rounds, uint8_t* out) {
  const uint8_t* keys = round_keys;
  size_t b = 0;
  auto at = [&](const uint8_t* p) { return p ? p + 16 * b : nullptr; };
  for (; b + 32 <= blocks; b += 32)
    Rounds512<8>(in + 16 * b, at(offsets), keys, rounds, out + 16 * b);
  const size_t rest = blocks - b;
  const bool pair = (rest & 2) != 0, single = (rest & 1) != 0;
  // All of the rest in one pass (up to seven zmm, a ymm and an xmm interleaved round by
  // round): AEZ's 28-block call is seven zmm in flight, not four and then three, which left
  // the unit waiting on the second batch's latency (measured: 12% faster on 28 x 4 rounds).
  switch (rest / 4) {  // no lambda: it would not carry the target attribute
    case 7: Rest512<7>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 6: Rest512<6>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 5: Rest512<5>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 4: Rest512<4>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 3: Rest512<3>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 2: Rest512<2>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    case 1: Rest512<1>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
    default: Rest512<0>(in + 16 * b, at(offsets), keys, rounds, pair, single, out + 16 * b); break;
  }
}

}  // namespace relaycell::kernels
