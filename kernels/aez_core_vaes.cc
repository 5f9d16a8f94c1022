// AEZ-core with raw 256-bit VAES: two blocks per VAESENC. Highway 1.0.3 has VAES only on its
// AVX3_DL target; CPUs with VAES but no AVX-512 (Zen 3, Alder Lake) run this instead of the
// Highway kernel where the calibration finds it faster (kernels/path_choice.h).
//
// Layout: a 256-bit vector holds the same block of two neighbouring pairs i, i+1 (i odd), so
// the offsets of E^{j,i} and E^{j,i+1} are one vector: (J ^ 2^ceil(i/8)·I) broadcast, XORed
// with (iL, (i+1)L) loaded as one vector from the key's l_multiple(i). Pairs never straddle
// an 8-block I-power group.
// Pass 1 leaves W and X* in `out` pair-transposed (W_i, W_i+1, X*_i, X*_i+1), which pass 2
// reads back with plain 32-byte loads and overwrites with the final (Z_i, Z'_i, ...).
//
// Width: Zen 3's VAESENC has latency 4 and issues more than once a cycle, so it takes six or
// more independent vectors in flight to keep the AES units busy. Each pass therefore works on
// chunks of 16 pairs (two I-power groups, up to eight vectors) at once, and the fourth round of
// an AES4 is keyed with the value XORed onto its output, which takes that XOR off the chain.
// (Measured on Zen 3: chunks of one group, four vectors, ran AEZ at AES-NI CTR's block rate.)
//
// Latency: the middle AES10 (Sx -> Sy) waits on all of pass 1, and pass 2 on it. In a batch
// the next message's pass 1 is issued right after this message's middle AES10, so the
// out-of-order core fills that 40-cycle chain with independent rounds. The fragment's and
// Cy's AES10 depend only on S and Sy: they are issued before pass 2 and run beside it.
#include <immintrin.h>
#include <string.h>  // explicit_bzero

#include <algorithm>

#include "kernels/aes256_block-inl.h"
#include "kernels/aez_core_vaes-inl.h"
#include "kernels/zeroize.h"

namespace relaycell::kernels {
namespace {

#define RELAYCELL_AEZ_VAES __attribute__((target("avx2,aes,vaes"), always_inline)) inline

// The AES4 / AES10 round keys I, J, L, each in both lanes. The fourth AES4 key is zero.
struct RoundKeys {
  __m256i i, j, l;
};

RELAYCELL_AEZ_VAES __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
RELAYCELL_AEZ_VAES void Store(uint8_t* p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}
RELAYCELL_AEZ_VAES __m256i Load2(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
RELAYCELL_AEZ_VAES void Store2(uint8_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}
// Two 16-byte blocks from anywhere into the low and high lane.
RELAYCELL_AEZ_VAES __m256i LoadHalves(const uint8_t* low, const uint8_t* high) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(Load(low)), Load(high), 1);
}
RELAYCELL_AEZ_VAES void StoreHalves(uint8_t* low, uint8_t* high, __m256i v) {
  Store(low, _mm256_castsi256_si128(v));
  Store(high, _mm256_extracti128_si256(v, 1));
}
RELAYCELL_AEZ_VAES __m256i Broadcast(__m128i v) { return _mm256_broadcastsi128_si256(v); }
RELAYCELL_AEZ_VAES __m128i Low(__m256i v) { return _mm256_castsi256_si128(v); }
RELAYCELL_AEZ_VAES __m128i FoldLanes(__m256i v) {
  return _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

RELAYCELL_AEZ_VAES RoundKeys LoadKeys(const AezKeyBlocks& key) {
  return {Broadcast(Load(key.aes4(1))), Broadcast(Load(key.aes4(0))), Broadcast(Load(key.aes4(2)))};
}

RELAYCELL_AEZ_VAES __m256i Round(__m256i v, __m256i key) { return _mm256_aesenc_epi128(v, key); }
RELAYCELL_AEZ_VAES __m128i Round(__m128i v, __m256i key) { return _mm_aesenc_si128(v, Low(key)); }

// AES4: round keys J, I, L, 0. AES10: I, J, L, I, J, L, I, J, L, I.
template <class V>
RELAYCELL_AEZ_VAES V Aes4(V v, const RoundKeys& k) {
  const __m256i zero = _mm256_setzero_si256();
  return Round(Round(Round(Round(v, k.j), k.i), k.l), zero);
}
template <class V>
RELAYCELL_AEZ_VAES V Aes10(V v, const RoundKeys& k) {
  for (int r = 0; r < 3; ++r) v = Round(Round(Round(v, k.i), k.j), k.l);
  return Round(v, k.i);
}
// GF(2^128) doubling of a big-endian block held byte for byte in a register; constant time.
RELAYCELL_AEZ_VAES __m128i Double(__m128i v) {
  const __m128i top = _mm_cmpgt_epi8(_mm_setzero_si128(), v);  // 0xFF where bit 7 is set
  const __m128i carries = _mm_srli_si128(_mm_and_si128(top, _mm_set1_epi8(1)), 1);
  const __m128i reduce = _mm_and_si128(
      _mm_slli_si128(top, 15),
      _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<char>(0x87)));
  return _mm_xor_si128(_mm_or_si128(_mm_add_epi8(v, v), carries), reduce);
}

// 2^(g+1)·I for I-power group g (block indices 8g+1 .. 8g+8), from group g-1's value.
RELAYCELL_AEZ_VAES __m128i NextIPower(const AezKeyBlocks& key, size_t g, __m128i previous) {
  return g + 1 < kAezIPowers ? Load(key.i_powers[g + 1]) : Double(previous);
}

// The fragment Xuv (0..31 bytes) as two blocks: its bytes, 0x80, zeros.
struct FragmentMasks {
  __m256i keep;    // 0xFF on the fragment's bytes
  __m256i marker;  // 0x80 right after them
  __m256i lanes;   // all ones on the blocks AEZ uses: Xu (or Xuv) iff frag > 0, Xv iff >= 16
};
RELAYCELL_AEZ_VAES FragmentMasks MakeFragmentMasks(size_t frag) {
  const __m256i index =
      _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                       22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
  const __m256i count = _mm256_set1_epi8(static_cast<char>(frag));
  const long long low = frag > 0 ? -1 : 0, high = frag >= 16 ? -1 : 0;  // lengths are public
  return {
      _mm256_cmpgt_epi8(count, index),
      _mm256_and_si256(_mm256_cmpeq_epi8(count, index), _mm256_set1_epi8(static_cast<char>(0x80))),
      _mm256_set_epi64x(high, high, low, low)};
}

// Per-message values carried from one stage to the next. Holds message-derived cipher state
// (Δ, Sx, Sy, S and the fragment), no round keys; the batch wipes it at the end.
struct CoreState {
  __m256i fragment;  // Xuv || 10* || 0*
  __m128i delta, xy, sx, sy, s;
  size_t pairs, frag;
};

// AES4 on n independent vectors, round by round so they are all in flight together (Zen 3
// needs six or more: VAESENC has latency 4 and issues more than once a cycle), the fourth
// round keyed with last[v] instead of zero: AES4(x) ^ c in four instructions.
template <size_t n>
RELAYCELL_AEZ_VAES void Aes4AllThenXor(__m256i (&v)[n], const RoundKeys& k,
                                       const __m256i (&last)[n]) {
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], k.j);
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], k.i);
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], k.l);
  for (size_t b = 0; b < n; ++b) v[b] = Round(v[b], last[b]);
}

// The offset terms of one chunk of up to 16 pairs (two I-power groups): vector v holds pairs
// 2v, 2v+1 of the chunk, in group v / 4, with L terms (2(v%4)+1)L, (2(v%4)+2)L.
struct ChunkTerms {
  __m256i group[2];  // per group: J ^ 2^(g+1)·I (pass 1, Z) or S ^ 2J ^ 2^(g+1)·I (S')
};
RELAYCELL_AEZ_VAES __m256i Offset(const ChunkTerms& terms, const uint8_t* l_pairs, size_t v) {
  return _mm256_xor_si256(terms.group[v / 4], Load2(l_pairs + 32 * (v % 4)));
}

// Pass 1 on `n` vectors of one chunk: W = X ^ E^{1,i}(X'), X* = X' ^ E^{0,0}(W). Stores W and
// X* pair-transposed; returns the XOR of the X*.
template <size_t n>
RELAYCELL_AEZ_VAES __m256i Pass1Vectors(const RoundKeys& k, const ChunkTerms& j_ipow, __m256i i1,
                                        const uint8_t* l_pairs, const uint8_t* in, uint8_t* out) {
  __m256i t[n], last[n];
  for (size_t v = 0; v < n; ++v) {
    const __m256i xp = LoadHalves(in + 64 * v + 16, in + 64 * v + 48);
    t[v] = _mm256_xor_si256(xp, Offset(j_ipow, l_pairs, v));
    last[v] = _mm256_xor_si256(LoadHalves(in + 64 * v, in + 64 * v + 32), i1);
  }
  Aes4AllThenXor(t, k, last);       // W ^ I: the next AES4's input
  for (size_t v = 0; v < n; ++v) {  // load before the store: `out` may be `in`
    last[v] = LoadHalves(in + 64 * v + 16, in + 64 * v + 48);
    Store2(out + 64 * v, _mm256_xor_si256(t[v], i1));
  }
  Aes4AllThenXor(t, k, last);  // X*
  __m256i sum = _mm256_setzero_si256();
  for (size_t v = 0; v < n; ++v) {
    sum = _mm256_xor_si256(sum, t[v]);
    Store2(out + 64 * v + 32, t[v]);
  }
  return sum;
}

// Pass 2 on `n` vectors of one chunk (W, X* pair-transposed in `out`):
//   S' = E^{2,i}(S), Y = W ^ S', Y' = X* ^ S', Z' = Y ^ E^{0,0}(Y'), Z = Y' ^ E^{1,i}(Z').
// Writes (Z_i, Z'_i) in message order; returns the XOR of the Y.
template <size_t n>
RELAYCELL_AEZ_VAES __m256i Pass2Vectors(const RoundKeys& k, const ChunkTerms& s_2j_ipow,
                                        const ChunkTerms& j_ipow, __m256i i1,
                                        const uint8_t* l_pairs, uint8_t* out) {
  __m256i t[n], last[n];
  const __m256i zero = _mm256_setzero_si256();
  for (size_t v = 0; v < n; ++v) {
    t[v] = Offset(s_2j_ipow, l_pairs, v);
    last[v] = zero;
  }
  Aes4AllThenXor(t, k, last);  // S'
  __m256i sum = _mm256_setzero_si256();
  __m256i yp[n];
  for (size_t v = 0; v < n; ++v) {
    const __m256i y = _mm256_xor_si256(Load2(out + 64 * v), t[v]);
    yp[v] = _mm256_xor_si256(Load2(out + 64 * v + 32), t[v]);
    sum = _mm256_xor_si256(sum, y);
    t[v] = _mm256_xor_si256(yp[v], i1);
    last[v] = y;
  }
  Aes4AllThenXor(t, k, last);  // Z'
  for (size_t v = 0; v < n; ++v) {
    StoreHalves(out + 64 * v + 16, out + 64 * v + 48, t[v]);
    t[v] = _mm256_xor_si256(t[v], Offset(j_ipow, l_pairs, v));
    last[v] = yp[v];
  }
  Aes4AllThenXor(t, k, last);  // Z
  for (size_t v = 0; v < n; ++v) StoreHalves(out + 64 * v, out + 64 * v + 32, t[v]);
  return sum;
}

// The I-power terms of chunk c (groups 2c and 2c+1): 2^(2c+1)·I and 2^(2c+2)·I, from the last
// chunk's second value.
RELAYCELL_AEZ_VAES void ChunkIPowers(const AezKeyBlocks& key, size_t c, __m128i (&ipow)[2]) {
  ipow[0] = c == 0 ? Load(key.i_powers[1]) : NextIPower(key, 2 * c, ipow[1]);
  ipow[1] = NextIPower(key, 2 * c + 1, ipow[0]);
}

// Pass 1 over all pairs; returns S_X (pairs only) folded to one block.
RELAYCELL_AEZ_VAES __m128i Pass1(const RoundKeys& k, const AezKeyBlocks& key, const uint8_t* in,
                                 uint8_t* out, size_t pairs) {
  const __m128i i1 = Load(key.i_powers[0]), j1 = Load(key.j_multiple(1));
  const __m256i i1_2 = Broadcast(i1);
  const uint8_t* l_pairs = key.l_multiple(1);  // (1L, 2L), (3L, 4L), ...
  __m128i ipow[2] = {};
  __m256i sum = _mm256_setzero_si256();
  __m128i single_sum = _mm_setzero_si128();
  for (size_t c = 0; 16 * c < pairs; ++c) {
    ChunkIPowers(key, c, ipow);
    const ChunkTerms j_ipow = {
        {Broadcast(_mm_xor_si128(j1, ipow[0])), Broadcast(_mm_xor_si128(j1, ipow[1]))}};
    const size_t in_chunk = std::min<size_t>(16, pairs - 16 * c);
    const uint8_t* cin = in + 512 * c;
    uint8_t* cout = out + 512 * c;
    __m256i part = _mm256_setzero_si256();
    switch (in_chunk / 2) {  // no lambda: it would not carry the target attribute
      case 8: part = Pass1Vectors<8>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 7: part = Pass1Vectors<7>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 6: part = Pass1Vectors<6>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 5: part = Pass1Vectors<5>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 4: part = Pass1Vectors<4>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 3: part = Pass1Vectors<3>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 2: part = Pass1Vectors<2>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      case 1: part = Pass1Vectors<1>(k, j_ipow, i1_2, l_pairs, cin, cout); break;
      default: break;
    }
    sum = _mm256_xor_si256(sum, part);
    if (in_chunk & 1) {  // the message's last pair, alone
      const size_t p = in_chunk - 1;
      const __m128i j_ipow_p = Low(j_ipow.group[p / 8]);
      const __m128i x = Load(cin + 32 * p), xp = Load(cin + 32 * p + 16);
      const __m128i w = _mm_xor_si128(
          x, Aes4(_mm_xor_si128(xp, _mm_xor_si128(j_ipow_p, Load(key.l_multiple(p % 8 + 1)))), k));
      const __m128i xs = _mm_xor_si128(xp, Aes4(_mm_xor_si128(w, i1), k));
      single_sum = xs;
      Store(cout + 32 * p, w);
      Store(cout + 32 * p + 16, xs);
    }
  }
  return _mm_xor_si128(FoldLanes(sum), single_sum);
}

// Pass 2 over all pairs; returns S_Y (pairs only) folded to one block.
RELAYCELL_AEZ_VAES __m128i Pass2(const RoundKeys& k, const AezKeyBlocks& key, __m128i s,
                                 uint8_t* out, size_t pairs) {
  const __m128i i1 = Load(key.i_powers[0]), j1 = Load(key.j_multiple(1));
  const __m128i s_2j = _mm_xor_si128(s, Load(key.j_multiple(2)));
  const __m256i i1_2 = Broadcast(i1);
  const uint8_t* l_pairs = key.l_multiple(1);  // (1L, 2L), (3L, 4L), ...
  __m128i ipow[2] = {};
  __m256i sum = _mm256_setzero_si256();
  __m128i single_sum = _mm_setzero_si128();
  for (size_t c = 0; 16 * c < pairs; ++c) {
    ChunkIPowers(key, c, ipow);
    const ChunkTerms j_ipow = {
        {Broadcast(_mm_xor_si128(j1, ipow[0])), Broadcast(_mm_xor_si128(j1, ipow[1]))}};
    const ChunkTerms s_2j_ipow = {
        {Broadcast(_mm_xor_si128(s_2j, ipow[0])), Broadcast(_mm_xor_si128(s_2j, ipow[1]))}};
    const size_t in_chunk = std::min<size_t>(16, pairs - 16 * c);
    uint8_t* cout = out + 512 * c;
    __m256i part = _mm256_setzero_si256();
    switch (in_chunk / 2) {
      case 8: part = Pass2Vectors<8>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 7: part = Pass2Vectors<7>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 6: part = Pass2Vectors<6>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 5: part = Pass2Vectors<5>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 4: part = Pass2Vectors<4>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 3: part = Pass2Vectors<3>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 2: part = Pass2Vectors<2>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      case 1: part = Pass2Vectors<1>(k, s_2j_ipow, j_ipow, i1_2, l_pairs, cout); break;
      default: break;
    }
    sum = _mm256_xor_si256(sum, part);
    if (in_chunk & 1) {
      const size_t p = in_chunk - 1;
      const __m128i l = Load(key.l_multiple(p % 8 + 1));
      const __m128i sp = Aes4(_mm_xor_si128(Low(s_2j_ipow.group[p / 8]), l), k);
      const __m128i y = _mm_xor_si128(Load(cout + 32 * p), sp);
      const __m128i yp = _mm_xor_si128(Load(cout + 32 * p + 16), sp);
      single_sum = y;
      const __m128i zp = _mm_xor_si128(y, Aes4(_mm_xor_si128(yp, i1), k));
      const __m128i z =
          _mm_xor_si128(yp, Aes4(_mm_xor_si128(zp, _mm_xor_si128(Low(j_ipow.group[p / 8]), l)), k));
      Store(cout + 32 * p, z);
      Store(cout + 32 * p + 16, zp);
    }
  }
  return _mm_xor_si128(FoldLanes(sum), single_sum);
}

// Pass 1, the fragment and Xy: everything up to Sx = Xx ^ Δ ^ S_X ^ E^{0,1+d}(Xy).
RELAYCELL_AEZ_VAES void Begin(const AezCoreJob& job, size_t d, __m128i delta, CoreState& st) {
  const AezKeyBlocks& key = *job.key;
  const RoundKeys k = LoadKeys(key);
  st.pairs = (job.bytes - 32) / 32;
  st.frag = job.bytes - 32 - 32 * st.pairs;
  const FragmentMasks masks = MakeFragmentMasks(st.frag);
  // In bounds: Xx and Xy follow the fragment.
  st.fragment =
      _mm256_or_si256(_mm256_and_si256(Load2(job.in + 32 * st.pairs), masks.keep), masks.marker);
  st.delta = delta;
  const __m128i xx = Load(job.in + job.bytes - 32);
  st.xy = Load(job.in + job.bytes - 16);
  // E^{0,4}(Xu), E^{0,5}(Xv || 10*) and E^{0,1+d}(Xy) do not wait for pass 1.
  const __m128i i2 = Load(key.i_powers[1]);
  const __m256i frag_out = Aes4(
      _mm256_xor_si256(st.fragment, _mm256_xor_si256(Broadcast(i2), Load2(key.l_multiple(4)))), k);
  const __m128i xy_out =
      Aes4(_mm_xor_si128(st.xy, _mm_xor_si128(i2, Load(key.l_multiple(1 + d)))), k);
  const __m128i sum_x = _mm_xor_si128(Pass1(k, key, job.in, job.out, st.pairs),
                                      FoldLanes(_mm256_and_si256(frag_out, masks.lanes)));
  st.sx = _mm_xor_si128(_mm_xor_si128(xx, st.delta), _mm_xor_si128(sum_x, xy_out));
}

// The serial step: Sy = Xy ^ E^{-1,1+d}(Sx), S = Sx ^ Sy.
RELAYCELL_AEZ_VAES void Middle(const AezKeyBlocks& key, size_t d, CoreState& st) {
  const RoundKeys k = LoadKeys(key);
  st.sy = _mm_xor_si128(st.xy, Aes10(_mm_xor_si128(st.sx, Load(key.l_multiple(1 + d))), k));
  st.s = _mm_xor_si128(st.sx, st.sy);
}

// Pass 2, the fragment out, Cy and Cx.
RELAYCELL_AEZ_VAES void Finish(const AezCoreJob& job, size_t d, const CoreState& st) {
  const AezKeyBlocks& key = *job.key;
  const RoundKeys k = LoadKeys(key);
  const __m256i l45 = Load2(key.l_multiple(4));  // 4L, 5L
  // Issued first, they run beside pass 2: E^{-1,4}(S), E^{-1,5}(S), E^{-1,2-d}(Sy).
  const __m256i pads = Aes10(_mm256_xor_si256(Broadcast(st.s), l45), k);
  const __m128i cy =
      _mm_xor_si128(st.sx, Aes10(_mm_xor_si128(st.sy, Load(key.l_multiple(2 - d))), k));
  __m128i sum_y = Pass2(k, key, st.s, job.out, st.pairs);
  const FragmentMasks masks = MakeFragmentMasks(st.frag);
  const __m256i cuv = _mm256_or_si256(
      _mm256_and_si256(_mm256_xor_si256(st.fragment, pads), masks.keep), masks.marker);
  // 32 bytes: what lies past the fragment is Cx and Cy's place, written below.
  Store2(job.out + 32 * st.pairs, cuv);
  const __m128i i2 = Load(key.i_powers[1]);
  const __m256i frag_out = Aes4(_mm256_xor_si256(cuv, _mm256_xor_si256(Broadcast(i2), l45)), k);
  const __m128i cy_out = Aes4(_mm_xor_si128(cy, _mm_xor_si128(i2, Load(key.l_multiple(2 - d)))), k);
  sum_y = _mm_xor_si128(sum_y, FoldLanes(_mm256_and_si256(frag_out, masks.lanes)));
  const __m128i cx = _mm_xor_si128(_mm_xor_si128(st.sy, st.delta), _mm_xor_si128(sum_y, cy_out));
  Store(job.out + job.bytes - 32, cx);
  Store(job.out + job.bytes - 16, cy);
}

// Whitened blocks go through AES4 two at a time, their outputs XORed together.
struct Aes4PairSum {
  RoundKeys k;
  __m256i sum;
  __m128i pending;
  bool has_pending;
};
RELAYCELL_AEZ_VAES void Push(Aes4PairSum& p, __m128i whitened) {
  if (!p.has_pending) {
    p.pending = whitened;
    p.has_pending = true;
    return;
  }
  const __m256i two = _mm256_inserti128_si256(_mm256_castsi128_si256(p.pending), whitened, 1);
  p.sum = _mm256_xor_si256(p.sum, Aes4(two, p.k));
  p.has_pending = false;
}
RELAYCELL_AEZ_VAES __m128i Total(const Aes4PairSum& p) {
  const __m128i total = FoldLanes(p.sum);
  return p.has_pending ? _mm_xor_si128(total, Aes4(p.pending, p.k)) : total;
}

// A relay cell's four hash blocks in two registers: (nonce, a1[0:16]) whitened with
// (4J ^ I, 5J ^ 2I ^ 1L) and (a1[16:32], a2) with (5J ^ 2I ^ 2L, 6J ^ 2I ^ 1L); neighbouring key
// rows are loaded as pairs. Returns the XOR of their AES4.
struct CellHashInputs {
  __m256i nonce_a1, a1_a2;  // AES4's inputs: the blocks whitened with their offsets
};
RELAYCELL_AEZ_VAES CellHashInputs CellHashInput(const AezKeyBlocks& key, const uint8_t* nonce_block,
                                                const uint8_t* a1, const uint8_t* a2) {
  const __m256i offsets_01 =
      _mm256_xor_si256(_mm256_xor_si256(Load2(key.j_multiple(4)), Load2(key.i_powers[0])),
                       Load2(key.l_multiple(0)));  // l_multiple(0) is zero
  const __m256i offsets_23 =
      _mm256_xor_si256(_mm256_xor_si256(Load2(key.j_multiple(5)), Broadcast(Load(key.i_powers[1]))),
                       LoadHalves(key.l_multiple(2), key.l_multiple(1)));
  return {_mm256_xor_si256(LoadHalves(nonce_block, a1), offsets_01),
          _mm256_xor_si256(LoadHalves(a1 + 16, a2), offsets_23)};
}
RELAYCELL_AEZ_VAES __m128i CellHashTerms(const AezKeyBlocks& key, const uint8_t* nonce_block,
                                         const uint8_t* a1, const uint8_t* a2) {
  const RoundKeys k = LoadKeys(key);
  const CellHashInputs in = CellHashInput(key, nonce_block, a1, a2);
  return FoldLanes(_mm256_xor_si256(Aes4(in.nonce_a1, k), Aes4(in.a1_a2, k)));
}

// n jobs' AES4 (two ymm each) round by round, each round's key broadcast from that job's key
// as it is used.
template <size_t n>
RELAYCELL_AEZ_VAES void CellHashTermsGroup(const AezCellHashJob* jobs) {
  __m256i t[2 * n];
  for (size_t i = 0; i < n; ++i) {
    const CellHashInputs in =
        CellHashInput(*jobs[i].key, jobs[i].nonce_block, jobs[i].a1, jobs[i].a2);
    t[2 * i] = in.nonce_a1;
    t[2 * i + 1] = in.a1_a2;
  }
  for (const size_t key_block : {size_t{0}, size_t{1}, size_t{2}}) {  // J, I, L (LoadKeys)
    for (size_t i = 0; i < n; ++i) {
      const __m256i round_key = Broadcast(Load(jobs[i].key->aes4(key_block)));
      t[2 * i] = Round(t[2 * i], round_key);
      t[2 * i + 1] = Round(t[2 * i + 1], round_key);
    }
  }
  const __m256i zero = _mm256_setzero_si256();
  for (size_t i = 0; i < n; ++i) {
    const __m128i terms =
        FoldLanes(_mm256_xor_si256(Round(t[2 * i], zero), Round(t[2 * i + 1], zero)));
    Store(jobs[i].sum, _mm_xor_si128(Load(jobs[i].sum), terms));
  }
}

}  // namespace

__attribute__((target("avx2,aes,vaes"))) void AezCoreVaes256(const AezCoreJob* jobs, size_t n,
                                                             bool decipher) {
  const size_t d = decipher ? 1 : 0;
  if (n == 0) return;
  if (n == 1) {
    CoreState st;
    Begin(jobs[0], d, Load(jobs[0].delta), st);
    Middle(*jobs[0].key, d, st);
    Finish(jobs[0], d, st);
    // Kept here, unlike the 512-bit kernel: taking it away measured no faster (Zen 4, forced
    // to this path); this kernel's state is five xmm and a ymm.
    explicit_bzero(&st, sizeof st);
    return;
  }
  // Two messages in flight: message m's middle AES10, then message m+1's pass 1 (which the
  // core overlaps with that chain), then message m's pass 2. (Measured: faster than issuing
  // m+1's middle before m's pass 2, and than running couples of messages through the serial
  // steps in the two lanes of one register.)
  CoreState st[2];
  Begin(jobs[0], d, Load(jobs[0].delta), st[0]);
  for (size_t m = 0; m < n; ++m) {
    Middle(*jobs[m].key, d, st[m & 1]);
    if (m + 1 < n) Begin(jobs[m + 1], d, Load(jobs[m + 1].delta), st[(m + 1) & 1]);
    Finish(jobs[m], d, st[m & 1]);
  }
  explicit_bzero(st, sizeof st);
}

__attribute__((target("avx2,aes,vaes"))) void AezAes4XorSumVaes256(const AezKeyBlocks& key,
                                                                   const uint8_t* blocks, size_t n,
                                                                   uint8_t sum[16]) {
  const RoundKeys k = LoadKeys(key);
  __m256i acc = _mm256_setzero_si256();
  size_t b = 0;
  for (; b + 2 <= n; b += 2) acc = _mm256_xor_si256(acc, Aes4(Load2(blocks + 16 * b), k));
  __m128i total = FoldLanes(acc);
  if (b < n) total = _mm_xor_si128(total, Aes4(Load(blocks + 16 * b), k));
  Store(sum, _mm_xor_si128(Load(sum), total));
}

__attribute__((target("avx2,aes,vaes"))) void AezHashStringsVaes256(
    const AezKeyBlocks& key, size_t first_j, std::span<const std::span<const uint8_t>> strings,
    uint8_t sum[16]) {
  Aes4PairSum acc{LoadKeys(key), _mm256_setzero_si256(), _mm_setzero_si128(), false};
  const __m128i i1 = Load(key.i_powers[0]);
  for (size_t s = 0; s < strings.size(); ++s) {
    const std::span<const uint8_t> text = strings[s];
    const __m128i jj = Load(key.j_multiple(first_j + s));
    __m128i ipow = Load(key.i_powers[1]);
    __m128i j_ipow = _mm_xor_si128(jj, ipow);
    size_t i = 1, at = 0;
    for (; text.size() - at >= 16; at += 16, ++i) {
      if (i > 8 && i % 8 == 1) {  // 2^ceil(i/8)·I
        ipow = NextIPower(key, (i - 1) / 8, ipow);
        j_ipow = _mm_xor_si128(jj, ipow);
      }
      Push(acc, _mm_xor_si128(Load(text.data() + at),
                              _mm_xor_si128(j_ipow, Load(key.l_multiple(i % 8)))));
    }
    const size_t rest = text.size() - at;
    if (rest > 0 || text.empty()) {
      alignas(16) uint8_t block[16] = {};
      if (rest > 0) memcpy(block, text.data() + at, rest);  // an empty span may be null
      block[rest] = 0x80;
      Push(acc, _mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i*>(block)),
                              _mm_xor_si128(jj, i1)));  // E^{j,0}: j·J ^ I
    }
  }
  Store(sum, _mm_xor_si128(Load(sum), Total(acc)));
}

__attribute__((target("avx2,aes,vaes"))) void AezCellHashTermsVaes256(const AezKeyBlocks& key,
                                                                      const uint8_t nonce_block[16],
                                                                      const uint8_t a1[32],
                                                                      const uint8_t a2[16],
                                                                      uint8_t sum[16]) {
  Store(sum, _mm_xor_si128(Load(sum), CellHashTerms(key, nonce_block, a1, a2)));
}

// Four jobs (eight ymm) in flight, as the AEZ-core passes keep for Zen 3's VAES latency.
__attribute__((target("avx2,aes,vaes"))) void AezCellHashTermsBatchVaes256(
    const AezCellHashJob* jobs, size_t n) {
  size_t at = 0;
  for (; at + 4 <= n; at += 4) CellHashTermsGroup<4>(jobs + at);
  switch (n - at) {  // no lambda: it would not carry the target attribute
    case 3: CellHashTermsGroup<3>(jobs + at); break;
    case 2: CellHashTermsGroup<2>(jobs + at); break;
    case 1: CellHashTermsGroup<1>(jobs + at); break;
    default: break;
  }
}

// Δ's AES4 are issued first and need nothing from pass 1, which Begin issues next; the chain's
// 14 rounds are issued after pass 1 and run beside the middle AES10, when the AES units are
// otherwise idle. The out-of-order core does the rest.
__attribute__((target("avx2,aes,vaes"))) void AezCoreCellVaes256(const AezKeyBlocks& key,
                                                                 const AezCellJob& cell,
                                                                 const uint8_t* in, uint8_t* out,
                                                                 size_t bytes, bool decipher) {
  const size_t d = decipher ? 1 : 0;
  const __m128i delta =
      _mm_xor_si128(Load(cell.tau0), CellHashTerms(key, cell.nonce_block, cell.a1, cell.a2));
  const AezCoreJob job{&key, nullptr, in, out, bytes};
  CoreState st;
  Begin(job, d, delta, st);
  // a2 (perhaps the chain itself) was read above.
  if (cell.chain != nullptr) StepChain(cell.chain_round_keys, cell.chain);
  Middle(key, d, st);
  Finish(job, d, st);
  ZeroizeInline(&st, sizeof st);  // one cell: a call would cost more than the stores
}

}  // namespace relaycell::kernels
