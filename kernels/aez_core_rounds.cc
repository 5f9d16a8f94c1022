// AEZ-core, fused: compiled once per Highway target (foreach_target), chosen at run time.
//
// Shape of the work (m block pairs, d = 0 to encipher, 1 to decipher):
//   pass 1: E^{1,i} on every X'_i, then E^{0,0} on every W_i        (2 waves of m AES4)
//   middle: one AES10 that everything after it depends on         (the serial bubble)
//   pass 2: E^{2,i}(S), then E^{0,0}, then E^{1,i}                  (3 waves of m AES4)
//   final:  three AES10 (fragment pads, Cy), three AES4             (small serial steps)
// Pairs go through in chunks of up to 8 independent blocks (AES latency 4 x issue 2 = 8 in
// flight). Messages are processed in groups: pass 1 of every message of the group, then the
// middle AES10 of all of them together, and so on, so the serial steps of one message overlap
// those of the others.
#include "kernels/aez_core_rounds.h"

#include <algorithm>
#include <cstring>

#include "kernels/aes256_block.h"
#include "kernels/aes_rounds.h"
#include "kernels/aez_core_vaes-inl.h"
#include "kernels/calibration-inl.h"
#include "kernels/cpu_features.h"
#include "kernels/path_choice.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/aez_core_rounds.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// No 128-bit vectors: a byte block and the constant-time reference round.
struct Blk {
  uint8_t b[16];
};
HWY_INLINE Blk LoadB(const uint8_t* p) {
  Blk r;
  std::memcpy(r.b, p, 16);
  return r;
}
HWY_INLINE void StoreB(const Blk& v, uint8_t* p) { std::memcpy(p, v.b, 16); }
HWY_INLINE Blk XorB(const Blk& a, const Blk& b) {
  Blk r;
  for (int k = 0; k < 16; ++k) r.b[k] = a.b[k] ^ b.b[k];
  return r;
}
HWY_INLINE Blk RoundB(const Blk& v, const Blk& key) {
  Blk r;
  AesRoundReference(v.b, key.b, r.b);
  return r;
}
#else
using D16 = hn::FixedTag<uint8_t, 16>;
using Blk = hn::Vec<D16>;
HWY_INLINE Blk LoadB(const uint8_t* p) { return hn::LoadU(D16(), p); }
HWY_INLINE void StoreB(Blk v, uint8_t* p) { hn::StoreU(v, D16(), p); }
HWY_INLINE Blk XorB(Blk a, Blk b) { return hn::Xor(a, b); }
HWY_INLINE Blk RoundB(Blk v, Blk key) { return hn::AESRound(v, key); }
#endif

HWY_INLINE Blk DoubleB(const Blk& v) {
  alignas(16) uint8_t t[16];
  StoreB(v, t);
  AezDoubleBlock(t, t);
  return LoadB(t);
}

template <size_t N>
HWY_INLINE void Aes4N(Blk (&v)[N], const Blk* k) {
  for (int r = 0; r < 4; ++r) {
    for (size_t b = 0; b < N; ++b) v[b] = RoundB(v[b], k[r]);
  }
}

// Per-message values carried from one stage of the group to the next.
struct CoreState {
  Blk delta, xx, xy;  // Δ and the last two input blocks
  Blk sum_x, sum_y;   // S_X and S_Y accumulators
  Blk sx, sy, s;      // Sx, Sy, S
  size_t pairs, frag;
  alignas(16) uint8_t frag_in[32];  // Xuv, then 0x80 at index frag, zeros after
};

// The offset of E^{j,i} for the pairs of group g (pairs 8g+1 .. 8g+8) shares 2^(g+1)·I.
HWY_INLINE Blk NextIPower(const AezKeyBlocks& key, size_t group, const Blk& previous) {
  return group + 1 < kAezIPowers ? LoadB(key.i_powers[group + 1]) : DoubleB(previous);
}

// Pass 1 on N pairs starting at position p0 of their group of 8.
//   W = X ^ E^{1,i}(X'),  X* = X' ^ E^{0,0}(W)
template <size_t N>
HWY_INLINE void Pass1Chunk(const Blk* k4, const AezKeyBlocks& key, const Blk& j_ipow, const Blk& i1,
                           size_t p0, const uint8_t* in, uint8_t* out, Blk& sum_x) {
  Blk x[N], xp[N], t[N];
  for (size_t b = 0; b < N; ++b) {
    x[b] = LoadB(in + 32 * b);
    xp[b] = LoadB(in + 32 * b + 16);
    t[b] = XorB(xp[b], XorB(j_ipow, LoadB(key.l_multiple((p0 + b + 1) & 7))));
  }
  Aes4N(t, k4);
  for (size_t b = 0; b < N; ++b) {
    x[b] = XorB(x[b], t[b]);
    t[b] = XorB(x[b], i1);
  }
  Aes4N(t, k4);
  for (size_t b = 0; b < N; ++b) {
    xp[b] = XorB(xp[b], t[b]);
    sum_x = XorB(sum_x, xp[b]);
    StoreB(x[b], out + 32 * b);
    StoreB(xp[b], out + 32 * b + 16);
  }
}

// Pass 2 on N pairs (W, X* read from out):
//   S' = E^{2,i}(S), Y = W ^ S', Y' = X* ^ S', Z' = Y ^ E^{0,0}(Y'), Z = Y' ^ E^{1,i}(Z')
template <size_t N>
HWY_INLINE void Pass2Chunk(const Blk* k4, const AezKeyBlocks& key, const Blk& s_2j_ipow,
                           const Blk& j_ipow, const Blk& i1, size_t p0, uint8_t* out, Blk& sum_y) {
  Blk y[N], yp[N], t[N];
  for (size_t b = 0; b < N; ++b) t[b] = XorB(s_2j_ipow, LoadB(key.l_multiple((p0 + b + 1) & 7)));
  Aes4N(t, k4);
  for (size_t b = 0; b < N; ++b) {
    y[b] = XorB(LoadB(out + 32 * b), t[b]);
    yp[b] = XorB(LoadB(out + 32 * b + 16), t[b]);
    sum_y = XorB(sum_y, y[b]);
    t[b] = XorB(yp[b], i1);
  }
  Aes4N(t, k4);
  for (size_t b = 0; b < N; ++b) {
    y[b] = XorB(y[b], t[b]);  // Z'
    t[b] = XorB(y[b], XorB(j_ipow, LoadB(key.l_multiple((p0 + b + 1) & 7))));
  }
  Aes4N(t, k4);
  for (size_t b = 0; b < N; ++b) {
    yp[b] = XorB(yp[b], t[b]);  // Z
    StoreB(yp[b], out + 32 * b);
    StoreB(y[b], out + 32 * b + 16);
  }
}

// Runs `chunk` over n pairs as chunks of 8, 4, 2, 1.
template <class Chunk8, class Chunk4, class Chunk2, class Chunk1>
HWY_INLINE void ForPairs(size_t n, Chunk8 c8, Chunk4 c4, Chunk2 c2, Chunk1 c1) {
  size_t p = 0;
  for (; p + 8 <= n; p += 8) c8(p);
  if (p + 4 <= n) {
    c4(p);
    p += 4;
  }
  if (p + 2 <= n) {
    c2(p);
    p += 2;
  }
  if (p < n) c1(p);
}

void LoadAes4Keys(const AezKeyBlocks& key, Blk* k4) {
  for (int r = 0; r < 4; ++r) k4[r] = LoadB(key.aes4(r));
}

void Pass1(const AezKeyBlocks& key, const uint8_t* in, uint8_t* out, size_t pairs, Blk& sum_x) {
  Blk k4[4];
  LoadAes4Keys(key, k4);
  const Blk i1 = LoadB(key.i_powers[0]);
  const Blk j1 = LoadB(key.j_multiple(1));
  Blk ipow = LoadB(key.i_powers[1]);
  for (size_t g = 0; 8 * g < pairs; ++g) {
    if (g > 0) ipow = NextIPower(key, g, ipow);
    const Blk j_ipow = XorB(j1, ipow);
    const uint8_t* gin = in + 256 * g;
    uint8_t* gout = out + 256 * g;
    ForPairs(
        std::min<size_t>(8, pairs - 8 * g),
        [&](size_t p) {
          Pass1Chunk<8>(k4, key, j_ipow, i1, p, gin + 32 * p, gout + 32 * p, sum_x);
        },
        [&](size_t p) {
          Pass1Chunk<4>(k4, key, j_ipow, i1, p, gin + 32 * p, gout + 32 * p, sum_x);
        },
        [&](size_t p) {
          Pass1Chunk<2>(k4, key, j_ipow, i1, p, gin + 32 * p, gout + 32 * p, sum_x);
        },
        [&](size_t p) {
          Pass1Chunk<1>(k4, key, j_ipow, i1, p, gin + 32 * p, gout + 32 * p, sum_x);
        });
  }
}

void Pass2(const AezKeyBlocks& key, const Blk& s, uint8_t* out, size_t pairs, Blk& sum_y) {
  Blk k4[4];
  LoadAes4Keys(key, k4);
  const Blk i1 = LoadB(key.i_powers[0]);
  const Blk j1 = LoadB(key.j_multiple(1));
  const Blk s_2j = XorB(s, LoadB(key.j_multiple(2)));
  Blk ipow = LoadB(key.i_powers[1]);
  for (size_t g = 0; 8 * g < pairs; ++g) {
    if (g > 0) ipow = NextIPower(key, g, ipow);
    const Blk j_ipow = XorB(j1, ipow);
    const Blk s_2j_ipow = XorB(s_2j, ipow);
    uint8_t* gout = out + 256 * g;
    ForPairs(
        std::min<size_t>(8, pairs - 8 * g),
        [&](size_t p) { Pass2Chunk<8>(k4, key, s_2j_ipow, j_ipow, i1, p, gout + 32 * p, sum_y); },
        [&](size_t p) { Pass2Chunk<4>(k4, key, s_2j_ipow, j_ipow, i1, p, gout + 32 * p, sum_y); },
        [&](size_t p) { Pass2Chunk<2>(k4, key, s_2j_ipow, j_ipow, i1, p, gout + 32 * p, sum_y); },
        [&](size_t p) { Pass2Chunk<1>(k4, key, s_2j_ipow, j_ipow, i1, p, gout + 32 * p, sum_y); });
  }
}

// n blocks, block b under its own key: all AES4 (or AES10) rounds interleaved across blocks.
void Aes4Many(Blk* v, const AezKeyBlocks* const* keys, size_t n) {
  for (int r = 0; r < 4; ++r) {
    for (size_t b = 0; b < n; ++b) v[b] = RoundB(v[b], LoadB(keys[b]->aes4(r)));
  }
}
void Aes10Many(Blk* v, const AezKeyBlocks* const* keys, size_t n) {
  for (size_t r = 0; r < kAezAes10Rounds; ++r) {
    const size_t k = kAezAes10Key[r % 3];
    for (size_t b = 0; b < n; ++b) v[b] = RoundB(v[b], LoadB(keys[b]->aes4(k)));
  }
}

constexpr size_t kGroup = 16;

void CoreGroup(const AezCoreJob* jobs, size_t n, bool decipher) {
  const size_t d = decipher ? 1 : 0;
  CoreState st[kGroup];
  const AezKeyBlocks* keys[3 * kGroup] = {};  // entries past the group's stay null
  Blk v[3 * kGroup];
  alignas(16) static const uint8_t kZero[16] = {};
  const Blk zero = LoadB(kZero);

  // Pass 1, the fragment's and Xy's AES4 (E^{0,4}, E^{0,5}, E^{0,1+d}).
  for (size_t g = 0; g < n; ++g) {
    const AezCoreJob& job = jobs[g];
    const AezKeyBlocks& key = *job.key;
    CoreState& s = st[g];
    s.pairs = (job.bytes - 32) / 32;
    s.frag = job.bytes - 32 - 32 * s.pairs;
    std::memset(s.frag_in, 0, sizeof s.frag_in);
    std::memcpy(s.frag_in, job.in + 32 * s.pairs, s.frag);
    s.frag_in[s.frag] = 0x80;
    s.delta = LoadB(job.delta);
    s.xx = LoadB(job.in + job.bytes - 32);
    s.xy = LoadB(job.in + job.bytes - 16);
    s.sum_x = zero;
    s.sum_y = zero;
    Pass1(key, job.in, job.out, s.pairs, s.sum_x);
    const Blk i2 = LoadB(key.i_powers[1]);
    v[3 * g] = XorB(s.xy, XorB(i2, LoadB(key.l_multiple(1 + d))));
    v[3 * g + 1] = XorB(LoadB(s.frag_in), XorB(i2, LoadB(key.l_multiple(4))));
    v[3 * g + 2] = XorB(LoadB(s.frag_in + 16), XorB(i2, LoadB(key.l_multiple(5))));
    keys[3 * g] = keys[3 * g + 1] = keys[3 * g + 2] = &key;
  }
  Aes4Many(v, keys, 3 * n);

  // Middle: Sx = Xx ^ Δ ^ S_X ^ E^{0,1+d}(Xy); Sy = Xy ^ E^{-1,1+d}(Sx); S = Sx ^ Sy.
  for (size_t g = 0; g < n; ++g) {
    CoreState& s = st[g];
    if (s.frag > 0) s.sum_x = XorB(s.sum_x, v[3 * g + 1]);
    if (s.frag >= 16) s.sum_x = XorB(s.sum_x, v[3 * g + 2]);
    s.sx = XorB(XorB(s.xx, s.delta), XorB(s.sum_x, v[3 * g]));
    v[g] = XorB(s.sx, LoadB(jobs[g].key->l_multiple(1 + d)));
    keys[g] = jobs[g].key;
  }
  Aes10Many(v, keys, n);
  for (size_t g = 0; g < n; ++g) {
    CoreState& s = st[g];
    s.sy = XorB(s.xy, v[g]);
    s.s = XorB(s.sx, s.sy);
  }

  // Pass 2.
  for (size_t g = 0; g < n; ++g)
    Pass2(*jobs[g].key, st[g].s, jobs[g].out, st[g].pairs, st[g].sum_y);

  // Final AES10s: fragment pads E^{-1,4}(S), E^{-1,5}(S) and E^{-1,2-d}(Sy).
  for (size_t g = 0; g < n; ++g) {
    const AezKeyBlocks& key = *jobs[g].key;
    CoreState& s = st[g];
    v[3 * g] = XorB(s.s, LoadB(key.l_multiple(4)));
    v[3 * g + 1] = XorB(s.s, LoadB(key.l_multiple(5)));
    v[3 * g + 2] = XorB(s.sy, LoadB(key.l_multiple(2 - d)));
    keys[3 * g] = keys[3 * g + 1] = keys[3 * g + 2] = &key;
  }
  Aes10Many(v, keys, 3 * n);

  // Fragment out, Cy, then their AES4s: E^{0,4}(Cu), E^{0,5}(Cv || 10*), E^{0,2-d}(Cy).
  for (size_t g = 0; g < n; ++g) {
    const AezCoreJob& job = jobs[g];
    const AezKeyBlocks& key = *job.key;
    CoreState& s = st[g];
    alignas(16) uint8_t pads[32];
    StoreB(v[3 * g], pads);
    StoreB(v[3 * g + 1], pads + 16);
    for (size_t k = 0; k < s.frag; ++k) s.frag_in[k] ^= pads[k];  // now Cuv, 0x80, zeros
    explicit_bzero(pads, sizeof pads);
    std::memcpy(job.out + 32 * s.pairs, s.frag_in, s.frag);
    const Blk cy = XorB(s.sx, v[3 * g + 2]);
    const Blk i2 = LoadB(key.i_powers[1]);
    v[3 * g] = XorB(LoadB(s.frag_in), XorB(i2, LoadB(key.l_multiple(4))));
    v[3 * g + 1] = XorB(LoadB(s.frag_in + 16), XorB(i2, LoadB(key.l_multiple(5))));
    v[3 * g + 2] = XorB(cy, XorB(i2, LoadB(key.l_multiple(2 - d))));
    StoreB(cy, job.out + job.bytes - 16);
  }
  Aes4Many(v, keys, 3 * n);
  for (size_t g = 0; g < n; ++g) {
    const AezCoreJob& job = jobs[g];
    CoreState& s = st[g];
    if (s.frag > 0) s.sum_y = XorB(s.sum_y, v[3 * g]);
    if (s.frag >= 16) s.sum_y = XorB(s.sum_y, v[3 * g + 1]);
    const Blk cx = XorB(XorB(s.sy, s.delta), XorB(s.sum_y, v[3 * g + 2]));
    StoreB(cx, job.out + job.bytes - 32);
  }
  explicit_bzero(st, n * sizeof st[0]);
  explicit_bzero(v, 3 * n * sizeof v[0]);
}

void CoreBatch(const AezCoreJob* jobs, size_t n, bool decipher) {
  for (size_t at = 0; at < n; at += kGroup)
    CoreGroup(jobs + at, std::min(kGroup, n - at), decipher);
}

}  // namespace HWY_NAMESPACE
}  // namespace relaycell::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace relaycell::kernels {

HWY_EXPORT(CoreBatch);

void AezDoubleBlock(const uint8_t in[16], uint8_t out[16]) {
  const uint8_t carry = static_cast<uint8_t>(-(in[0] >> 7));  // 0xFF if the top bit is set
  uint8_t next = 0;
  for (int k = 15; k >= 0; --k) {
    const uint8_t byte = in[k];
    out[k] = static_cast<uint8_t>((byte << 1) | next);
    next = byte >> 7;
  }
  out[15] ^= carry & 0x87;
}

namespace {

bool JobsValid(std::span<const AezCoreJob> jobs) {
  for (const AezCoreJob& job : jobs) {
    if (job.bytes < 32 || job.key == nullptr || job.delta == nullptr || job.in == nullptr ||
        job.out == nullptr) {
      return false;
    }
  }
  return true;
}

// The portable AezAes4XorSum: AES4 through the aes_rounds kernel of a Highway target, folded
// in chunks.
void Aes4XorSumHighway(KernelPath path, const AezKeyBlocks& key, const uint8_t* blocks, size_t n,
                       uint8_t sum[16]) {
  constexpr size_t kChunk = 16;
  alignas(16) uint8_t out[kChunk * 16];
  for (size_t at = 0; at < n; at += kChunk) {
    const size_t count = std::min(kChunk, n - at);
    AesRoundsWithPath(path, std::span<const uint8_t>(blocks + 16 * at, 16 * count), {},
                      key.aes4_schedule(), std::span<uint8_t>(out, 16 * count));
    for (size_t b = 0; b < count; ++b) {
      for (int k = 0; k < 16; ++k) sum[k] ^= out[16 * b + k];
    }
  }
  explicit_bzero(out, 16 * std::min(kChunk, n));  // AES4 outputs under the key
}

void Aes4XorSumOn(KernelPath path, const AezKeyBlocks& key, const uint8_t* blocks, size_t n,
                  uint8_t sum[16]) {
  if (path == KernelPath::Raw(RawKernel::kVaes512)) {
    AezAes4XorSumVaes512(key, blocks, n, sum);
  } else if (path == KernelPath::Raw(RawKernel::kVaes256)) {
    AezAes4XorSumVaes256(key, blocks, n, sum);
  } else {
    Aes4XorSumHighway(path, key, blocks, n, sum);
  }
}

}  // namespace

void AezAes4XorSum(const AezKeyBlocks& key, const uint8_t* blocks, size_t n, uint8_t sum[16]) {
  Aes4XorSumOn(ActivePath(KernelFamily::kAezHash), key, blocks, n, sum);
}

bool AezHashStrings(const AezKeyBlocks& key, size_t first_j,
                    std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]) {
  return AezHashStringsWithPath(ActivePath(KernelFamily::kAezHash), key, first_j, strings, sum);
}

void AezCellHashTerms(const AezKeyBlocks& key, const uint8_t nonce_block[16], const uint8_t a1[32],
                      const uint8_t a2[16], uint8_t sum[16]) {
  AezCellHashTermsWithPath(ActivePath(KernelFamily::kAezHash), key, nonce_block, a1, a2, sum);
}

bool AezCellHashTermsWithPath(KernelPath path, const AezKeyBlocks& key,
                              const uint8_t nonce_block[16], const uint8_t a1[32],
                              const uint8_t a2[16], uint8_t sum[16]) {
  // The raw paths have the four blocks' one AES4 (zmm) or two (ymm); the Highway ones hash the
  // strings as any AD.
  if (path == KernelPath::Raw(RawKernel::kVaes256) && RawKernelUsable(RawKernel::kVaes256)) {
    AezCellHashTermsVaes256(key, nonce_block, a1, a2, sum);
    return true;
  }
  if (path == KernelPath::Raw(RawKernel::kVaes512) && RawKernelUsable(RawKernel::kVaes512)) {
    AezCellHashTermsVaes512(key, nonce_block, a1, a2, sum);
    return true;
  }
  const std::span<const uint8_t> strings[3] = {
      {nonce_block, kAezCellNonceLength}, {a1, 32}, {a2, 16}};
  return AezHashStringsWithPath(path, key, 4, strings, sum);
}

void AezCellHashTermsBatch(std::span<const AezCellHashJob> jobs) {
  AezCellHashTermsBatchWithPath(ActivePath(KernelFamily::kAezHash), jobs);
}

bool AezCellHashTermsBatchWithPath(KernelPath path, std::span<const AezCellHashJob> jobs) {
  if (path == KernelPath::Raw(RawKernel::kVaes256) && RawKernelUsable(RawKernel::kVaes256)) {
    AezCellHashTermsBatchVaes256(jobs.data(), jobs.size());
    return true;
  }
  if (path == KernelPath::Raw(RawKernel::kVaes512) && RawKernelUsable(RawKernel::kVaes512)) {
    AezCellHashTermsBatchVaes512(jobs.data(), jobs.size());
    return true;
  }
  for (const AezCellHashJob& job : jobs) {  // one at a time, each through its strings
    if (!AezCellHashTermsWithPath(path, *job.key, job.nonce_block, job.a1, job.a2, job.sum)) {
      return false;
    }
  }
  return true;
}

namespace {
// The fused one-cell kernels (Δ and the chain step inside AEZ-core) exist at both raw VAES
// widths; the AEZ-core path picks the width, and the hash path only has to be raw VAES too
// (the kernel hashes the cell's AD itself: one zmm AES4, or two ymm ones).
enum class CellKernel { kNone, kVaes256, kVaes512 };
CellKernel CellKernelFor(KernelPath core_path, KernelPath hash_path) {
  const KernelPath vaes256 = KernelPath::Raw(RawKernel::kVaes256);
  const KernelPath vaes512 = KernelPath::Raw(RawKernel::kVaes512);
  if (hash_path != vaes256 && hash_path != vaes512) return CellKernel::kNone;
  if (core_path == vaes512 && RawKernelUsable(RawKernel::kVaes512)) return CellKernel::kVaes512;
  if (core_path == vaes256 && RawKernelUsable(RawKernel::kVaes256)) return CellKernel::kVaes256;
  return CellKernel::kNone;
}
bool OverlapsHash(KernelPath core_path, KernelPath hash_path) {
  return CellKernelFor(core_path, hash_path) != CellKernel::kNone;
}
// Runs the fused kernel `which` (not kNone); arguments already checked.
void RunCellKernel(CellKernel which, const AezKeyBlocks& key, const AezCellJob& cell,
                   const uint8_t* in, uint8_t* out, size_t bytes, bool decipher) {
  if (which == CellKernel::kVaes512) {
    AezCoreCellVaes512(key, cell, in, out, bytes, decipher);
  } else {
    AezCoreCellVaes256(key, cell, in, out, bytes, decipher);
  }
}
}  // namespace

bool AezCoreCellOverlapsHash() {
  return OverlapsHash(ActivePath(KernelFamily::kAezCore), ActivePath(KernelFamily::kAezHash));
}

namespace {
bool CellArgumentsValid(const AezCellJob& cell, const uint8_t* in, const uint8_t* out,
                        size_t bytes) {
  return in != nullptr && out != nullptr && bytes >= 32 && cell.tau0 != nullptr &&
         cell.nonce_block != nullptr && cell.a1 != nullptr && cell.a2 != nullptr &&
         (cell.chain == nullptr) == (cell.chain_round_keys == nullptr);
}
}  // namespace

bool AezCoreCellRoundsIfOverlapped(const AezKeyBlocks& key, const AezCellJob& cell,
                                   const uint8_t* in, uint8_t* out, size_t bytes, bool decipher) {
  const CellKernel which =
      CellKernelFor(ActivePath(KernelFamily::kAezCore), ActivePath(KernelFamily::kAezHash));
  if (which == CellKernel::kNone || !CellArgumentsValid(cell, in, out, bytes)) return false;
  RunCellKernel(which, key, cell, in, out, bytes, decipher);
  return true;
}

bool AezCoreCellRoundsWithPath(KernelPath core_path, KernelPath hash_path, const AezKeyBlocks& key,
                               const AezCellJob& cell, const uint8_t* in, uint8_t* out,
                               size_t bytes, bool decipher) {
  if (!CellArgumentsValid(cell, in, out, bytes)) return false;
  if (const CellKernel which = CellKernelFor(core_path, hash_path); which != CellKernel::kNone) {
    RunCellKernel(which, key, cell, in, out, bytes, decipher);  // VAES implies AES-NI
    return true;
  }
  if (cell.chain != nullptr && !Cpu().aesni) return false;
  alignas(16) uint8_t delta[16];
  std::memcpy(delta, cell.tau0, 16);
  if (!AezCellHashTermsWithPath(hash_path, key, cell.nonce_block, cell.a1, cell.a2, delta)) {
    return false;
  }
  const AezCoreJob job{&key, delta, in, out, bytes};
  const bool ok = AezCoreRoundsBatchWithPath(core_path, {&job, 1}, decipher);
  explicit_bzero(delta, sizeof delta);
  if (ok && cell.chain != nullptr) {  // chain ^= AES-256(chain)
    alignas(16) uint8_t encrypted[16];
    Aes256EncryptBlockAesNi(cell.chain_round_keys, cell.chain, encrypted);
    for (size_t i = 0; i < 16; ++i) cell.chain[i] ^= encrypted[i];
    explicit_bzero(encrypted, sizeof encrypted);
  }
  return ok;
}

bool AezHashStringsWithPath(KernelPath path, const AezKeyBlocks& key, size_t first_j,
                            std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]) {
  if (first_j > kAezJMultiples || strings.size() > kAezJMultiples - first_j) return false;
  if (path.is_raw()) {
    if (!RawKernelUsable(path.raw())) return false;
    switch (path.raw()) {
      case RawKernel::kVaes256: AezHashStringsVaes256(key, first_j, strings, sum); return true;
      case RawKernel::kVaes512: AezHashStringsVaes512(key, first_j, strings, sum); return true;
      default: return false;
    }
  }
  if (HighwayTableIndex(path) == 0) return false;
  // Portable: whitened blocks collected, then AES4 and folded in chunks.
  constexpr size_t kChunk = 16;
  alignas(16) uint8_t blocks[kChunk][16];
  alignas(16) uint8_t ipow[16];
  size_t count = 0, used = 0;
  auto push = [&](const uint8_t* block, const uint8_t* a, const uint8_t* b, const uint8_t* c) {
    for (int k = 0; k < 16; ++k) blocks[count][k] = block[k] ^ a[k] ^ b[k] ^ c[k];
    used = std::max(used, ++count);
    if (count == kChunk) {
      Aes4XorSumHighway(path, key, &blocks[0][0], count, sum);
      count = 0;
    }
  };
  static const uint8_t kZero[16] = {};
  for (size_t s = 0; s < strings.size(); ++s) {
    const std::span<const uint8_t> text = strings[s];
    const uint8_t* jj = key.j_multiple(first_j + s);
    std::memcpy(ipow, key.i_powers[1], 16);
    size_t i = 1, at = 0;
    for (; text.size() - at >= 16; at += 16, ++i) {
      if (i > 8 && i % 8 == 1) AezDoubleBlock(ipow, ipow);
      push(text.data() + at, jj, ipow, key.l_multiple(i % 8));
    }
    const size_t rest = text.size() - at;
    if (rest > 0 || text.empty()) {
      alignas(16) uint8_t block[16] = {};
      if (rest > 0) std::memcpy(block, text.data() + at, rest);  // an empty span may be null
      block[rest] = 0x80;
      push(block, jj, key.i_powers[0], kZero);
    }
  }
  if (count > 0) Aes4XorSumHighway(path, key, &blocks[0][0], count, sum);
  explicit_bzero(blocks, 16 * used);  // block ^ offset reveals the offset
  explicit_bzero(ipow, sizeof ipow);
  return true;
}

bool AezCoreRoundsBatchWithPath(KernelPath path, std::span<const AezCoreJob> jobs, bool decipher) {
  if (!JobsValid(jobs)) return false;
  if (path.is_raw()) {
    if (!RawKernelUsable(path.raw())) return false;
    if (jobs.empty()) return true;  // the kernels read jobs[0] before their loops
    switch (path.raw()) {
      case RawKernel::kVaes256: AezCoreVaes256(jobs.data(), jobs.size(), decipher); return true;
      case RawKernel::kVaes512: AezCoreVaes512(jobs.data(), jobs.size(), decipher); return true;
      default: return false;
    }
  }
  const size_t index = HighwayTableIndex(path);
  if (index == 0) return false;
  if (!jobs.empty()) HWY_DISPATCH_TABLE(CoreBatch)[index](jobs.data(), jobs.size(), decipher);
  return true;
}

bool AezCoreRounds(const AezKeyBlocks& key, const uint8_t* delta, const uint8_t* in, uint8_t* out,
                   size_t bytes, bool decipher) {
  const AezCoreJob job{&key, delta, in, out, bytes};
  return AezCoreRoundsBatchWithPath(ActivePath(KernelFamily::kAezCore), {&job, 1}, decipher);
}

bool AezCoreRoundsBatch(std::span<const AezCoreJob> jobs, bool decipher) {
  return AezCoreRoundsBatchWithPath(ActivePath(KernelFamily::kAezCore), jobs, decipher);
}

namespace {

// A key whose blocks are arbitrary but fixed: the timing does not depend on their values.
AezKeyBlocks CalibrationKey() {
  AezKeyBlocks key;
  uint8_t* bytes = &key.table[0][0];
  for (size_t i = 0; i < sizeof key; ++i) bytes[i] = static_cast<uint8_t>(i * 29 + 3);
  return key;
}

}  // namespace

double MeasureAezCore(KernelPath path) {
  // What the engines run: one cell alone (the latency-bound case) and a batch of eight cells
  // under eight keys, weighted equally.
  constexpr size_t kCell = 509, kBatch = 8;
  static const AezKeyBlocks keys[kBatch] = {CalibrationKey(), CalibrationKey(), CalibrationKey(),
                                            CalibrationKey(), CalibrationKey(), CalibrationKey(),
                                            CalibrationKey(), CalibrationKey()};
  alignas(64) static uint8_t cells[kBatch][kCell];
  alignas(16) const uint8_t delta[16] = {1, 2, 3};
  AezCoreJob jobs[kBatch];
  for (size_t m = 0; m < kBatch; ++m) jobs[m] = {&keys[m], delta, cells[m], cells[m], kCell};
  const double single = BestRate(kCell, [&] {
    AezCoreRoundsBatchWithPath(path, {jobs, 1}, false);
  });
  const double batch =
      BestRate(kCell * kBatch, [&] { AezCoreRoundsBatchWithPath(path, jobs, false); });
  return 2.0 / (1.0 / single + 1.0 / batch);  // harmonic mean: equal time weights
}

double MeasureAezHash(KernelPath path) {
  // A relay cell's AEZ-hash strings, as its Δ hashes them: a 10-byte nonce (padded to a block),
  // then AD of 32 and 16 bytes.
  static const AezKeyBlocks key = CalibrationKey();
  const uint8_t nonce_block[16] = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, a1[32] = {9}, a2[16] = {11};
  uint8_t sum[16] = {};
  return BestRate(kAezCellNonceLength + sizeof a1 + sizeof a2,
                  [&] { AezCellHashTermsWithPath(path, key, nonce_block, a1, a2, sum); });
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
