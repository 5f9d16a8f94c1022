// POLYVAL with 512-bit VPCLMULQDQ: four blocks per carry-less multiply (AVX-512 CPUs). Same
// field, Montgomery reduction and aggregated reduction over eight blocks as
// kernels/polyval_vpclmul.cc; every 512-bit operation here works on four independent 128-bit
// lanes. On Ice Lake through Emerald Rapids a 512-bit VPCLMULQDQ issues once per cycle like the
// 256-bit one, so each does twice the work.
//
// Beside the width:
// - A round's sum is formed in one of two shapes (see Step): for a job alone, whose time is its
//   chain from one round's state to the next, the state's product is kept out of the lane sums;
//   for jobs in lockstep, whose time is port 5 (carry-less multiplies and shuffles share it), the
//   four lanes are reduced at once and summed after.
// - The reduction takes two shuffles, not four (see Reduce).
// - The last 1..8 blocks (a partial one zero-padded) are read with masked loads and multiplied
//   by a window of the table [H^8 .. H^1, 0 x 8] that starts at H^count, so block i meets
//   H^(count - i) and absent blocks meet zero: no copy of the message and one reduction.
//
#include "kernels/x86_intrinsics-inl.h"
#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstring>

#include "kernels/polyval.h"
#include "kernels/polyval_vpclmul-inl.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_VPCLMUL512_TARGET \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx2,pclmul,vpclmulqdq")))
#define RELAYCELL_VPCLMUL512_INLINE \
  RELAYCELL_VPCLMUL512_TARGET __attribute__((always_inline)) inline

// x^63 + x^62 + x^57: P's terms above x^64, shifted down by 64 (see kernels/polyval.cc).
constexpr uint64_t kFold = 0xC200000000000000ULL;
constexpr size_t kAggregate = 8;  // blocks per reduction
constexpr size_t kLockstep = 4;   // jobs in flight

// A 256-bit product as three parts: lo = a0·b0, mid = a0·b1 ^ a1·b0, hi = a1·b1.
struct Wide128 {
  __m128i lo, mid, hi;
};
struct Wide512 {  // four independent Wide128, one per lane
  __m512i lo, mid, hi;
};

RELAYCELL_VPCLMUL512_INLINE __m512i Swap64(__m512i v) {
  return _mm512_shuffle_epi32(v, _MM_PERM_BADC);
}

RELAYCELL_VPCLMUL512_INLINE Wide128 Mul(__m128i a, __m128i b) {
  return Wide128{_mm_clmulepi64_si128(a, b, 0x00),
                 _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10)),
                 _mm_clmulepi64_si128(a, b, 0x11)};
}
RELAYCELL_VPCLMUL512_INLINE Wide512 Mul(__m512i a, __m512i b) {
  return Wide512{
      _mm512_clmulepi64_epi128(a, b, 0x00),
      _mm512_xor_si512(_mm512_clmulepi64_epi128(a, b, 0x01), _mm512_clmulepi64_epi128(a, b, 0x10)),
      _mm512_clmulepi64_epi128(a, b, 0x11)};
}

// t * x^-128 mod P, the Montgomery reduction of kernels/polyval.cc rearranged to two shuffles:
// with lo = (l0, l1), mid = (m0, m1), a = l0·F = (a0, a1) and c = mid ^ a,
//   v = lo ^ (c << 64) = (l0, l1 ^ m0 ^ a0)   (the words left after the first fold),
//   result = hi ^ (c >> 64) ^ v ^ v1·F         (the second fold, of v's high word).
// Shuffles and carry-less multiplies share port 5 on Intel cores, so two fewer shuffles per
// reduction is throughput as well as latency.
RELAYCELL_VPCLMUL512_INLINE __m128i Reduce(const Wide128& t) {
  const __m128i fold = _mm_set1_epi64x(static_cast<long long>(kFold));
  const __m128i c = _mm_xor_si128(t.mid, _mm_clmulepi64_si128(t.lo, fold, 0x00));
  const __m128i v = _mm_xor_si128(t.lo, _mm_bslli_si128(c, 8));
  return _mm_xor_si128(_mm_xor_si128(t.hi, _mm_bsrli_si128(c, 8)),
                       _mm_xor_si128(v, _mm_clmulepi64_si128(v, fold, 0x01)));
}
RELAYCELL_VPCLMUL512_INLINE __m512i Reduce(const Wide512& t) {
  const __m512i fold = _mm512_set1_epi64(static_cast<long long>(kFold));
  const __m512i c = _mm512_xor_si512(t.mid, _mm512_clmulepi64_epi128(t.lo, fold, 0x00));
  const __m512i v = _mm512_xor_si512(t.lo, _mm512_bslli_epi128(c, 8));
  return _mm512_ternarylogic_epi64(_mm512_xor_si512(t.hi, _mm512_bsrli_epi128(c, 8)), v,
                                   _mm512_clmulepi64_epi128(v, fold, 0x01), 0x96);
}

// Four lanes to one 128-bit value: the XOR of all four.
RELAYCELL_VPCLMUL512_INLINE __m128i AddLanes(__m512i v) {
  const __m256i half = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  return _mm_xor_si128(_mm256_castsi256_si128(half), _mm256_extracti128_si256(half, 1));
}

RELAYCELL_VPCLMUL512_INLINE __m128i Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Secret (derived from H): wiped by the caller.
struct Powers {
  // table[i] = H^(8 - i) for i < 8, zero after: the tail's windows (and rounds use 0..7).
  alignas(64) __m128i table[2 * kAggregate];
  __m512i quad[2];      // quad[q] = table[4q .. 4q + 3]: (H^8, H^7, H^6, H^5), (H^4 .. H^1)
  __m512i quad_sum[2];  // per lane, both words = the power's low word ^ high word
};

// Only the powers a message of `blocks` blocks uses, in three levels of multiplication
// (H^2; H^4, H^3; H^8..H^5), built in the table's (descending) order so no lane shuffles.
RELAYCELL_VPCLMUL512_INLINE void ComputePowers(const uint8_t* key, size_t blocks, Powers& p) {
  const __m128i zero = _mm_setzero_si128();
  for (size_t i = kAggregate; i < 2 * kAggregate; ++i) p.table[i] = zero;
  const __m128i h1 = Load128(key);
  p.table[7] = h1;
  if (blocks < 2) return;
  const __m128i h2 = Reduce(Mul(h1, h1));
  p.table[6] = h2;
  if (blocks < 3) return;
  const __m256i h21 = _mm256_set_m128i(h1, h2);  // lanes (H^2, H^1)
  const __m256i h43 = _mm512_castsi512_si256(
      Reduce(Mul(_mm512_zextsi256_si512(_mm256_set_m128i(h2, h2)), _mm512_zextsi256_si512(h21))));
  p.table[4] = _mm256_castsi256_si128(h43);
  p.table[5] = _mm256_extracti128_si256(h43, 1);
  if (blocks < 5) return;
  const __m512i low = _mm512_inserti64x4(_mm512_castsi256_si512(h43), h21, 1);  // H^4 .. H^1
  const __m512i high = Reduce(Mul(_mm512_broadcast_i32x4(p.table[4]), low));    // H^8 .. H^5
  _mm512_store_si512(&p.table[0], high);
  if (blocks < kAggregate) return;
  p.quad[0] = high;
  p.quad[1] = low;
  for (size_t q = 0; q < 2; ++q) p.quad_sum[q] = _mm512_xor_si512(p.quad[q], Swap64(p.quad[q]));
}

// Karatsuba: the middle term from one multiply, (x0 ^ x1)·(h0 ^ h1) = mid ^ lo ^ hi, so a block
// costs three carry-less multiplies, not four. acc.mid holds the sum of those products until
// lo and hi are taken back out.
RELAYCELL_VPCLMUL512_INLINE void KaratsubaMulAdd(__m512i x, __m512i h, __m512i h_sum,
                                                 Wide512& acc) {
  acc.lo = _mm512_xor_si512(acc.lo, _mm512_clmulepi64_epi128(x, h, 0x00));
  acc.hi = _mm512_xor_si512(acc.hi, _mm512_clmulepi64_epi128(x, h, 0x11));
  acc.mid = _mm512_xor_si512(acc.mid,
                             _mm512_clmulepi64_epi128(_mm512_xor_si512(x, Swap64(x)), h_sum, 0x00));
}

// state' = (S ^ X1)·P1 ^ X2·P2 ^ ... ^ X8·P8 for the eight blocks in x0, x1 and their powers
// (P1 = h_first = lane 0 of h0), reduced. Two shapes of the same sum:
// - kLatency (one job alone, its chain is the time): the products of the blocks do not wait for
//   S; their lanes are summed and S·P1 (four multiplies, no Karatsuba pre-XOR) added before a
//   single 128-bit reduction. S to S' is a multiply, two XORs and the reduction.
// - otherwise (jobs in lockstep, port 5 is the time): S is XORed into the first block and the
//   four lanes are reduced at once, then summed: 14 port-5 operations per eight blocks, not 22.
template <bool kLatency>
RELAYCELL_VPCLMUL512_INLINE __m128i Step(__m128i state, __m512i x0, __m512i x1, __m512i h0,
                                         __m512i h0_sum, __m512i h1, __m512i h1_sum,
                                         __m128i h_first) {
  const __m512i zero = _mm512_setzero_si512();
  Wide512 acc{zero, zero, zero};
  if constexpr (!kLatency) x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(state));
  KaratsubaMulAdd(x0, h0, h0_sum, acc);
  KaratsubaMulAdd(x1, h1, h1_sum, acc);
  if constexpr (kLatency) {
    Wide128 t{AddLanes(acc.lo), AddLanes(acc.mid), AddLanes(acc.hi)};
    const Wide128 s = Mul(state, h_first);
    t.mid = _mm_xor_si128(_mm_xor_si128(t.mid, s.mid), _mm_xor_si128(t.lo, t.hi));
    t.lo = _mm_xor_si128(t.lo, s.lo);
    t.hi = _mm_xor_si128(t.hi, s.hi);
    return Reduce(t);
  } else {
    acc.mid = _mm512_ternarylogic_epi64(acc.mid, acc.lo, acc.hi, 0x96);
    return AddLanes(Reduce(acc));
  }
}

// Eight whole blocks: (S ^ X1)·H^8 ^ X2·H^7 ^ ... ^ X8·H^1, one reduction.
template <bool kLatency>
RELAYCELL_VPCLMUL512_INLINE __m128i Round(__m128i state, const uint8_t* blocks, const Powers& p) {
  return Step<kLatency>(state, _mm512_loadu_si512(blocks), _mm512_loadu_si512(blocks + 64),
                        p.quad[0], p.quad_sum[0], p.quad[1], p.quad_sum[1], p.table[0]);
}

// The last `bytes` (1..127) of a message: count = ceil(bytes / 16) blocks, the state folded
// into the first. Masked-off bytes are neither read nor faulted on and load as zero.
template <bool kLatency>
RELAYCELL_VPCLMUL512_INLINE __m128i Tail(__m128i state, const uint8_t* blocks, size_t bytes,
                                         const Powers& p) {
  const size_t count = (bytes + 15) / 16;
  const __mmask64 mask0 = bytes >= 64 ? ~__mmask64{0} : (__mmask64{1} << bytes) - 1;
  const __mmask64 mask1 = bytes <= 64 ? 0 : (__mmask64{1} << (bytes - 64)) - 1;
  // The window at H^count: index kAggregate - count (public: lengths are not secret).
  const __m128i* window = p.table + (kAggregate - count);
  const __m512i h0 = _mm512_loadu_si512(window), h1 = _mm512_loadu_si512(window + 4);
  return Step<kLatency>(
      state, _mm512_maskz_loadu_epi8(mask0, blocks), _mm512_maskz_loadu_epi8(mask1, blocks + 64),
      h0, _mm512_xor_si512(h0, Swap64(h0)), h1, _mm512_xor_si512(h1, Swap64(h1)), window[0]);
}

// G jobs in lockstep: their powers, then their rounds interleaved, then their tails.
template <size_t G>
RELAYCELL_VPCLMUL512_TARGET void Group(const PolyvalJob* jobs) {
  Powers powers[G];
  __m128i state[G];
  size_t rounds[G];
  size_t max_rounds = 0;
  for (size_t j = 0; j < G; ++j) {
    const size_t blocks = (jobs[j].length + 15) / 16;
    ComputePowers(jobs[j].h, blocks, powers[j]);
    state[j] = _mm_setzero_si128();
    // A final whole round stays a round only when nothing follows it: the tail takes 1..128.
    rounds[j] = jobs[j].length / (16 * kAggregate);
    max_rounds = std::max(max_rounds, rounds[j]);
  }
  for (size_t r = 0; r < max_rounds; ++r) {
    for (size_t j = 0; j < G; ++j) {
      if (r < rounds[j]) {  // lengths are public
        state[j] = Round<G == 1>(state[j], jobs[j].message + 16 * kAggregate * r, powers[j]);
      }
    }
  }
  for (size_t j = 0; j < G; ++j) {
    const size_t done = 16 * kAggregate * rounds[j];
    if (done < jobs[j].length) {
      state[j] = Tail<G == 1>(state[j], jobs[j].message + done, jobs[j].length - done, powers[j]);
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(jobs[j].out), state[j]);
  }
  explicit_bzero(powers, sizeof powers);
  explicit_bzero(state, sizeof state);
}

}  // namespace

void PolyvalJobsVpclmul512(const PolyvalJob* jobs, size_t count) {
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
