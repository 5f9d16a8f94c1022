// POLYVAL (RFC 8452 §3), compiled once per Highway target and chosen at run time.
//
// Field elements are little-endian: byte 0 bit 0 is the coefficient of x^0, so a 16-byte block
// loads directly as two u64 lanes (low, high). dot(a, b) = a * b * x^-128 mod
// P = x^128 + x^127 + x^126 + x^121 + 1, computed as a 256-bit carry-less product followed by a
// Montgomery reduction: P's low word is 1, so two folds by the constant (x^63 + x^62 + x^57)
// clear the low 128 bits and the quotient by x^128 is left.
//
// Speed: with the dot-powers H^1..H^8 precomputed, eight blocks are
//   (S ^ X1)·H^8 ^ X2·H^7 ^ ... ^ X8·H^1,
// eight independent products summed unreduced and reduced once (aggregated reduction). The
// powers are built as a tree (H^2; H^3, H^4; H^5..H^8: three dependent multiplications, not
// seven), since under a fresh key per message (the WC MAC) they are a large part of the work.
//
// On x86 CPUs with VPCLMULQDQ the raw paths in kernels/polyval_vpclmul*.cc (two or four blocks
// per multiply, batches in lockstep) stand beside these targets; the calibration
// (kernels/path_choice.h) picks among them all.
#include "kernels/polyval.h"
#include "kernels/polyval_vpclmul-inl.h"
#include "kernels/calibration-inl.h"
#include "kernels/path_choice.h"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/polyval.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Blocks per aggregated reduction.
constexpr size_t kAggregate = 8;
// x^63 + x^62 + x^57: P's terms above x^64, shifted down by 64.
constexpr uint64_t kFold = 0xC200000000000000ULL;

#if HWY_TARGET == HWY_SCALAR
// No carry-less multiply instruction here: a constant-time shift-and-mask one.
struct U128 {
  uint64_t lo, hi;
};

HWY_INLINE U128 ClMul64(uint64_t a, uint64_t b) {
  U128 r{0, 0};
  for (int i = 0; i < 64; ++i) {
    const uint64_t mask = uint64_t{0} - ((b >> i) & 1);
    r.lo ^= (a << i) & mask;
    r.hi ^= (i == 0 ? 0 : (a >> (64 - i))) & mask;  // i is public: the branch is not on data
  }
  return r;
}

struct Wide {
  uint64_t w[4];  // w[0] lowest
};

HWY_INLINE void MulAdd(const uint64_t a[2], const uint64_t b[2], Wide& acc) {
  const U128 lo = ClMul64(a[0], b[0]), hi = ClMul64(a[1], b[1]);
  const U128 m1 = ClMul64(a[0], b[1]), m2 = ClMul64(a[1], b[0]);
  acc.w[0] ^= lo.lo;
  acc.w[1] ^= lo.hi ^ m1.lo ^ m2.lo;
  acc.w[2] ^= hi.lo ^ m1.hi ^ m2.hi;
  acc.w[3] ^= hi.hi;
}

HWY_INLINE void Reduce(const Wide& t, uint64_t out[2]) {
  const U128 a = ClMul64(t.w[0], kFold);
  const uint64_t t1 = t.w[1] ^ a.lo;
  const U128 b = ClMul64(t1, kFold);
  out[0] = t.w[2] ^ t.w[0] ^ a.hi ^ b.lo;
  out[1] = t.w[3] ^ t1 ^ b.hi;
}

HWY_INLINE void LoadBlock(const uint8_t* p, uint64_t out[2]) { std::memcpy(out, p, 16); }

void PolyvalOne(const uint8_t* h, const uint8_t* message, size_t length, uint8_t* out) {
  uint64_t key[2], state[2] = {0, 0};
  LoadBlock(h, key);
  uint8_t last[16];
  for (size_t at = 0; at < length; at += 16) {
    const size_t n = std::min<size_t>(16, length - at);
    std::memset(last, 0, sizeof last);
    std::memcpy(last, message + at, n);
    uint64_t x[2];
    LoadBlock(last, x);
    x[0] ^= state[0];
    x[1] ^= state[1];
    Wide product{{0, 0, 0, 0}};
    MulAdd(x, key, product);
    Reduce(product, state);
  }
  std::memcpy(out, state, 16);
  explicit_bzero(key, sizeof key);
  explicit_bzero(state, sizeof state);
  explicit_bzero(last, sizeof last);
}

#else

using D = hn::Full128<uint64_t>;
using V = hn::Vec<D>;

// A 256-bit product kept as three 128-bit parts: lo = a0·b0, hi = a1·b1, mid = a0·b1 ^ a1·b0.
struct Wide {
  V lo, mid, hi;
};

HWY_INLINE Wide Mul(V a, V b) {
  const V b_swapped = hn::Shuffle01(b);
  return Wide{hn::CLMulLower(a, b),
              hn::Xor(hn::CLMulLower(a, b_swapped), hn::CLMulUpper(a, b_swapped)),
              hn::CLMulUpper(a, b)};
}

HWY_INLINE void MulAdd(V a, V b, Wide& acc) {
  const V b_swapped = hn::Shuffle01(b);
  acc.lo = hn::Xor(acc.lo, hn::CLMulLower(a, b));
  acc.hi = hn::Xor(acc.hi, hn::CLMulUpper(a, b));
  acc.mid = hn::Xor(acc.mid, hn::Xor(hn::CLMulLower(a, b_swapped), hn::CLMulUpper(a, b_swapped)));
}

// (lo, hi) words t0..t3 -> t * x^-128 mod P.
HWY_INLINE V Reduce(const Wide& t) {
  const D d;
  const V fold = hn::Set(d, kFold);
  const V lo = hn::Xor(t.lo, hn::ShiftLeftLanes<1>(d, t.mid));   // t0, t1
  const V hi = hn::Xor(t.hi, hn::ShiftRightLanes<1>(d, t.mid));  // t2, t3
  // First fold: t0 · fold lands on (t1, t2); t0 · x^128 lands on t2.
  const V a = hn::CLMulLower(lo, fold);
  const V folded = hn::Xor(hn::Shuffle01(lo), a);  // (t1 ^ a0, t0 ^ a1)
  // Second fold: (t1 ^ a0) · fold lands on (t2, t3); (t1 ^ a0) · x^128 on t3.
  const V b = hn::CLMulLower(folded, fold);
  return hn::Xor(hi, hn::Xor(hn::Shuffle01(folded), b));
}

HWY_INLINE V Dot(V a, V b) { return Reduce(Mul(a, b)); }

HWY_INLINE V LoadBlock(const uint8_t* p) {
  const hn::Full128<uint8_t> d8;
  return hn::BitCast(D(), hn::LoadU(d8, p));
}

// count (1..8) blocks folded into state with one reduction; powers[i] = H^(i+1).
HWY_INLINE V Aggregate(V state, const uint8_t* blocks, size_t count, const V* powers) {
  Wide acc = Mul(hn::Xor(state, LoadBlock(blocks)), powers[count - 1]);
  for (size_t i = 1; i < count; ++i) MulAdd(LoadBlock(blocks + 16 * i), powers[count - 1 - i], acc);
  return Reduce(acc);
}

void PolyvalOne(const uint8_t* h, const uint8_t* message, size_t length, uint8_t* out) {
  const D d;
  const size_t whole = length / 16;
  const size_t tail = length % 16;
  const size_t blocks = whole + (tail != 0);
  V powers[kAggregate];
  powers[0] = LoadBlock(h);
  if (blocks >= 2) powers[1] = Dot(powers[0], powers[0]);
  if (blocks >= 3) {
    powers[2] = Dot(powers[1], powers[0]);
    powers[3] = Dot(powers[1], powers[1]);
  }
  if (blocks >= 5) {
    for (size_t i = 4; i < kAggregate; ++i) powers[i] = Dot(powers[3], powers[i - 4]);
  }

  V state = hn::Zero(d);
  size_t at = 0;
  for (; at + 16 * kAggregate <= 16 * whole; at += 16 * kAggregate) {
    state = Aggregate(state, message + at, kAggregate, powers);
  }
  if (at < 16 * whole) {
    state = Aggregate(state, message + at, whole - at / 16, powers);
    at = 16 * whole;
  }
  if (tail != 0) {
    HWY_ALIGN uint8_t last[16] = {};
    std::memcpy(last, message + at, tail);
    state = Aggregate(state, last, 1, powers);
    explicit_bzero(last, sizeof last);
  }
  hn::StoreU(hn::BitCast(hn::Full128<uint8_t>(), state), hn::Full128<uint8_t>(), out);
  explicit_bzero(powers, sizeof powers);  // derived from H: secret
}
#endif  // HWY_TARGET == HWY_SCALAR

void PolyvalJobs(const PolyvalJob* jobs, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    PolyvalOne(jobs[i].h, jobs[i].message, jobs[i].length, jobs[i].out);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace relaycell::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace relaycell::kernels {

HWY_EXPORT(PolyvalJobs);

bool PolyvalBatchWithPath(KernelPath path, std::span<const PolyvalJob> jobs) {
  if (path.is_raw()) {
    if (!RawKernelUsable(path.raw())) return false;
    switch (path.raw()) {
      case RawKernel::kVpclmul256: PolyvalJobsVpclmul256(jobs.data(), jobs.size()); return true;
      case RawKernel::kVpclmul512: PolyvalJobsVpclmul512(jobs.data(), jobs.size()); return true;
      default: return false;
    }
  }
  const size_t index = HighwayTableIndex(path);
  if (index == 0) return false;
  HWY_DISPATCH_TABLE(PolyvalJobs)[index](jobs.data(), jobs.size());
  return true;
}

void Polyval(std::span<const uint8_t, 16> h, std::span<const uint8_t> message,
             std::span<uint8_t, 16> out) {
  const PolyvalJob job{h.data(), message.data(), message.size(), out.data()};
  PolyvalBatchWithPath(ActivePath(KernelFamily::kPolyval), {&job, 1});
}

void PolyvalBatch(std::span<const PolyvalJob> jobs) {
  PolyvalBatchWithPath(ActivePath(KernelFamily::kPolyval), jobs);
}

double MeasurePolyval(KernelPath path) {
  // The Wegman-Carter MAC's shape: 512-byte messages, each under its own key, four at a time.
  constexpr size_t kBytes = 512, kJobs = 4;
  alignas(64) static uint8_t messages[kJobs][kBytes];
  uint8_t keys[kJobs][16], outs[kJobs][16];
  PolyvalJob jobs[kJobs];
  for (size_t j = 0; j < kJobs; ++j) {
    for (size_t b = 0; b < 16; ++b) keys[j][b] = static_cast<uint8_t>(j * 16 + b + 1);
    jobs[j] = {keys[j], messages[j], kBytes, outs[j]};
  }
  return BestRate(kBytes * kJobs, [&] { PolyvalBatchWithPath(path, jobs); });
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
