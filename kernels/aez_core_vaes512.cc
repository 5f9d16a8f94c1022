// AEZ-core with raw 512-bit VAES: four blocks per VAESENC (AVX-512 CPUs). Same results as
// kernels/aez_core_vaes.cc, which documents the stages; this file changes the layout and how
// the serial steps are chained.
//
// Layout: a zmm holds the same block of four consecutive pairs i..i+3 (i = 1 mod 4), so the L
// terms of their offsets are one 64-byte load from l_multiple(i) (rows 1L..4L or 5L..8L, 8L
// being zero); four pairs never straddle an 8-pair I-power group. X_i and X'_i of four pairs
// are gathered from message order with two loads and two VPERMT2Q, and Z, Z' scattered back
// the same way. Pass 1 leaves W ^ I and X* in `out` transposed per vector for pass 2.
//
// What the core does (Sapphire Rapids, measured): one zmm VAESENC per cycle, latency 3, so
// a zmm carries as many blocks per cycle as two ymm ones, and a ymm or xmm VAESENC next to zmm
// ones costs a whole zmm slot; an XOR between two AES rounds adds three cycles. So:
//  - No XOR sits between two AES calls where AESENC's last round key can absorb it (AES4's last
//    key is zero: AES4(x) ^ c is its fourth round keyed with c; AES10's is I).
//  - The middle AES10 runs on Sx in all four lanes and its last round turns out (S^4L, S^5L,
//    Sy^(2-d)L, S) at once: the inputs of the fragment's pads and Cy's AES10, which run in one
//    zmm, and S for pass 2.
//  - A group's last one or two pairs share a zmm with the end blocks Xu, Xv, Xy in pass 1.
//  - A relay cell's 509 bytes get a copy with the lengths folded in (a third fewer
//    instructions, which a batch is bound by).
// A single cell is bound by its AES work in pass 1 and pass 2 (about 100 zmm rounds) plus the
// middle's 30 cycles; in a batch the next message's pass 1 runs during the middle.
#include "kernels/x86_intrinsics-inl.h"
#include <string.h>  // explicit_bzero

#include <algorithm>

#include "kernels/aes256_block-inl.h"
#include "kernels/aez_core_vaes-inl.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_AEZ_VAES512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx2,aes,vaes"), always_inline)) inline
#define RELAYCELL_AEZ_VAES512_ENTRY \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx2,aes,vaes")))

// kmask8 bits of 128-bit lane `lane` of a zmm seen as eight 64-bit elements.
constexpr __mmask8 LaneBits(int lane) { return static_cast<__mmask8>(3u << (2 * lane)); }

// The AES4 / AES10 round keys I, J, L, each in all four lanes. The fourth AES4 key is zero.
struct RoundKeys {
  __m512i i, j, l;
};

RELAYCELL_AEZ_VAES512 __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
RELAYCELL_AEZ_VAES512 void Store(uint8_t* p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}
RELAYCELL_AEZ_VAES512 __m256i Load2(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
RELAYCELL_AEZ_VAES512 __m512i Load4(const uint8_t* p) { return _mm512_loadu_si512(p); }
RELAYCELL_AEZ_VAES512 __m512i Broadcast(__m128i v) { return _mm512_broadcast_i32x4(v); }
RELAYCELL_AEZ_VAES512 __m512i BroadcastFrom(const uint8_t* p) { return Broadcast(Load(p)); }

// The same operations at the three widths: V is __m512i (4 pairs), __m256i (2) or __m128i (1).
template <class V>
constexpr size_t kBlocks = sizeof(V) / 16;

template <class V>
V Narrow(__m512i v);
template <>
RELAYCELL_AEZ_VAES512 __m512i Narrow<__m512i>(__m512i v) {
  return v;
}
template <>
RELAYCELL_AEZ_VAES512 __m256i Narrow<__m256i>(__m512i v) {
  return _mm512_castsi512_si256(v);
}
template <>
RELAYCELL_AEZ_VAES512 __m128i Narrow<__m128i>(__m512i v) {
  return _mm512_castsi512_si128(v);
}

RELAYCELL_AEZ_VAES512 __m512i Widen(__m512i v) { return v; }
RELAYCELL_AEZ_VAES512 __m512i Widen(__m256i v) { return _mm512_zextsi256_si512(v); }
RELAYCELL_AEZ_VAES512 __m512i Widen(__m128i v) { return _mm512_zextsi128_si512(v); }

template <class V>
V LoadRows(const uint8_t* p);
template <>
RELAYCELL_AEZ_VAES512 __m512i LoadRows<__m512i>(const uint8_t* p) {
  return Load4(p);
}
template <>
RELAYCELL_AEZ_VAES512 __m256i LoadRows<__m256i>(const uint8_t* p) {
  return Load2(p);
}
template <>
RELAYCELL_AEZ_VAES512 __m128i LoadRows<__m128i>(const uint8_t* p) {
  return Load(p);
}

RELAYCELL_AEZ_VAES512 void StoreRows(uint8_t* p, __m512i v) { _mm512_storeu_si512(p, v); }
RELAYCELL_AEZ_VAES512 void StoreRows(uint8_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}
RELAYCELL_AEZ_VAES512 void StoreRows(uint8_t* p, __m128i v) { Store(p, v); }

RELAYCELL_AEZ_VAES512 __m512i Xor(__m512i a, __m512i b) { return _mm512_xor_si512(a, b); }
RELAYCELL_AEZ_VAES512 __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
RELAYCELL_AEZ_VAES512 __m128i Xor(__m128i a, __m128i b) { return _mm_xor_si128(a, b); }
RELAYCELL_AEZ_VAES512 __m512i Xor3(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi64(a, b, c, 0x96);
}
RELAYCELL_AEZ_VAES512 __m256i Xor3(__m256i a, __m256i b, __m256i c) {
  return _mm256_ternarylogic_epi64(a, b, c, 0x96);
}
RELAYCELL_AEZ_VAES512 __m128i Xor3(__m128i a, __m128i b, __m128i c) {
  return _mm_ternarylogic_epi64(a, b, c, 0x96);
}

RELAYCELL_AEZ_VAES512 __m512i Round(__m512i v, __m512i key) { return _mm512_aesenc_epi128(v, key); }
RELAYCELL_AEZ_VAES512 __m256i Round(__m256i v, __m256i key) { return _mm256_aesenc_epi128(v, key); }
RELAYCELL_AEZ_VAES512 __m128i Round(__m128i v, __m128i key) { return _mm_aesenc_si128(v, key); }

// Pairs (X_i, X'_i), (X_i+1, X'_i+1), ... in message order -> X in one vector, X' in another.
// VSHUFI64X2 with an immediate, not VPERMT2Q with an index vector: on Zen 4 the FP pipes the
// AES shares are full, and this cut pass 1 of 4096 bytes from 124-127 to 116-118 ns.
RELAYCELL_AEZ_VAES512 void GatherPairs(const uint8_t* in, __m512i& x, __m512i& xp) {
  const __m512i low = Load4(in), high = Load4(in + 64);
  x = _mm512_shuffle_i64x2(low, high, _MM_SHUFFLE(2, 0, 2, 0));
  xp = _mm512_shuffle_i64x2(low, high, _MM_SHUFFLE(3, 1, 3, 1));
}
RELAYCELL_AEZ_VAES512 void GatherPairs(const uint8_t* in, __m256i& x, __m256i& xp) {
  x = _mm256_inserti128_si256(_mm256_castsi128_si256(Load(in)), Load(in + 32), 1);
  xp = _mm256_inserti128_si256(_mm256_castsi128_si256(Load(in + 16)), Load(in + 48), 1);
}
RELAYCELL_AEZ_VAES512 void GatherPairs(const uint8_t* in, __m128i& x, __m128i& xp) {
  x = Load(in);
  xp = Load(in + 16);
}
// The inverse: (Z, Z') vectors -> pairs (Z_i, Z'_i), ... in message order.
RELAYCELL_AEZ_VAES512 void ScatterPairs(uint8_t* out, __m512i z, __m512i zp) {
  _mm512_storeu_si512(out,
                      _mm512_permutex2var_epi64(z, _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), zp));
  _mm512_storeu_si512(
      out + 64, _mm512_permutex2var_epi64(z, _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4), zp));
}
RELAYCELL_AEZ_VAES512 void ScatterPairs(uint8_t* out, __m256i z, __m256i zp) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(z, zp, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32), _mm256_permute2x128_si256(z, zp, 0x31));
}
RELAYCELL_AEZ_VAES512 void ScatterPairs(uint8_t* out, __m128i z, __m128i zp) {
  Store(out, z);
  Store(out + 16, zp);
}

RELAYCELL_AEZ_VAES512 RoundKeys LoadKeys(const AezKeyBlocks& key) {
  return {BroadcastFrom(key.aes4(1)), BroadcastFrom(key.aes4(0)), BroadcastFrom(key.aes4(2))};
}

// AES4's first three rounds (J, I, L) on n vectors, round by round so all are in flight; the
// caller gives the fourth round its key.
template <class V, size_t n>
RELAYCELL_AEZ_VAES512 void Aes4Head(V (&v)[n], const RoundKeys& k) {
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], Narrow<V>(k.j));
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], Narrow<V>(k.i));
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], Narrow<V>(k.l));
}
// AES10 without its last round (I), which the caller keys.
RELAYCELL_AEZ_VAES512 __m512i Aes10Head(__m512i v, const RoundKeys& k) {
  for (int r = 0; r < 3; ++r) v = Round(Round(Round(v, k.i), k.j), k.l);
  return v;
}

// GF(2^128) doubling of a big-endian block held byte for byte in a register; constant time.
RELAYCELL_AEZ_VAES512 __m128i Double(__m128i v) {
  const __m128i top = _mm_cmpgt_epi8(_mm_setzero_si128(), v);  // 0xFF where bit 7 is set
  const __m128i carries = _mm_srli_si128(_mm_and_si128(top, _mm_set1_epi8(1)), 1);
  const __m128i reduce = _mm_and_si128(
      _mm_slli_si128(top, 15),
      _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<char>(0x87)));
  return _mm_xor_si128(_mm_or_si128(_mm_add_epi8(v, v), carries), reduce);
}

// 2^(g+1)·I for I-power group g (block indices 8g+1 .. 8g+8), from group g-1's value.
RELAYCELL_AEZ_VAES512 __m128i NextIPower(const AezKeyBlocks& key, size_t g, __m128i previous) {
  return g + 1 < kAezIPowers ? Load(key.i_powers[g + 1]) : Double(previous);
}

// The I powers of a long message's groups past the key's own: pass 1 doubles and records them,
// pass 2 and the tail read them back. The doubling is a serial chain beside the AES work, and
// done in each of the three passes and twice for the tail it cost 4096 bytes 18 of 280 ns
// (Sapphire Rapids). Groups past the table (messages over 16 KiB) are doubled again each pass.
// Key-derived: the message's owner wipes what was recorded.
constexpr size_t kRecordedGroups = 64;
struct GroupPowers {
  __m128i recorded[kRecordedGroups];  // [g] = 2^(g+1)·I for kAezIPowers - 1 <= g < count
  size_t count = 0;
};
enum class PowerSource { kDoubleAndRecord, kRecorded };

template <PowerSource kSource>
RELAYCELL_AEZ_VAES512 __m128i GroupPower(const AezKeyBlocks& key, size_t g, __m128i previous,
                                         GroupPowers& powers) {
  if (g + 1 < kAezIPowers || g >= kRecordedGroups) return NextIPower(key, g, previous);
  if constexpr (kSource == PowerSource::kRecorded) {
    return powers.recorded[g];
  } else {
    const __m128i power = Double(previous);
    powers.recorded[g] = power;
    powers.count = g + 1;
    return power;
  }
}

RELAYCELL_AEZ_VAES512 void WipeRecorded(GroupPowers& powers) {
  if (powers.count > 0) explicit_bzero(powers.recorded, sizeof(__m128i) * powers.count);
  powers.count = 0;
}

// Every lane holds the XOR of v's four lanes (two cross-lane steps instead of three extracts,
// and the middle AES10 wants the value broadcast anyway).
RELAYCELL_AEZ_VAES512 __m512i FoldBroadcast(__m512i v) {
  v = Xor(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  return Xor(v, _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
}
RELAYCELL_AEZ_VAES512 __m128i FoldToBlock(__m512i v) {
  return Xor(
      Xor3(Narrow<__m128i>(v), _mm512_extracti32x4_epi32(v, 1), _mm512_extracti32x4_epi32(v, 2)),
      _mm512_extracti32x4_epi32(v, 3));
}

// The message's pairs as vectors: in every 8-pair group, whole quads as zmm, then what is left
// of the last group (its tail: 0..3 pairs) as a ymm couple and an xmm single.
struct GroupTerms {
  __m512i ipow;    // 2^(g+1)·I, the group's I term, in every lane
  __m512i j_ipow;  // J ^ 2^(g+1)·I: E^{1,i}'s offset less the L term
};
struct Tail {
  GroupTerms terms;
  size_t first, count;  // pairs
};

// The I-power terms of group g: the key's, pass 1's record, or doubled from the last of those.
RELAYCELL_AEZ_VAES512 GroupTerms TermsOf(const AezKeyBlocks& key, size_t g,
                                         const GroupPowers& powers) {
  const __m512i j1 = BroadcastFrom(key.j_multiple(1));
  if (g + 1 < kAezIPowers) {
    const __m512i ipow = BroadcastFrom(key.i_powers[g + 1]);
    return {ipow, Xor(j1, ipow)};
  }
  size_t have = kAezIPowers - 2;  // ipow = 2^(have+1)·I
  __m128i ipow = Load(key.i_powers[kAezIPowers - 1]);
  if (powers.count >= kAezIPowers) {
    have = std::min(g, powers.count - 1);
    ipow = powers.recorded[have];
  }
  for (; have < g; ++have) ipow = Double(ipow);
  return {Broadcast(ipow), Xor(j1, Broadcast(ipow))};
}

// What follows the last group's quads (after pass 1 has recorded the powers).
RELAYCELL_AEZ_VAES512 Tail TailOf(const AezKeyBlocks& key, size_t pairs,
                                  const GroupPowers& powers) {
  const size_t g = pairs > 0 ? (pairs - 1) / 8 : 0, in_group = pairs - 8 * g;
  return {TermsOf(key, g, powers), 8 * g + (in_group & 4), in_group % 4};
}

// Calls body.template Quads<n>(terms, first pair, L rows) for the quads of every group.
template <PowerSource kSource, class Body>
RELAYCELL_AEZ_VAES512 void ForEachQuads(const AezKeyBlocks& key, size_t pairs, GroupPowers& powers,
                                        Body& body) {
  const __m512i j1 = BroadcastFrom(key.j_multiple(1));
  __m128i ipow = Load(key.i_powers[1]);
  for (size_t g = 0; 8 * g < pairs; ++g) {
    if (g > 0) ipow = GroupPower<kSource>(key, g, ipow, powers);
    const GroupTerms terms{Broadcast(ipow), Xor(j1, Broadcast(ipow))};
    const size_t quads = std::min<size_t>(8, pairs - 8 * g) / 4;
    if (quads == 2) body.template Quads<2>(terms, 8 * g, key.l_multiple(1));
    if (quads == 1) body.template Quads<1>(terms, 8 * g, key.l_multiple(1));
  }
}

// The end blocks: lanes 0, 1 the fragment (Xu, Xv || 10*, or Xuv || 10* and nothing), lane 2
// Xy (pass 1) or Cy (pass 2).
constexpr __mmask8 kFragmentLanes = LaneBits(0) | LaneBits(1);
constexpr __mmask8 kYLane = LaneBits(2);

// The fragment Xuv (0..31 bytes) as two blocks: its bytes, 0x80, zeros.
struct FragmentMasks {
  __m256i keep;    // 0xFF on the fragment's bytes
  __m256i marker;  // 0x80 right after them
  __mmask8 lanes;  // the fragment lanes AEZ uses: Xu (or Xuv) iff frag > 0, Xv iff >= 16
};
// 32-byte windows at 32 - frag: frag bytes of 0xFF, and 0x80 at byte frag. Two loads (frag is
// public) instead of a compare per mask.
alignas(64) constexpr uint8_t kKeepWindow[64] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
alignas(64) constexpr uint8_t kMarkerWindow[64] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80};
RELAYCELL_AEZ_VAES512 FragmentMasks MakeFragmentMasks(size_t frag) {
  const __mmask8 lanes = (frag > 0 ? LaneBits(0) : 0) | (frag >= 16 ? LaneBits(1) : 0);
  return {Load2(kKeepWindow + 32 - frag), Load2(kMarkerWindow + 32 - frag), lanes};
}

// (4L, 5L, l, 0): the L terms of the end lanes, l that of Xy's or Cy's.
RELAYCELL_AEZ_VAES512 __m512i EndLTerms(const AezKeyBlocks& key, __m128i l) {
  return _mm512_inserti32x4(_mm512_zextsi256_si512(Load2(key.l_multiple(4))), l, 2);
}

// Per-message values carried from one stage to the next. Holds message-derived cipher state
// (Δ, Sx, the middle's output and the fragment), no round keys; the batch wipes it at the end.
struct CoreState {
  __m512i middle_in;  // Sx ^ (1+d)L in every lane
  __m512i sx;         // Sx in every lane
  __m512i s_terms;    // (4L, 5L, Sx ^ (2-d)L, 0): the middle's output ^ s_terms is S everywhere
  __m512i middle;     // (S ^ 4L, S ^ 5L, Sy ^ (2-d)L, S)
  __m512i xy;         // in every lane
  __m256i fragment;   // Xuv || 10* || 0*
  __m128i delta;
};

// Pass 1 on n vectors: W = X ^ E^{1,i}(X'), X* = X' ^ E^{0,0}(W). Stores W ^ I (E^{0,0}'s
// input, which pass 2 takes as well as W) and X* transposed per vector; returns the XOR of the X*.
template <class V, size_t n>
RELAYCELL_AEZ_VAES512 __m512i Pass1Vectors(const RoundKeys& k, __m512i j_ipow, __m512i i1,
                                           const uint8_t* l_rows, const uint8_t* in, uint8_t* out) {
  constexpr size_t kSpan = 32 * kBlocks<V>;  // message bytes per vector
  V x[n], xp[n], t[n];
  for (size_t v = 0; v < n; ++v) {
    GatherPairs(in + kSpan * v, x[v], xp[v]);
    t[v] = Xor3(xp[v], Narrow<V>(j_ipow), LoadRows<V>(l_rows + 16 * kBlocks<V> * v));
  }
  Aes4Head(t, k);
  // Keyed with X ^ I, the last round yields W ^ I.
  for (size_t v = 0; v < n; ++v) t[v] = Round(t[v], Xor(x[v], Narrow<V>(i1)));
  for (size_t v = 0; v < n; ++v) StoreRows(out + kSpan * v, t[v]);
  Aes4Head(t, k);
  __m512i sum = _mm512_setzero_si512();
  for (size_t v = 0; v < n; ++v) {
    const V xs = Round(t[v], xp[v]);  // X*
    sum = Xor(sum, Widen(xs));
    StoreRows(out + kSpan * v + kSpan / 2, xs);
  }
  return sum;
}

struct Pass1Quads {
  const RoundKeys& k;
  __m512i i1;
  const uint8_t* in;
  uint8_t* out;
  __m512i sum;
  template <size_t n>
  RELAYCELL_AEZ_VAES512 void Quads(const GroupTerms& terms, size_t first, const uint8_t* l_rows) {
    sum = Xor(sum, Pass1Vectors<__m512i, n>(k, terms.j_ipow, i1, l_rows, in + 32 * first,
                                            out + 32 * first));
  }
};

// Pass 2 stage one on n vectors (W ^ I, X* transposed in `out`): S' = E^{2,i}(S), Y = W ^ S',
// Y' = X* ^ S'. Leaves Y' ^ I (E^{0,0}'s input) and Y in their places; returns the XOR of the Y.
// `s_offset` ^ the middle's output is S ^ 2J ^ 2^k·I in every lane.
template <class V, size_t n>
RELAYCELL_AEZ_VAES512 __m512i Pass2First(const RoundKeys& k, __m512i middle, __m512i s_offset,
                                         __m512i i1, const uint8_t* l_rows, uint8_t* out) {
  constexpr size_t kSpan = 32 * kBlocks<V>;
  V t[n], w_i[n], xs[n];
  for (size_t v = 0; v < n; ++v) {
    t[v] = Xor3(Narrow<V>(middle), Narrow<V>(s_offset), LoadRows<V>(l_rows + 16 * kBlocks<V> * v));
    w_i[v] = LoadRows<V>(out + kSpan * v);
    xs[v] = LoadRows<V>(out + kSpan * v + kSpan / 2);
  }
  Aes4Head(t, k);
  __m512i sum = _mm512_setzero_si512();
  for (size_t v = 0; v < n; ++v) {
    // Keyed with X* ^ I, the last round yields S' ^ X* ^ I = Y' ^ I.
    const V yp_i = Round(t[v], Xor(xs[v], Narrow<V>(i1)));
    const V y = Xor3(yp_i, xs[v], w_i[v]);  // S' ^ I ^ (W ^ I)
    sum = Xor(sum, Widen(y));
    StoreRows(out + kSpan * v, yp_i);
    StoreRows(out + kSpan * v + kSpan / 2, y);
  }
  return sum;
}

// Pass 2 stages two and three: Z' = Y ^ E^{0,0}(Y'), Z = Y' ^ E^{1,i}(Z'). Reads Y' ^ I and Y
// from `work`, writes (Z_i, Z'_i) to `out` in message order. A separate `work` is zeroed as
// soon as it is read: Y' and Z' ^ Y are an AES4 input and output, and nothing may be left of
// them. (Measured: a wipe of the whole buffer at the end cost a 509-byte cell 10 ns on Zen 4;
// these stores cost nothing.)
template <class V, size_t n>
RELAYCELL_AEZ_VAES512 void Pass2Rest(const RoundKeys& k, __m512i j_ipow, __m512i i1,
                                     const uint8_t* l_rows, uint8_t* work, uint8_t* out) {
  constexpr size_t kSpan = 32 * kBlocks<V>;
  V u[n], yp[n], offset[n], y_offset[n];
  for (size_t v = 0; v < n; ++v) {
    offset[v] = Xor(Narrow<V>(j_ipow), LoadRows<V>(l_rows + 16 * kBlocks<V> * v));  // E^{1,i}'s
    u[v] = LoadRows<V>(work + kSpan * v);                                           // Y' ^ I
    yp[v] = Xor(u[v], Narrow<V>(i1));
    y_offset[v] = Xor(LoadRows<V>(work + kSpan * v + kSpan / 2), offset[v]);
  }
  if (work != out) {
    for (size_t v = 0; v < n; ++v) {
      StoreRows(work + kSpan * v, Narrow<V>(_mm512_setzero_si512()));
      StoreRows(work + kSpan * v + kSpan / 2, Narrow<V>(_mm512_setzero_si512()));
    }
  }
  Aes4Head(u, k);
  // Keyed with Y ^ offset: Z' ^ offset, E^{1,i}'s input.
  for (size_t v = 0; v < n; ++v) u[v] = Round(u[v], y_offset[v]);
  V zp[n];
  for (size_t v = 0; v < n; ++v) zp[v] = Xor(u[v], offset[v]);
  Aes4Head(u, k);
  for (size_t v = 0; v < n; ++v) ScatterPairs(out + kSpan * v, Round(u[v], yp[v]), zp[v]);
}

struct Pass2FirstQuads {
  const RoundKeys& k;
  __m512i middle, s_offset, i1;  // s_offset less the I term
  uint8_t* out;
  __m512i sum;
  template <size_t n>
  RELAYCELL_AEZ_VAES512 void Quads(const GroupTerms& terms, size_t first, const uint8_t* l_rows) {
    sum = Xor(sum, Pass2First<__m512i, n>(k, middle, Xor(s_offset, terms.ipow), i1, l_rows,
                                          out + 32 * first));
  }
};
struct Pass2RestQuads {
  const RoundKeys& k;
  __m512i i1;
  uint8_t* work;
  uint8_t* out;
  template <size_t n>
  RELAYCELL_AEZ_VAES512 void Quads(const GroupTerms& terms, size_t first, const uint8_t* l_rows) {
    Pass2Rest<__m512i, n>(k, terms.j_ipow, i1, l_rows, work + 32 * first, out + 32 * first);
  }
};

// Pass 1's last pairs with the end blocks, which do not wait for anything: E^{0,4}(Xu),
// E^{0,5}(Xv || 10*) and E^{0,1+d}(Xy), the last keyed to come out as E^{0,1+d}(Xy) ^ Xx ^ Δ ^
// (1+d)L, the middle's input less the rest. One or two tail pairs share a zmm with them (the
// fragment lanes first, Xy in the second AES4 of two); a third pair goes alone. Returns what the
// lanes add to the middle's input.
RELAYCELL_AEZ_VAES512 __m512i Pass1Ends(const RoundKeys& k, const AezKeyBlocks& key,
                                        const CoreState& st, const Tail& tail,
                                        const FragmentMasks& masks, __m512i xy_key, __m512i l_sx,
                                        const uint8_t* in, uint8_t* out) {
  const __m512i i1 = BroadcastFrom(key.i_powers[0]);
  const __m512i i2 = BroadcastFrom(key.i_powers[1]);
  const __m256i fragment =
      Xor3(st.fragment, Narrow<__m256i>(i2), Load2(key.l_multiple(4)));  // Xu, Xv whitened
  const __m512i xy = Xor3(st.xy, i2, l_sx);
  const uint8_t* tin = in + 32 * tail.first;
  uint8_t* tout = out + 32 * tail.first;
  const uint8_t* l_rows = key.l_multiple(tail.first % 8 + 1);
  if (tail.count == 0) {
    __m512i ends[1] = {_mm512_mask_mov_epi64(_mm512_zextsi256_si512(fragment), kYLane, xy)};
    Aes4Head(ends, k);
    const __m512i out_ends = Round(ends[0], _mm512_maskz_mov_epi64(kYLane, xy_key));
    return _mm512_maskz_mov_epi64(masks.lanes | kYLane, out_ends);
  }
  if (tail.count == 1) {
    // (Xu, Xv, X'_i, Xy), then W_i ^ I through AES4 again in lane 2.
    __m128i x, xp;
    GatherPairs(tin, x, xp);
    const __m128i xp_w = Xor3(xp, Narrow<__m128i>(tail.terms.j_ipow), Load(l_rows));
    __m512i v[1] = {_mm512_inserti64x4(
        _mm512_zextsi256_si512(fragment),
        _mm256_inserti128_si256(_mm256_castsi128_si256(xp_w), Narrow<__m128i>(xy), 1), 1)};
    Aes4Head(v, k);
    const __m512i first =
        Round(v[0], _mm512_inserti64x4(
                        _mm512_setzero_si512(),
                        _mm256_inserti128_si256(_mm256_castsi128_si256(Xor(x, Narrow<__m128i>(i1))),
                                                Narrow<__m128i>(xy_key), 1),
                        1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tout), _mm512_extracti32x4_epi32(first, 2));
    v[0] = first;
    Aes4Head(v, k);
    const __m512i second = Round(v[0], BroadcastFrom(tin + 16));  // X'_i in lane 2
    _mm_storeu_si128(reinterpret_cast<__m128i*>(tout + 16), _mm512_extracti32x4_epi32(second, 2));
    return Xor(_mm512_maskz_mov_epi64(masks.lanes | LaneBits(3), first),
               _mm512_maskz_mov_epi64(LaneBits(2), second));
  }
  // (Xu, Xv, X'_i, X'_i+1), then (Xy, -, W_i ^ I, W_i+1 ^ I).
  __m256i x, xp;
  GatherPairs(tin, x, xp);
  const __m256i xp_w = Xor3(xp, Narrow<__m256i>(tail.terms.j_ipow), Load2(l_rows));
  __m512i v[1] = {_mm512_inserti64x4(_mm512_zextsi256_si512(fragment), xp_w, 1)};
  Aes4Head(v, k);
  const __m512i first =
      Round(v[0], _mm512_inserti64x4(_mm512_setzero_si512(), Xor(x, Narrow<__m256i>(i1)), 1));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(tout), _mm512_extracti64x4_epi64(first, 1));
  v[0] = _mm512_mask_mov_epi64(first, LaneBits(0), xy);
  Aes4Head(v, k);
  const __m512i second =
      Round(v[0], _mm512_inserti64x4(_mm512_maskz_mov_epi64(LaneBits(0), xy_key), xp, 1));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(tout + 32), _mm512_extracti64x4_epi64(second, 1));
  __m512i sum = Xor(_mm512_maskz_mov_epi64(masks.lanes, first),
                    _mm512_maskz_mov_epi64(LaneBits(0) | LaneBits(2) | LaneBits(3), second));
  if (tail.count == 3) {  // the third pair alone
    sum = Xor(sum,
              Pass1Vectors<__m128i, 1>(k, tail.terms.j_ipow, i1, l_rows + 32, tin + 64, tout + 64));
  }
  return sum;
}

// Pass 1, the fragment and Xy: everything up to Sx = Xx ^ Δ ^ S_X ^ E^{0,1+d}(Xy). `bytes` is
// job.bytes, a constant where the caller knows it (the loops and masks then fold away).
RELAYCELL_AEZ_VAES512 void Begin(const AezCoreJob& job, size_t bytes, size_t d, __m128i delta,
                                 uint8_t* work, GroupPowers& powers, CoreState& st) {
  const AezKeyBlocks& key = *job.key;
  const RoundKeys k = LoadKeys(key);
  const size_t pairs = (bytes - 32) / 32;
  const FragmentMasks masks = MakeFragmentMasks(bytes - 32 - 32 * pairs);
  // In bounds: Xx and Xy follow the fragment.
  st.fragment =
      _mm256_or_si256(_mm256_and_si256(Load2(job.in + 32 * pairs), masks.keep), masks.marker);
  st.delta = delta;
  st.xy = BroadcastFrom(job.in + bytes - 16);
  const __m512i l_sx = BroadcastFrom(key.l_multiple(1 + d));
  // E^{0,1+d}(Xy)'s last key: Xx ^ Δ ^ (1+d)L.
  const __m512i xy_key = Xor3(BroadcastFrom(job.in + bytes - 32), Broadcast(delta), l_sx);
  Pass1Quads quads{k, BroadcastFrom(key.i_powers[0]), job.in, work, _mm512_setzero_si512()};
  // Quads first, tail last, in the order pass 2 finishes them (a chained call reads what the
  // previous one wrote; measured: faster than the tail first).
  ForEachQuads<PowerSource::kDoubleAndRecord>(key, pairs, powers, quads);
  const __m512i ends =
      Pass1Ends(k, key, st, TailOf(key, pairs, powers), masks, xy_key, l_sx, job.in, work);
  st.middle_in = FoldBroadcast(Xor(quads.sum, ends));
  st.sx = Xor(st.middle_in, l_sx);
}

// The serial step: Sy = Xy ^ E^{-1,1+d}(Sx), S = Sx ^ Sy, computed in all lanes and keyed at
// the last round to give (S ^ 4L, S ^ 5L, Sy ^ (2-d)L, S).
RELAYCELL_AEZ_VAES512 void Middle(const AezKeyBlocks& key, size_t d, CoreState& st) {
  const RoundKeys k = LoadKeys(key);
  const __m512i l_terms = EndLTerms(key, Load(key.l_multiple(2 - d)));
  // Sy = AES10's output ^ Xy and S = Sy ^ Sx, so the last key is I ^ Xy (^ Sx) ^ the L terms.
  st.s_terms = _mm512_mask_xor_epi64(l_terms, kYLane, l_terms, st.sx);
  const __m512i last_key = Xor(Xor3(k.i, st.xy, st.sx), st.s_terms);
  st.middle = Round(Aes10Head(st.middle_in, k), last_key);
}

// Pass 2, the fragment out, Cy and Cx. Pass 2's first AES4 (which Cx needs) and the end lanes
// come first, so Cx, Cy and Cuv are stored, and their stores retire, before the rest of pass 2:
// a chained call's load of Xuv straddles two of those stores, so it waits for them to reach the
// cache, and waiting for all of pass 2 as well cost a 509-byte cell 20 cycles.
RELAYCELL_AEZ_VAES512 void Finish(const AezCoreJob& job, size_t bytes, size_t d, uint8_t* work,
                                  GroupPowers& powers, const CoreState& st) {
  const AezKeyBlocks& key = *job.key;
  const RoundKeys k = LoadKeys(key);
  const size_t pairs = (bytes - 32) / 32;
  const FragmentMasks masks = MakeFragmentMasks(bytes - 32 - 32 * pairs);
  const __m512i i1 = BroadcastFrom(key.i_powers[0]);
  // E^{-1,4}(S), E^{-1,5}(S), E^{-1,2-d}(Sy) in one zmm.
  const __m512i pads = Round(Aes10Head(st.middle, k), k.i);
  const __m512i s_offset = Xor(st.s_terms, BroadcastFrom(key.j_multiple(2)));
  const Tail tail = TailOf(key, pairs, powers);
  uint8_t* twork = work + 32 * tail.first;
  uint8_t* tout = job.out + 32 * tail.first;
  const uint8_t* l_rows = key.l_multiple(tail.first % 8 + 1);
  const __m512i tail_s_offset = Xor(s_offset, tail.terms.ipow);
  Pass2FirstQuads first{k, st.middle, s_offset, i1, work, _mm512_setzero_si512()};
  ForEachQuads<PowerSource::kRecorded>(key, pairs, powers, first);
  __m512i sum_y = first.sum;
  if (tail.count >= 2) {
    sum_y = Xor(sum_y, Pass2First<__m256i, 1>(k, st.middle, tail_s_offset, i1, l_rows, twork));
  }
  if (tail.count & 1) {
    const size_t p = tail.count - 1;
    sum_y = Xor(sum_y, Pass2First<__m128i, 1>(k, st.middle, tail_s_offset, i1, l_rows + 16 * p,
                                              twork + 32 * p));
  }
  // (2I ^ 4L, 2I ^ 5L, 2I ^ (2-d)L, 0): E^{0,4}'s, E^{0,5}'s and E^{0,2-d}'s offsets.
  const __m512i end_offsets =
      _mm512_maskz_xor_epi64(kFragmentLanes | kYLane, BroadcastFrom(key.i_powers[1]),
                             EndLTerms(key, Load(key.l_multiple(2 - d))));
  // Cuv || 10* = (pads & keep) ^ (Xuv || 10*) and Cy = Sx ^ pad, whitened for their AES4 in the
  // same step: one ternary op between the two AES calls.
  const __m512i keep =
      _mm512_mask_mov_epi64(_mm512_zextsi256_si512(masks.keep), kYLane, _mm512_set1_epi64(-1));
  const __m512i whitening =
      Xor(end_offsets, _mm512_mask_mov_epi64(_mm512_zextsi256_si512(st.fragment), kYLane, st.sx));
  __m512i ends[1] = {_mm512_ternarylogic_epi64(pads, keep, whitening, 0x6A)};  // (a & b) ^ c
  const __m512i c_ends = Xor(ends[0], end_offsets);                            // Cuv || 10*, Cy
  Aes4Head(ends, k);
  const __m512i ends_out = Round(ends[0], _mm512_setzero_si512());
  // Cx = Sy ^ Δ ^ S_Y ^ the fragment's terms ^ E^{0,2-d}(Cy).
  const __m128i sy = Xor(_mm512_extracti32x4_epi32(st.middle, 2), Load(key.l_multiple(2 - d)));
  const __m128i rest = Xor3(FoldToBlock(sum_y), sy, st.delta);
  const __m128i cx =
      Xor3(_mm_mask_xor_epi64(rest, masks.lanes & LaneBits(0), Narrow<__m128i>(ends_out), rest),
           _mm512_maskz_extracti32x4_epi32(masks.lanes & LaneBits(1) ? 0xF : 0, ends_out, 1),
           _mm512_extracti32x4_epi32(ends_out, 2));
  // 32 bytes: what lies past the fragment is Cx and Cy's place, written next.
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(job.out + 32 * pairs),
                      _mm512_castsi512_si256(c_ends));
  Store(job.out + bytes - 16, _mm512_extracti32x4_epi32(c_ends, 2));
  Store(job.out + bytes - 32, cx);
  Pass2RestQuads rest_of_pass2{k, i1, work, job.out};
  ForEachQuads<PowerSource::kRecorded>(key, pairs, powers, rest_of_pass2);
  if (tail.count >= 2) Pass2Rest<__m256i, 1>(k, tail.terms.j_ipow, i1, l_rows, twork, tout);
  if (tail.count & 1) {
    const size_t p = tail.count - 1;
    Pass2Rest<__m128i, 1>(k, tail.terms.j_ipow, i1, l_rows + 16 * p, twork + 32 * p, tout + 32 * p);
  }
}

// A relay cell's 509 bytes get their own copy of Begin and Finish with every length folded
// in: no loops or masks left to compute, a third fewer instructions than the general one.
// Its pass-1 outputs go to a 64-byte aligned buffer on the stack (which Pass2Rest zeroes as it
// reads it), not to `out`: a cell's body is never 64-byte aligned (it starts 5 bytes into the
// cell), and 64-byte stores and reloads across cache lines cost. (Zen 4, body at +5: 83 -> 68
// ns a cell.) Longer messages, of any length, keep using `out`.
constexpr size_t kCellBodyMessageBytes = 509;
// 14 pairs are 448 bytes; the buffer holds 16, since the code for longer tails (which a cell
// never runs) is compiled here too, and GCC's -Warray-bounds does not see it is dead at -O2.
constexpr size_t kCellWorkBytes = 512;
static_assert(kCellWorkBytes >= 32 * ((kCellBodyMessageBytes - 32) / 32 + 1));  // one pair more
struct alignas(64) CellWork {
  uint8_t bytes[kCellWorkBytes];
};
// Where longer messages record their powers, one per message in flight. Thread-local, not on
// the stack beside CellWork: 2 KiB more of frame measured a 509-byte batch 4 % slower, and a
// cell records nothing (its powers are the key's). Wiped after each message.
thread_local GroupPowers t_recorded_powers[2];

// Messages of other lengths out of line: inlined beside the cell's copy in the batch loop,
// their code cost the cells' (measured 4 % on a 509-byte batch once the powers were recorded).
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,aes,vaes"), noinline)) void BeginLong(
    const AezCoreJob& job, size_t d, __m128i delta, size_t slot, CoreState& st) {
  Begin(job, job.bytes, d, delta, job.out, t_recorded_powers[slot], st);
}
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,aes,vaes"), noinline)) void FinishLong(
    const AezCoreJob& job, size_t d, size_t slot, const CoreState& st) {
  Finish(job, job.bytes, d, job.out, t_recorded_powers[slot], st);
  WipeRecorded(t_recorded_powers[slot]);
}

RELAYCELL_AEZ_VAES512 void BeginAny(const AezCoreJob& job, size_t d, __m128i delta, CellWork& work,
                                    size_t slot, CoreState& st) {
  if (job.bytes == kCellBodyMessageBytes) {
    // Never touched: a cell's powers are all the key's.
    Begin(job, kCellBodyMessageBytes, d, delta, work.bytes, t_recorded_powers[slot], st);
  } else {
    BeginLong(job, d, delta, slot, st);
  }
}
RELAYCELL_AEZ_VAES512 void FinishAny(const AezCoreJob& job, size_t d, CellWork& work, size_t slot,
                                     const CoreState& st) {
  if (job.bytes == kCellBodyMessageBytes) {
    Finish(job, kCellBodyMessageBytes, d, work.bytes, t_recorded_powers[slot], st);
  } else {
    FinishLong(job, d, slot, st);
  }
}

RELAYCELL_AEZ_VAES512 __m512i Aes4(__m512i v, const RoundKeys& k) {
  __m512i t[1] = {v};
  Aes4Head(t, k);
  return Round(t[0], _mm512_setzero_si512());
}
RELAYCELL_AEZ_VAES512 __m256i Aes4(__m256i v, const RoundKeys& k) {
  __m256i t[1] = {v};
  Aes4Head(t, k);
  return Round(t[0], _mm256_setzero_si256());
}
RELAYCELL_AEZ_VAES512 __m128i Aes4(__m128i v, const RoundKeys& k) {
  __m128i t[1] = {v};
  Aes4Head(t, k);
  return Round(t[0], _mm_setzero_si128());
}
RELAYCELL_AEZ_VAES512 __m128i FoldHalves(__m256i v) {
  return Xor(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

// Whitened blocks go through AES4 and their outputs are XORed together: runs of four as one
// zmm, single blocks paired into a ymm (a short AD string is one or two blocks, and building a
// zmm from four singles would chain three inserts ahead of the AES).
struct Aes4Sum {
  RoundKeys k;
  __m512i fours;
  __m256i pairs;
  __m128i pending;
  bool has_fours, has_pending;  // public: they follow the string lengths
};
RELAYCELL_AEZ_VAES512 void PushFour(Aes4Sum& p, __m512i whitened) {
  p.fours = Xor(p.fours, Aes4(whitened, p.k));
  p.has_fours = true;
}
RELAYCELL_AEZ_VAES512 void Push(Aes4Sum& p, __m128i whitened) {
  if (!p.has_pending) {
    p.pending = whitened;
    p.has_pending = true;
    return;
  }
  const __m256i two = _mm256_inserti128_si256(_mm256_castsi128_si256(p.pending), whitened, 1);
  p.pairs = Xor(p.pairs, Aes4(two, p.k));
  p.has_pending = false;
}
RELAYCELL_AEZ_VAES512 __m128i Total(const Aes4Sum& p) {
  __m128i total = FoldHalves(p.pairs);
  if (p.has_fours) total = Xor(total, FoldToBlock(p.fours));
  return p.has_pending ? Xor(total, Aes4(p.pending, p.k)) : total;
}

// Two 16-byte blocks from anywhere as one ymm; two ymm as one zmm.
RELAYCELL_AEZ_VAES512 __m256i LoadHalves(const uint8_t* low, const uint8_t* high) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(Load(low)), Load(high), 1);
}
RELAYCELL_AEZ_VAES512 __m512i Join(__m256i low, __m256i high) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}

// The cell's AD terms of Δ, as AezCellHashTermsVaes256 computes them: the nonce block, A1's two
// blocks and A2 under E^{4,0}, E^{5,1}, E^{5,2} and E^{6,1}, in one AES4. CellHashInput is that
// AES4's input (the four blocks whitened with their offsets), CellHashTerms its folded output.
RELAYCELL_AEZ_VAES512 __m512i CellHashInput(const AezKeyBlocks& key, const uint8_t* nonce_block,
                                            const uint8_t* a1, const uint8_t* a2) {
  const __m512i blocks = Join(LoadHalves(nonce_block, a1), LoadHalves(a1 + 16, a2));
  // J terms 4J, 5J, 5J, 6J; I terms I, 2I, 2I, 2I; L terms 0, 1L, 2L, 1L (l_multiple(0) is 0).
  const __m512i offsets =
      Xor3(Join(Load2(key.j_multiple(4)), Load2(key.j_multiple(5))),
           Join(Load2(key.i_powers[0]), _mm256_broadcastsi128_si256(Load(key.i_powers[1]))),
           Join(Load2(key.l_multiple(0)), LoadHalves(key.l_multiple(2), key.l_multiple(1))));
  return Xor(blocks, offsets);
}
RELAYCELL_AEZ_VAES512 __m128i CellHashTerms(const AezKeyBlocks& key, const uint8_t* nonce_block,
                                            const uint8_t* a1, const uint8_t* a2) {
  return FoldToBlock(Aes4(CellHashInput(key, nonce_block, a1, a2), LoadKeys(key)));
}

// n jobs' AES4 round by round, each round's key broadcast from that job's key as it is used
// (eight jobs' three keys would not fit in registers beside their blocks).
template <size_t n>
RELAYCELL_AEZ_VAES512 void CellHashTermsGroup(const AezCellHashJob* jobs) {
  __m512i t[n];
  for (size_t i = 0; i < n; ++i) {
    t[i] = CellHashInput(*jobs[i].key, jobs[i].nonce_block, jobs[i].a1, jobs[i].a2);
  }
  for (const size_t key_block : {size_t{0}, size_t{1}, size_t{2}}) {  // J, I, L (LoadKeys)
    for (size_t i = 0; i < n; ++i) t[i] = Round(t[i], BroadcastFrom(jobs[i].key->aes4(key_block)));
  }
  for (size_t i = 0; i < n; ++i) {
    const __m128i terms = FoldToBlock(Round(t[i], _mm512_setzero_si512()));
    Store(jobs[i].sum, Xor(Load(jobs[i].sum), terms));
  }
}

// The key of the message two ahead in a batch, so that its pass 1 finds the key rows in L1: a
// relay's batch is 64 circuits, and their keys and cells are more than L1 holds. (Engine peel at
// 10,000 circuits: 161-166 -> 144-147 ns; prefetching the message's bytes as well measured
// slower there, as the pipeline has already brought them in.)
inline void PrefetchKey(const AezCoreJob& job) {
  const auto* key = reinterpret_cast<const char*>(job.key);
  for (size_t at = 0; at < sizeof(AezKeyBlocks); at += 64) __builtin_prefetch(key + at);
}

}  // namespace

RELAYCELL_AEZ_VAES512_ENTRY void AezCoreVaes512(const AezCoreJob* jobs, size_t n, bool decipher) {
  const size_t d = decipher ? 1 : 0;
  if (n == 0) return;
  if (n == 1) {
    // No wipe of `st`: it lives in registers, and taking its address to wipe it put it in
    // memory, a store and reload between the stages (Zen 4: 12 ns of a 509-byte message's 80).
    // What the compiler spills is the stack's to wipe (WipeStack, once per batch, engine/).
    CoreState st;
    CellWork work;
    BeginAny(jobs[0], d, Load(jobs[0].delta), work, 0, st);
    Middle(*jobs[0].key, d, st);
    FinishAny(jobs[0], d, work, 0, st);
    return;
  }
  // Two messages in flight, as in the 256-bit kernel: message m's middle AES10, then message
  // m+1's pass 1 (which the core overlaps with that chain), then message m's pass 2.
  CoreState st[2];
  CellWork work[2];
  BeginAny(jobs[0], d, Load(jobs[0].delta), work[0], 0, st[0]);
  for (size_t m = 0; m < n; ++m) {
    if (m + 2 < n) PrefetchKey(jobs[m + 2]);
    Middle(*jobs[m].key, d, st[m & 1]);
    if (m + 1 < n) {
      BeginAny(jobs[m + 1], d, Load(jobs[m + 1].delta), work[(m + 1) & 1], (m + 1) & 1,
               st[(m + 1) & 1]);
    }
    FinishAny(jobs[m], d, work[m & 1], m & 1, st[m & 1]);
  }
  explicit_bzero(st, sizeof st);  // `work` is zero again: Pass2Rest
}

RELAYCELL_AEZ_VAES512_ENTRY void AezAes4XorSumVaes512(const AezKeyBlocks& key,
                                                      const uint8_t* blocks, size_t n,
                                                      uint8_t sum[16]) {
  const RoundKeys k = LoadKeys(key);
  __m512i fours = _mm512_setzero_si512();
  size_t b = 0;
  for (; b + 16 <= n; b += 16) {  // four vectors in flight
    __m512i t[4];
    for (size_t v = 0; v < 4; ++v) t[v] = Load4(blocks + 16 * (b + 4 * v));
    Aes4Head(t, k);
    for (size_t v = 0; v < 4; ++v) fours = Xor(fours, Round(t[v], _mm512_setzero_si512()));
  }
  // Below eight blocks ymm pairs: the same AES work, and a ymm folds in one step, a zmm in two.
  for (; n - b >= 8; b += 4) fours = Xor(fours, Aes4(Load4(blocks + 16 * b), k));
  __m256i pairs = _mm256_setzero_si256();
  for (; b + 2 <= n; b += 2) pairs = Xor(pairs, Aes4(Load2(blocks + 16 * b), k));
  __m128i total = FoldHalves(pairs);
  if (n >= 8) total = Xor(total, FoldToBlock(fours));
  if (b < n) total = Xor(total, Aes4(Load(blocks + 16 * b), k));
  Store(sum, Xor(Load(sum), total));
}

RELAYCELL_AEZ_VAES512_ENTRY void AezHashStringsVaes512(
    const AezKeyBlocks& key, size_t first_j, std::span<const std::span<const uint8_t>> strings,
    uint8_t sum[16]) {
  Aes4Sum acc{
      LoadKeys(key), _mm512_setzero_si512(), _mm256_setzero_si256(), _mm_setzero_si128(), false,
      false};
  const __m128i i1 = Load(key.i_powers[0]);
  for (size_t s = 0; s < strings.size(); ++s) {
    const std::span<const uint8_t> text = strings[s];
    const __m128i jj = Load(key.j_multiple(first_j + s));
    __m128i ipow = Load(key.i_powers[1]);
    __m128i j_ipow = Xor(jj, ipow);
    size_t i = 1, at = 0;
    // Blocks i..i+3 with i = 1 mod 4 share the I power; their L terms are l_multiple(i % 8)'s
    // four rows.
    for (; text.size() - at >= 64; at += 64, i += 4) {
      if (i > 8 && i % 8 == 1) {  // 2^ceil(i/8)·I
        ipow = NextIPower(key, (i - 1) / 8, ipow);
        j_ipow = Xor(jj, ipow);
      }
      PushFour(acc, Xor3(Load4(text.data() + at), Broadcast(j_ipow), Load4(key.l_multiple(i % 8))));
    }
    for (; text.size() - at >= 16; at += 16, ++i) {
      if (i > 8 && i % 8 == 1) {
        ipow = NextIPower(key, (i - 1) / 8, ipow);
        j_ipow = Xor(jj, ipow);
      }
      Push(acc, Xor3(Load(text.data() + at), j_ipow, Load(key.l_multiple(i % 8))));
    }
    const size_t rest = text.size() - at;
    if (rest > 0 || text.empty()) {
      alignas(16) uint8_t block[16] = {};
      if (rest > 0) memcpy(block, text.data() + at, rest);  // an empty span may be null
      block[rest] = 0x80;
      Push(acc, Xor3(_mm_load_si128(reinterpret_cast<const __m128i*>(block)), jj,
                     i1));  // E^{j,0}: j·J ^ I
    }
  }
  Store(sum, Xor(Load(sum), Total(acc)));
}

RELAYCELL_AEZ_VAES512_ENTRY void AezCellHashTermsVaes512(const AezKeyBlocks& key,
                                                         const uint8_t nonce_block[16],
                                                         const uint8_t a1[32], const uint8_t a2[16],
                                                         uint8_t sum[16]) {
  Store(sum, Xor(Load(sum), CellHashTerms(key, nonce_block, a1, a2)));
}

// Eight jobs in flight: an AES4 is four rounds of latency three, and the loads and folds
// around them take the rest.
RELAYCELL_AEZ_VAES512_ENTRY void AezCellHashTermsBatchVaes512(const AezCellHashJob* jobs,
                                                              size_t n) {
  size_t at = 0;
  for (; at + 8 <= n; at += 8) CellHashTermsGroup<8>(jobs + at);
  switch (n - at) {  // no lambda: it would not carry the target attribute
    case 7: CellHashTermsGroup<7>(jobs + at); break;
    case 6: CellHashTermsGroup<6>(jobs + at); break;
    case 5: CellHashTermsGroup<5>(jobs + at); break;
    case 4: CellHashTermsGroup<4>(jobs + at); break;
    case 3: CellHashTermsGroup<3>(jobs + at); break;
    case 2: CellHashTermsGroup<2>(jobs + at); break;
    case 1: CellHashTermsGroup<1>(jobs + at); break;
    default: break;
  }
}

// As AezCoreCellVaes256: Δ's one AES4 first, then pass 1, the chain's 14 rounds beside the
// middle AES10, then pass 2.
RELAYCELL_AEZ_VAES512_ENTRY void AezCoreCellVaes512(const AezKeyBlocks& key, const AezCellJob& cell,
                                                    const uint8_t* in, uint8_t* out, size_t bytes,
                                                    bool decipher) {
  const size_t d = decipher ? 1 : 0;
  const __m128i delta =
      Xor(Load(cell.tau0), CellHashTerms(key, cell.nonce_block, cell.a1, cell.a2));
  const AezCoreJob job{&key, nullptr, in, out, bytes};
  CoreState st;  // in registers: see AezCoreVaes512
  CellWork work;
  BeginAny(job, d, delta, work, 0, st);
  // a2 (perhaps the chain itself) was read above.
  if (cell.chain != nullptr) StepChain(cell.chain_round_keys, cell.chain);
  Middle(key, d, st);
  FinishAny(job, d, work, 0, st);
}

}  // namespace relaycell::kernels
