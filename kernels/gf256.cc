// GF(2^8) (0x11B) byte-vector kernels, compiled once per Highway target and chosen at run time.
//
// A product c * x is split by nibbles: c * x = c * (x & 15) ^ c * (x & 0xF0). Both halves are
// 16-entry tables held in vector registers and indexed with TableLookupBytes (PSHUFB), so no
// memory access depends on the data or the coefficients. For a matrix, each input vector is
// loaded and split once and feeds every output of a group held in registers (as ISA-L does).
#include "kernels/gf256.h"

#include <cstring>

#include "kernels/calibration-inl.h"
#include "kernels/gf256_tables-inl.h"
#include "kernels/path_choice.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/gf256.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// No byte shuffles here: eight bytes at a time in a 64-bit word, c * x as the masked XOR of
// x * 2^b over the bits b of c (masks, not branches, so constant time in c and x).
HWY_INLINE uint64_t MulWord(uint8_t c, uint64_t x) {
  uint64_t product = 0;
  for (int b = 0; b < 8; ++b) {
    product ^= (uint64_t{0} - ((c >> b) & 1)) & x;
    const uint64_t carries = (x >> 7) & 0x0101010101010101ULL;
    x = ((x & 0x7F7F7F7F7F7F7F7FULL) << 1) ^ (carries * 0x1B);
  }
  return product;
}

void GfGroup(const GfNibbleTables& tables, size_t inputs, size_t outputs, const uint8_t* const* in,
             uint8_t* const* out, size_t length, bool accumulate) {
  for (size_t at = 0; at < length; at += 8) {
    const size_t n = std::min<size_t>(8, length - at);
    for (size_t r = 0; r < outputs; ++r) {
      uint64_t acc = 0;
      if (accumulate) std::memcpy(&acc, out[r] + at, n);
      for (size_t j = 0; j < inputs; ++j) {
        uint64_t x = 0;
        std::memcpy(&x, in[j] + at, n);
        acc ^= MulWord(tables.Low(r, j)[1], x);  // low[1] = c * 1 = c
      }
      std::memcpy(out[r] + at, &acc, n);
    }
  }
}
#else

// The byte tables of one group, widened to the vector: [input j][output r][lo, hi].
template <class D>
HWY_INLINE void WidenTables(D d, const GfNibbleTables& tables, size_t inputs, size_t outputs,
                            uint8_t* HWY_RESTRICT wide) {
  const size_t lanes = hn::Lanes(d);
  for (size_t j = 0; j < inputs; ++j) {
    for (size_t r = 0; r < outputs; ++r) {
      const size_t slot = 2 * (j * outputs + r);
      hn::Store(hn::LoadDup128(d, tables.Low(r, j)), d, wide + slot * lanes);
      hn::Store(hn::LoadDup128(d, tables.High(r, j)), d, wide + (slot + 1) * lanes);
    }
  }
}

// kOutputs accumulators for each of kUnroll vectors live in registers across the k inputs;
// each table vector is loaded once for the kUnroll vectors.
template <size_t kOutputs, size_t kUnroll, class D>
HWY_INLINE void GroupVector(D d, const uint8_t* HWY_RESTRICT wide, size_t inputs,
                            const uint8_t* const* in, uint8_t* const* out, size_t at,
                            bool accumulate) {
  const size_t lanes = hn::Lanes(d);
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, D>> d16;
  const auto nibble = hn::Set(d, uint8_t{0x0F});
  hn::Vec<D> acc[kUnroll][kOutputs];
  for (size_t u = 0; u < kUnroll; ++u) {
    for (size_t r = 0; r < kOutputs; ++r) {
      acc[u][r] = accumulate ? hn::LoadU(d, out[r] + at + u * lanes) : hn::Zero(d);
    }
  }
  for (size_t j = 0; j < inputs; ++j) {
    hn::Vec<D> lo[kUnroll], hi[kUnroll];
    for (size_t u = 0; u < kUnroll; ++u) {
      const auto x = hn::LoadU(d, in[j] + at + u * lanes);
      lo[u] = hn::And(x, nibble);
      hi[u] = hn::And(hn::BitCast(d, hn::ShiftRight<4>(hn::BitCast(d16, x))), nibble);
    }
    const uint8_t* table = wide + 2 * j * kOutputs * lanes;
    for (size_t r = 0; r < kOutputs; ++r) {
      const auto tl = hn::Load(d, table + 2 * r * lanes);
      const auto th = hn::Load(d, table + (2 * r + 1) * lanes);
      for (size_t u = 0; u < kUnroll; ++u) {
        acc[u][r] = hn::Xor(
            acc[u][r], hn::Xor(hn::TableLookupBytes(tl, lo[u]), hn::TableLookupBytes(th, hi[u])));
      }
    }
  }
  for (size_t u = 0; u < kUnroll; ++u) {
    for (size_t r = 0; r < kOutputs; ++r) hn::StoreU(acc[u][r], d, out[r] + at + u * lanes);
  }
}

// One group of outputs over all `length` bytes: full vectors, then 16-byte vectors, then a
// final partial block through zero-padded copies. The widened tables are wiped: they encode
// the coefficients.
template <size_t kOutputs>
HWY_NOINLINE void GroupRows(const GfNibbleTables& tables, size_t inputs, const uint8_t* const* in,
                            uint8_t* const* out, size_t length, bool accumulate) {
  const hn::ScalableTag<uint8_t> d;
  const hn::FixedTag<uint8_t, 16> d128;
  const size_t lanes = hn::Lanes(d);
  HWY_ALIGN uint8_t wide[kGfMaxGroupInputs * kGfMaxGroupOutputs * 2 * HWY_MAX_BYTES];
  HWY_ALIGN uint8_t wide128[kGfMaxGroupInputs * kGfMaxGroupOutputs * 2 * 16];
  WidenTables(d, tables, inputs, kOutputs, wide);
  // Few outputs leave registers free: more vectors in flight per table load.
  constexpr size_t kUnroll = kOutputs == 1 ? 4 : kOutputs <= 3 ? 2 : 1;
  size_t at = 0;
  for (; at + kUnroll * lanes <= length; at += kUnroll * lanes) {
    GroupVector<kOutputs, kUnroll>(d, wide, inputs, in, out, at, accumulate);
  }
  for (; at + lanes <= length; at += lanes) {
    GroupVector<kOutputs, 1>(d, wide, inputs, in, out, at, accumulate);
  }
  explicit_bzero(wide, 2 * inputs * kOutputs * lanes);
  if (at == length) return;
  WidenTables(d128, tables, inputs, kOutputs, wide128);
  for (; at + 16 <= length; at += 16) {
    GroupVector<kOutputs, 1>(d128, wide128, inputs, in, out, at, accumulate);
  }
  const size_t tail = length - at;
  if (tail != 0) {
    uint8_t in_tail[kGfMaxGroupInputs][16] = {};
    uint8_t out_tail[kOutputs][16] = {};
    const uint8_t* in_ptrs[kGfMaxGroupInputs];
    uint8_t* out_ptrs[kOutputs];
    for (size_t j = 0; j < inputs; ++j) {
      std::memcpy(in_tail[j], in[j] + at, tail);
      in_ptrs[j] = in_tail[j];
    }
    for (size_t r = 0; r < kOutputs; ++r) {
      if (accumulate) std::memcpy(out_tail[r], out[r] + at, tail);
      out_ptrs[r] = out_tail[r];
    }
    GroupVector<kOutputs, 1>(d128, wide128, inputs, in_ptrs, out_ptrs, 0, accumulate);
    for (size_t r = 0; r < kOutputs; ++r) std::memcpy(out[r] + at, out_tail[r], tail);
    explicit_bzero(in_tail, sizeof in_tail);
    explicit_bzero(out_tail, sizeof out_tail);
  }
  explicit_bzero(wide128, 2 * inputs * kOutputs * 16);
}

// Rows of one group: `outputs` in [1, kGfMaxGroupOutputs], `inputs` in [1, kGfMaxGroupInputs].
void GfGroup(const GfNibbleTables& tables, size_t inputs, size_t outputs, const uint8_t* const* in,
             uint8_t* const* out, size_t length, bool accumulate) {
  static_assert(kGfMaxGroupOutputs == 6, "one case per group size");
  switch (outputs) {
    case 1: return GroupRows<1>(tables, inputs, in, out, length, accumulate);
    case 2: return GroupRows<2>(tables, inputs, in, out, length, accumulate);
    case 3: return GroupRows<3>(tables, inputs, in, out, length, accumulate);
    case 4: return GroupRows<4>(tables, inputs, in, out, length, accumulate);
    case 5: return GroupRows<5>(tables, inputs, in, out, length, accumulate);
    default: return GroupRows<6>(tables, inputs, in, out, length, accumulate);
  }
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace relaycell::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace relaycell::kernels {

HWY_EXPORT(GfGroup);

uint8_t GfMul(uint8_t a, uint8_t b) { return GfMulConstantTime(a, b); }

uint8_t GfInverse(uint8_t a) {
  // a^254 = a^-1 (and 0 for 0): a fixed chain of squarings and multiplies.
  const uint8_t a2 = GfMul(a, a);
  const uint8_t a3 = GfMul(a2, a);
  const uint8_t a6 = GfMul(a3, a3);
  const uint8_t a12 = GfMul(a6, a6);
  const uint8_t a15 = GfMul(a12, a3);
  const uint8_t a30 = GfMul(a15, a15);
  const uint8_t a60 = GfMul(a30, a30);
  const uint8_t a120 = GfMul(a60, a60);
  const uint8_t a126 = GfMul(a120, a6);
  const uint8_t a127 = GfMul(a126, a);
  return GfMul(a127, a127);
}

namespace {

// The matrix product, cut into groups of outputs (held in registers) and chunks of inputs
// (whose tables fit on the stack); chunks after the first accumulate into the outputs.
void MatrixHighway(size_t index, const uint8_t* coefficients, size_t k, size_t m,
                   const uint8_t* const* in, uint8_t* const* out, size_t length, bool accumulate) {
  GfNibbleTables tables;
  for (size_t r0 = 0; r0 < m; r0 += kGfMaxGroupOutputs) {
    const size_t outputs = std::min(kGfMaxGroupOutputs, m - r0);
    for (size_t j0 = 0; j0 < k; j0 += kGfMaxGroupInputs) {
      const size_t inputs = std::min(kGfMaxGroupInputs, k - j0);
      tables.Build(coefficients, k, r0, outputs, j0, inputs);
      const auto group_on_target = HWY_DISPATCH_TABLE(GfGroup)[index];
      group_on_target(tables, inputs, outputs, in + j0, out + r0, length, accumulate || j0 > 0);
    }
  }
  tables.Wipe();
}

bool Matrix(const uint8_t* coefficients, size_t k, size_t m, const uint8_t* const* in,
            uint8_t* const* out, size_t length, bool accumulate, KernelPath path) {
  if (path.empty()) path = ActivePath(KernelFamily::kGf256);
  const bool raw = path.is_raw();
  if (raw && !(RawKernelUsable(path.raw()) &&
               (path.raw() == RawKernel::kGfni256 || path.raw() == RawKernel::kGfni512))) {
    return false;
  }
  const size_t index = raw ? 0 : HighwayTableIndex(path);
  if (!raw && index == 0) return false;
  if (m == 0 || length == 0) return true;
  if (k == 0) {
    if (!accumulate) {
      for (size_t r = 0; r < m; ++r) std::memset(out[r], 0, length);
    }
    return true;
  }
  if (raw && path.raw() == RawKernel::kGfni512) {
    GfniMatrix512(coefficients, k, m, in, out, length, accumulate);
  } else if (raw) {
    GfniMatrix(coefficients, k, m, in, out, length, accumulate);
  } else {
    MatrixHighway(index, coefficients, k, m, in, out, length, accumulate);
  }
  return true;
}

}  // namespace

bool GfMulAccumulate(uint8_t c, std::span<const uint8_t> in, std::span<uint8_t> inout,
                     KernelPath path) {
  if (in.size() != inout.size()) return false;
  const uint8_t* in_row = in.data();
  uint8_t* out_row = inout.data();
  return Matrix(&c, 1, 1, &in_row, &out_row, in.size(), /*accumulate=*/true, path);
}

bool GfMatrixMultiply(std::span<const uint8_t> coefficients, size_t k, size_t m,
                      std::span<const uint8_t* const> in_rows, std::span<uint8_t* const> out_rows,
                      size_t length, KernelPath path) {
  if (k != 0 && m > SIZE_MAX / k) return false;
  if (coefficients.size() != k * m || in_rows.size() != k || out_rows.size() != m) return false;
  for (const uint8_t* row : in_rows) {
    if (row == nullptr && length != 0) return false;
  }
  for (uint8_t* row : out_rows) {
    if (row == nullptr && length != 0) return false;
  }
  return Matrix(coefficients.data(), k, m, in_rows.data(), out_rows.data(), length,
                /*accumulate=*/false, path);
}

bool GfDotProduct(std::span<const uint8_t> coefficients, std::span<const uint8_t* const> in_rows,
                  std::span<uint8_t> out, KernelPath path) {
  if (coefficients.size() != in_rows.size()) return false;
  for (const uint8_t* row : in_rows) {
    if (row == nullptr && !out.empty()) return false;
  }
  uint8_t* out_row = out.data();
  return Matrix(coefficients.data(), in_rows.size(), 1, in_rows.data(), &out_row, out.size(),
                /*accumulate=*/false, path);
}

double MeasureGf256(KernelPath path) {
  // Shamir split's and ISA-L's shape: k = 3 inputs to m = 5 outputs, 4 KiB rows.
  constexpr size_t kK = 3, kM = 5, kLength = 4096;
  alignas(64) static uint8_t in[kK][kLength], out[kM][kLength];
  const uint8_t coefficients[kK * kM] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const uint8_t* in_rows[kK] = {in[0], in[1], in[2]};
  uint8_t* out_rows[kM] = {out[0], out[1], out[2], out[3], out[4]};
  return BestRate(kK * kLength, [&] {
    GfMatrixMultiply(coefficients, kK, kM, in_rows, out_rows, kLength, path);
  });
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
