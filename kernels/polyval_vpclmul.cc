// POLYVAL with 256-bit VPCLMULQDQ: two blocks per carry-less multiply. Highway 1.0.3 uses only
// 128-bit CLMUL on its AVX2 target; CPUs with VPCLMULQDQ but no AVX-512 (Zen 3, Alder Lake)
// run this instead (see PolyvalJobs in kernels/polyval.cc). Same field and Montgomery
// reduction as kernels/polyval.cc; every 256-bit operation here works on two independent
// 128-bit lanes.
//
// Where the time goes for one 512-byte message under a fresh key (the WC MAC case): the eight
// powers of H (three dependent multiplications, built as a tree), then one dependent chain of
// (fold in state, multiply, reduce) per eight blocks. Batches run up to kLockstep jobs in
// lockstep so those chains of different messages overlap in the out-of-order window.
#include <immintrin.h>
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstring>

#include "kernels/polyval.h"
#include "kernels/polyval_vpclmul-inl.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_VPCLMUL_TARGET __attribute__((target("avx2,pclmul,vpclmulqdq")))
#define RELAYCELL_VPCLMUL_INLINE RELAYCELL_VPCLMUL_TARGET __attribute__((always_inline)) inline

// x^63 + x^62 + x^57: P's terms above x^64, shifted down by 64 (see kernels/polyval.cc).
constexpr uint64_t kFold = 0xC200000000000000ULL;
constexpr size_t kAggregate = 8;  // blocks per reduction
constexpr size_t kLockstep = 4;   // jobs in flight in PolyvalJobsVpclmul256

// A 256-bit product as three parts: lo = a0·b0, mid = a0·b1 ^ a1·b0, hi = a1·b1.
struct Wide128 {
  __m128i lo, mid, hi;
};
struct Wide256 {  // two independent Wide128, one per lane
  __m256i lo, mid, hi;
};

RELAYCELL_VPCLMUL_INLINE __m128i Swap64(__m128i v) { return _mm_shuffle_epi32(v, 0x4E); }
RELAYCELL_VPCLMUL_INLINE __m256i Swap64(__m256i v) { return _mm256_shuffle_epi32(v, 0x4E); }

RELAYCELL_VPCLMUL_INLINE Wide128 Mul(__m128i a, __m128i b) {
  return Wide128{_mm_clmulepi64_si128(a, b, 0x00),
                 _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10)),
                 _mm_clmulepi64_si128(a, b, 0x11)};
}
RELAYCELL_VPCLMUL_INLINE void MulAdd(__m128i a, __m128i b, Wide128& acc) {
  const Wide128 p = Mul(a, b);
  acc.lo = _mm_xor_si128(acc.lo, p.lo);
  acc.mid = _mm_xor_si128(acc.mid, p.mid);
  acc.hi = _mm_xor_si128(acc.hi, p.hi);
}
RELAYCELL_VPCLMUL_INLINE Wide256 Mul(__m256i a, __m256i b) {
  return Wide256{
      _mm256_clmulepi64_epi128(a, b, 0x00),
      _mm256_xor_si256(_mm256_clmulepi64_epi128(a, b, 0x01), _mm256_clmulepi64_epi128(a, b, 0x10)),
      _mm256_clmulepi64_epi128(a, b, 0x11)};
}

// t * x^-128 mod P: fold the low word twice by kFold (P's low word is 1), keep the high half.
RELAYCELL_VPCLMUL_INLINE __m128i Reduce(const Wide128& t) {
  const __m128i fold = _mm_set1_epi64x(static_cast<long long>(kFold));
  const __m128i lo = _mm_xor_si128(t.lo, _mm_bslli_si128(t.mid, 8));  // t0, t1
  const __m128i hi = _mm_xor_si128(t.hi, _mm_bsrli_si128(t.mid, 8));  // t2, t3
  const __m128i folded = _mm_xor_si128(Swap64(lo), _mm_clmulepi64_si128(lo, fold, 0x00));
  return _mm_xor_si128(hi, _mm_xor_si128(Swap64(folded), _mm_clmulepi64_si128(folded, fold, 0x00)));
}
RELAYCELL_VPCLMUL_INLINE __m256i Reduce(const Wide256& t) {
  const __m256i fold = _mm256_set1_epi64x(static_cast<long long>(kFold));
  const __m256i lo = _mm256_xor_si256(t.lo, _mm256_bslli_epi128(t.mid, 8));
  const __m256i hi = _mm256_xor_si256(t.hi, _mm256_bsrli_epi128(t.mid, 8));
  const __m256i folded = _mm256_xor_si256(Swap64(lo), _mm256_clmulepi64_epi128(lo, fold, 0x00));
  return _mm256_xor_si256(
      hi, _mm256_xor_si256(Swap64(folded), _mm256_clmulepi64_epi128(folded, fold, 0x00)));
}

// The reduction is linear, so two lanes' unreduced sums add before one 128-bit reduction.
RELAYCELL_VPCLMUL_INLINE Wide128 AddLanes(const Wide256& t) {
  return Wide128{_mm_xor_si128(_mm256_castsi256_si128(t.lo), _mm256_extracti128_si256(t.lo, 1)),
                 _mm_xor_si128(_mm256_castsi256_si128(t.mid), _mm256_extracti128_si256(t.mid, 1)),
                 _mm_xor_si128(_mm256_castsi256_si128(t.hi), _mm256_extracti128_si256(t.hi, 1))};
}

RELAYCELL_VPCLMUL_INLINE __m256i Pair(__m128i low, __m128i high) {
  return _mm256_set_m128i(high, low);
}
RELAYCELL_VPCLMUL_INLINE __m128i Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
RELAYCELL_VPCLMUL_INLINE __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Secret (derived from H): wiped by the caller.
struct Powers {
  __m128i h[kAggregate];         // h[i] = H^(i+1)
  __m256i pair[kAggregate / 2];  // pair[i] = (H^(8-2i), H^(7-2i)) for blocks 2i, 2i + 1 of eight
  __m256i pair_sum[kAggregate / 2];  // per lane, both words = the power's low word ^ high word
};

// Only the powers a message of `blocks` blocks uses, in three levels of multiplication
// (H^2; H^3, H^4; H^5..H^8) rather than seven dependent ones.
RELAYCELL_VPCLMUL_INLINE void ComputePowers(const uint8_t* key, size_t blocks, Powers& p) {
  p.h[0] = Load128(key);
  if (blocks < 2) return;
  p.h[1] = Reduce(Mul(p.h[0], p.h[0]));
  if (blocks < 3) return;
  const __m256i h12 = Pair(p.h[0], p.h[1]);
  const __m256i h34 = Reduce(Mul(Pair(p.h[1], p.h[1]), h12));
  p.h[2] = _mm256_castsi256_si128(h34);
  p.h[3] = _mm256_extracti128_si256(h34, 1);
  if (blocks < 5) return;
  const __m256i h4x2 = Pair(p.h[3], p.h[3]);
  const __m256i h56 = Reduce(Mul(h4x2, h12));
  const __m256i h78 = Reduce(Mul(h4x2, h34));
  p.h[4] = _mm256_castsi256_si128(h56);
  p.h[5] = _mm256_extracti128_si256(h56, 1);
  p.h[6] = _mm256_castsi256_si128(h78);
  p.h[7] = _mm256_extracti128_si256(h78, 1);
  if (blocks < kAggregate) return;
  for (size_t i = 0; i < kAggregate / 2; ++i) {
    p.pair[i] = Pair(p.h[7 - 2 * i], p.h[6 - 2 * i]);
    p.pair_sum[i] = _mm256_xor_si256(p.pair[i], Swap64(p.pair[i]));
  }
}

// Karatsuba: the middle term from one multiply, (x0 ^ x1)·(h0 ^ h1) = mid ^ lo ^ hi, so a block
// costs three carry-less multiplies, not four. acc.mid holds the sum of those products until
// FinishKaratsuba takes lo and hi back out (once per eight blocks).
RELAYCELL_VPCLMUL_INLINE void KaratsubaMulAdd(__m256i x, __m256i h, __m256i h_sum, Wide256& acc) {
  acc.lo = _mm256_xor_si256(acc.lo, _mm256_clmulepi64_epi128(x, h, 0x00));
  acc.hi = _mm256_xor_si256(acc.hi, _mm256_clmulepi64_epi128(x, h, 0x11));
  acc.mid = _mm256_xor_si256(acc.mid,
                             _mm256_clmulepi64_epi128(_mm256_xor_si256(x, Swap64(x)), h_sum, 0x00));
}
RELAYCELL_VPCLMUL_INLINE Wide128 FinishKaratsuba(Wide128 t) {
  t.mid = _mm_xor_si128(t.mid, _mm_xor_si128(t.lo, t.hi));
  return t;
}

// Eight whole blocks: (S ^ X1)·H^8 ^ X2·H^7 ^ ... ^ X8·H^1, one reduction. Only the first
// product waits for the previous state.
RELAYCELL_VPCLMUL_INLINE __m128i Round(__m128i state, const uint8_t* blocks, const Powers& p) {
  const __m256i zero = _mm256_setzero_si256();
  Wide256 acc{zero, zero, zero};
  KaratsubaMulAdd(Load256(blocks + 32), p.pair[1], p.pair_sum[1], acc);
  KaratsubaMulAdd(Load256(blocks + 64), p.pair[2], p.pair_sum[2], acc);
  KaratsubaMulAdd(Load256(blocks + 96), p.pair[3], p.pair_sum[3], acc);
  KaratsubaMulAdd(_mm256_xor_si256(Load256(blocks), Pair(state, _mm_setzero_si128())), p.pair[0],
                  p.pair_sum[0], acc);
  return Reduce(FinishKaratsuba(AddLanes(acc)));
}

// The last 0..7 whole blocks and an optional zero-padded final block, one reduction.
RELAYCELL_VPCLMUL_INLINE __m128i Tail(__m128i state, const uint8_t* blocks, size_t whole,
                                      const uint8_t* last, const Powers& p) {
  const size_t count = whole + (last != nullptr);
  if (count == 0) return state;
  Wide128 acc = Mul(_mm_xor_si128(Load128(whole > 0 ? blocks : last), state), p.h[count - 1]);
  for (size_t i = 1; i < count; ++i) {
    MulAdd(Load128(i < whole ? blocks + 16 * i : last), p.h[count - 1 - i], acc);
  }
  return Reduce(acc);
}

// G jobs in lockstep: their powers, then their rounds interleaved, then their tails.
template <size_t G>
RELAYCELL_VPCLMUL_TARGET void Group(const PolyvalJob* jobs) {
  Powers powers[G];
  __m128i state[G];
  size_t rounds[G];
  size_t max_rounds = 0;
  for (size_t j = 0; j < G; ++j) {
    const size_t blocks = (jobs[j].length + 15) / 16;
    ComputePowers(jobs[j].h, blocks, powers[j]);
    state[j] = _mm_setzero_si128();
    rounds[j] = jobs[j].length / (16 * kAggregate);
    max_rounds = std::max(max_rounds, rounds[j]);
  }
  for (size_t r = 0; r < max_rounds; ++r) {
    for (size_t j = 0; j < G; ++j) {
      if (r < rounds[j]) {  // lengths are public
        state[j] = Round(state[j], jobs[j].message + 16 * kAggregate * r, powers[j]);
      }
    }
  }
  for (size_t j = 0; j < G; ++j) {
    const size_t done = 16 * kAggregate * rounds[j];
    const size_t whole = jobs[j].length / 16 - kAggregate * rounds[j];
    const size_t partial = jobs[j].length % 16;
    alignas(16) uint8_t last[16] = {};
    if (partial != 0) std::memcpy(last, jobs[j].message + done + 16 * whole, partial);
    state[j] =
        Tail(state[j], jobs[j].message + done, whole, partial != 0 ? last : nullptr, powers[j]);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(jobs[j].out), state[j]);
    explicit_bzero(last, sizeof last);
  }
  explicit_bzero(powers, sizeof powers);
  explicit_bzero(state, sizeof state);
}

}  // namespace

void PolyvalJobsVpclmul256(const PolyvalJob* jobs, size_t count) {
  size_t at = 0;
  for (; at + kLockstep <= count; at += kLockstep) Group<kLockstep>(jobs + at);
  switch (count - at) {
    case 3: Group<3>(jobs + at); break;
    case 2: Group<2>(jobs + at); break;
    case 1: Group<1>(jobs + at); break;
    default: break;
  }
}

}  // namespace relaycell::kernels
