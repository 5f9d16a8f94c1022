// GF(2^8) kernels on GFNI at 512 bits (AVX-512BW CPUs): GF2P8MULB multiplies 64 bytes modulo
// 0x11B per instruction. Raw intrinsics behind a CPUID check (RawKernelUsable), with their own
// target attribute so the rest of the build stays baseline x86-64.
//
// Where the time goes: on Ice Lake through Emerald Rapids the 512-bit GF2P8MULB issues on port 0
// only (one per cycle, the same 64 bytes per cycle as two 256-bit ones on ports 0 and 1), so the
// multiplies are the floor and everything else must stay off port 0: the XORs are VPTERNLOG
// (two products folded into an accumulator per instruction, on port 5), and tails are masked
// loads and stores rather than copies. More accumulators fit in 32 zmm registers than in 16
// ymm, so a group holds up to 8 outputs over two 64-byte columns and fewer groups re-read the
// inputs. Small input counts (Shamir's k) are compiled for their count, with the coefficients
// in registers. Rows larger than L1 are bound by L2 instead: see kPrefetchBytes and
// AlignedStart.
//
#include "kernels/x86_intrinsics-inl.h"

#include <cstring>

#include "kernels/gf256.h"
#include "kernels/gf256_tables-inl.h"

namespace relaycell::kernels {
namespace {

// prfchw: PREFETCHW (every AVX-512 CPU has it; older ones run the encoding as a NOP).
#define RELAYCELL_GFNI512_ISA "avx512f,avx512bw,avx512vl,avx2,gfni,prfchw"
#define RELAYCELL_GFNI512_TARGET __attribute__((target(RELAYCELL_GFNI512_ISA)))
#define RELAYCELL_GFNI512_INLINE RELAYCELL_GFNI512_TARGET __attribute__((always_inline)) inline
#define RELAYCELL_GFNI512_LAMBDA __attribute__((target(RELAYCELL_GFNI512_ISA), always_inline))

// Outputs per group: 2 columns x 8 accumulators + 4 input vectors + products fit 32 registers.
constexpr size_t kGroupOutputs = 8;
// Groups of at most this many inputs are compiled for their exact count: the input loop
// unrolls and the coefficients and row pointers stay in registers (the k = 3 dot product runs
// at twice the speed of the loop over a run-time count, which reloads them every column).
constexpr size_t kFixedInputs = 4;
constexpr size_t kColumn = 64;
// Prefetch distance. Rows that are not in L1 stall two ways: a store that misses L1 waits for
// its line at commit, so with 5 outputs per 3 inputs the store buffer fills and the multiplies
// stop behind it (k = 3, m = 5 on 64 KiB rows ran at half the speed of 4 KiB rows, and Shamir
// split's 4 KiB slices of 64 KiB shares at half the speed of 8 KiB ones); and input vectors
// that split lines (rows not 64-byte aligned) miss twice (the k = 3 dot product from L2 ran at
// 57 GB/s instead of 80). Outputs are always prefetched for writing this far ahead (cheap even
// when they are in L1). Inputs are for groups of one or two outputs, whose time is their input
// streams, when the group's rows cannot all be in L1 (kL1Bytes): for rows that are, the extra
// loads cost the k = 3 dot product a sixth of its speed.
constexpr size_t kPrefetchBytes = 512;
constexpr size_t kL1Bytes = 32 * 1024;
constexpr size_t kPrefetchInputsMaxOutputs = 2;
// Rows at least this long start their whole columns where most rows are aligned.
constexpr size_t kAlignMinBytes = 512;

// acc ^ a ^ b in one instruction (truth table 0x96 = three-way XOR).
RELAYCELL_GFNI512_INLINE __m512i Xor3(__m512i acc, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi64(acc, a, b, 0x96);
}

RELAYCELL_GFNI512_INLINE __mmask64 LowBytes(size_t n) {  // n <= 64
  return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1;
}

// A group's coefficients: (j, r) is matrix[r * k + j]. The run-time loop reads them broadcast
// from `wide` ([j * outputs + r], filled and wiped by GfniMatrix512); groups of a fixed input
// count broadcast the bytes straight into registers, so no copy of them is made in memory.
struct Coefficients {
  const uint8_t* matrix;
  size_t k;
  const __m512i* wide;
};

// One group's rows (see MakeRows). kInputs == 0: the input count is known only at run time
// (the coefficients are then memory operands of the multiplies).
template <size_t kInputs, size_t kOutputs>
struct Rows {
  static constexpr bool kFixed = kInputs != 0;
  size_t inputs;
  const uint8_t* in[kFixed ? kInputs : kGfMaxGroupInputs];
  uint8_t* out[kOutputs];
  const __m512i* coeff;                        // coefficient (j, r) broadcast at [j * kOutputs + r]
  __m512i c[kFixed ? kInputs * kOutputs : 1];  // the same, for a fixed count: registers
};

template <size_t kInputs, size_t kOutputs>
RELAYCELL_GFNI512_INLINE __m512i Coefficient(const Rows<kInputs, kOutputs>& g, size_t j, size_t r) {
  if constexpr (Rows<kInputs, kOutputs>::kFixed) {
    return g.c[j * kOutputs + r];
  } else {
    return g.coeff[j * kOutputs + r];
  }
}

// kColumns 64-byte columns at `at`, accumulators in registers across all inputs. kMasked: one
// column whose bytes outside `mask` are neither read nor written (a row's head or tail), so
// nothing outside the rows is touched. Whole columns prefetch the outputs (and the inputs if
// kPrefetchInputs) at prefetch_at, a column inside the rows. load_input(j, x) fills
// x[0 .. kColumns) with input j's vectors at `at`.
template <size_t kInputs, size_t kOutputs, size_t kColumns, bool kMasked, bool kPrefetchInputs,
          class LoadInput>
RELAYCELL_GFNI512_INLINE void Columns(const Rows<kInputs, kOutputs>& g, size_t at,
                                      size_t prefetch_at, bool accumulate, __mmask64 mask,
                                      LoadInput&& load_input) {
  static_assert(!kMasked || kColumns == 1);
  const size_t inputs = kInputs != 0 ? kInputs : g.inputs;
  const auto load = [mask](const uint8_t* p) RELAYCELL_GFNI512_LAMBDA {
    return kMasked ? _mm512_maskz_loadu_epi8(mask, p) : _mm512_loadu_si512(p);
  };
  if constexpr (!kMasked) {
    for (size_t c = 0; c < kColumns; ++c) {
      if constexpr (kPrefetchInputs) {
        for (size_t j = 0; j < inputs; ++j) {
          __builtin_prefetch(g.in[j] + prefetch_at + c * kColumn, /*rw=*/0, /*locality=*/3);
        }
      }
      for (size_t r = 0; r < kOutputs; ++r) {
        __builtin_prefetch(g.out[r] + prefetch_at + c * kColumn, /*rw=*/1, /*locality=*/3);
      }
    }
  }
  __m512i acc[kColumns][kOutputs];
  size_t j = 0;
  if (accumulate) {
    for (size_t c = 0; c < kColumns; ++c) {
      for (size_t r = 0; r < kOutputs; ++r) acc[c][r] = load(g.out[r] + at + c * kColumn);
    }
  } else {
    // The first input's products start the sums: no zeroing, no XOR.
    __m512i x[kColumns];
    load_input(0, x);
    for (size_t c = 0; c < kColumns; ++c) {
      for (size_t r = 0; r < kOutputs; ++r) {
        acc[c][r] = _mm512_gf2p8mul_epi8(x[c], Coefficient(g, 0, r));
      }
    }
    j = 1;
  }
  for (; j + 2 <= inputs; j += 2) {
    __m512i x0[kColumns], x1[kColumns];
    load_input(j, x0);
    load_input(j + 1, x1);
    for (size_t r = 0; r < kOutputs; ++r) {
      const __m512i c0 = Coefficient(g, j, r), c1 = Coefficient(g, j + 1, r);
      for (size_t c = 0; c < kColumns; ++c) {
        acc[c][r] =
            Xor3(acc[c][r], _mm512_gf2p8mul_epi8(x0[c], c0), _mm512_gf2p8mul_epi8(x1[c], c1));
      }
    }
  }
  if (j < inputs) {
    __m512i x[kColumns];
    load_input(j, x);
    for (size_t c = 0; c < kColumns; ++c) {
      for (size_t r = 0; r < kOutputs; ++r) {
        acc[c][r] = _mm512_xor_si512(acc[c][r], _mm512_gf2p8mul_epi8(x[c], Coefficient(g, j, r)));
      }
    }
  }
  for (size_t c = 0; c < kColumns; ++c) {
    for (size_t r = 0; r < kOutputs; ++r) {
      if constexpr (kMasked) {
        _mm512_mask_storeu_epi8(g.out[r] + at, mask, acc[c][r]);
      } else {
        _mm512_storeu_si512(g.out[r] + at + c * kColumn, acc[c][r]);
      }
    }
  }
}

// Columns read with plain (or masked) loads.
template <size_t kInputs, size_t kOutputs, size_t kColumns, bool kMasked,
          bool kPrefetchInputs = false>
RELAYCELL_GFNI512_INLINE void Plain(const Rows<kInputs, kOutputs>& g, size_t at, size_t prefetch_at,
                                    bool accumulate, __mmask64 mask) {
  Columns<kInputs, kOutputs, kColumns, kMasked, kPrefetchInputs>(
      g, at, prefetch_at, accumulate, mask, [&](size_t j, __m512i* x) RELAYCELL_GFNI512_LAMBDA {
        for (size_t c = 0; c < kColumns; ++c) {
          x[c] = kMasked ? _mm512_maskz_loadu_epi8(mask, g.in[j] + at)
                         : _mm512_loadu_si512(g.in[j] + at + c * kColumn);
        }
      });
}

// A group's rows as locals. They never leave the function that builds them (no address taken
// by an out-of-line call), so the compiler knows the output stores cannot change them and keeps
// the pointers and coefficients in registers instead of reloading them every column.
template <size_t kInputs, size_t kOutputs>
RELAYCELL_GFNI512_INLINE Rows<kInputs, kOutputs> MakeRows(const Coefficients& cf, size_t inputs,
                                                          const uint8_t* const* in,
                                                          uint8_t* const* out) {
  Rows<kInputs, kOutputs> g;
  g.inputs = inputs;
  g.coeff = cf.wide;
  for (size_t j = 0; j < inputs; ++j) g.in[j] = in[j];
  for (size_t r = 0; r < kOutputs; ++r) g.out[r] = out[r];
  if constexpr (Rows<kInputs, kOutputs>::kFixed) {
    // Values, not a buffer: kept in registers (a spill slot, if any, is the compiler's).
    for (size_t j = 0; j < kInputs; ++j) {
      for (size_t r = 0; r < kOutputs; ++r) {
        g.c[j * kOutputs + r] = _mm512_set1_epi8(static_cast<char>(cf.matrix[r * cf.k + j]));
      }
    }
  }
  return g;
}

// One masked column, out of line: a row's head and tail share it.
template <size_t kInputs, size_t kOutputs>
RELAYCELL_GFNI512_TARGET __attribute__((noinline)) void MaskedColumn(
    const Coefficients& cf, size_t inputs, const uint8_t* const* in, uint8_t* const* out, size_t at,
    size_t bytes, bool accumulate) {
  const Rows<kInputs, kOutputs> g = MakeRows<kInputs, kOutputs>(cf, inputs, in, out);
  if constexpr (Rows<kInputs, kOutputs>::kFixed) accumulate = false;  // see GroupOutputs
  Plain<kInputs, kOutputs, 1, true>(g, at, 0, accumulate, LowBytes(bytes));
}

// Where to start the whole columns: the offset in [0, 64) that puts the most rows of the group
// (inputs and outputs alike) on a 64-byte boundary. A vector that splits a line costs a second
// L1 access, and from L2 it costs more: the k = 3 dot product on 64 KiB rows ran at 56 GB/s
// with every row 16 bytes off a line and 79 GB/s with them aligned. Realigning the others by
// permutes (aligned loads, VPERMT2D) lost more than it gained. Public: from the pointers.
template <size_t kInputs, size_t kOutputs>
RELAYCELL_GFNI512_INLINE size_t AlignedStart(const Rows<kInputs, kOutputs>& g, size_t inputs) {
  uint8_t votes[kColumn] = {};
  size_t best = 0;
  const auto vote = [&](const void* row) RELAYCELL_GFNI512_LAMBDA {
    const size_t start =
        (kColumn - (reinterpret_cast<uintptr_t>(row) & (kColumn - 1))) & (kColumn - 1);
    if (++votes[start] > votes[best]) best = start;
  };
  for (size_t r = 0; r < kOutputs; ++r) vote(g.out[r]);  // first: outputs win ties
  for (size_t j = 0; j < inputs; ++j) vote(g.in[j]);
  return best;
}

// Pairs of whole columns from `at` while they fit; returns where they stop. The prefetched
// address is clamped to the last pair, so it stays inside the rows.
template <size_t kInputs, size_t kOutputs, bool kPrefetchInputs>
RELAYCELL_GFNI512_INLINE size_t WholeColumns(const Rows<kInputs, kOutputs>& g, size_t at,
                                             size_t length, bool accumulate) {
  const size_t last = length - 2 * kColumn;
  for (; at + 2 * kColumn <= length; at += 2 * kColumn) {
    Plain<kInputs, kOutputs, 2, false, kPrefetchInputs>(g, at, std::min(at + kPrefetchBytes, last),
                                                        accumulate, 0);
  }
  return at;
}

// One group over the whole length: pairs of columns, then the last 1..127 bytes as one or two
// masked columns (a long row starts with a masked head, see AlignedStart).
template <size_t kInputs, size_t kOutputs>
RELAYCELL_GFNI512_TARGET void GroupRows(const Coefficients& cf, size_t inputs,
                                        const uint8_t* const* in, uint8_t* const* out,
                                        size_t length, bool accumulate) {
  const Rows<kInputs, kOutputs> g = MakeRows<kInputs, kOutputs>(cf, inputs, in, out);
  if constexpr (Rows<kInputs, kOutputs>::kFixed) accumulate = false;  // see GroupOutputs
  size_t at = 0;
  if (length >= kAlignMinBytes) {
    at = AlignedStart(g, inputs);
    if (at != 0) MaskedColumn<kInputs, kOutputs>(cf, inputs, in, out, 0, at, accumulate);
  }
  if (at + 2 * kColumn <= length) {
    at = (kOutputs <= kPrefetchInputsMaxOutputs && (inputs + kOutputs) * length > kL1Bytes)
             ? WholeColumns<kInputs, kOutputs, kOutputs <= kPrefetchInputsMaxOutputs>(g, at, length,
                                                                                      accumulate)
             : WholeColumns<kInputs, kOutputs, false>(g, at, length, accumulate);
  }
  for (; at < length; at += kColumn) {
    MaskedColumn<kInputs, kOutputs>(cf, inputs, in, out, at, std::min(kColumn, length - at),
                                    accumulate);
  }
}

template <size_t kOutputs>
RELAYCELL_GFNI512_TARGET void GroupOutputs(const Coefficients& cf, size_t inputs,
                                           const uint8_t* const* in, uint8_t* const* out,
                                           size_t length, bool accumulate) {
  static_assert(kFixedInputs == 4, "one case per fixed input count");
  // Accumulating (GfMulAccumulate, and input chunks after the first) takes the run-time loop:
  // the fixed ones start every sum from the first input's products, so their loops unroll
  // completely.
  if (accumulate) return GroupRows<0, kOutputs>(cf, inputs, in, out, length, true);
  switch (inputs) {
    case 1: return GroupRows<1, kOutputs>(cf, inputs, in, out, length, accumulate);
    case 2: return GroupRows<2, kOutputs>(cf, inputs, in, out, length, accumulate);
    case 3: return GroupRows<3, kOutputs>(cf, inputs, in, out, length, accumulate);
    case 4: return GroupRows<4, kOutputs>(cf, inputs, in, out, length, accumulate);
    default: return GroupRows<0, kOutputs>(cf, inputs, in, out, length, accumulate);
  }
}

RELAYCELL_GFNI512_TARGET void Group(const Coefficients& cf, size_t inputs, size_t outputs,
                                    const uint8_t* const* in, uint8_t* const* out, size_t length,
                                    bool accumulate) {
  static_assert(kGroupOutputs == 8, "one case per group size");
  switch (outputs) {
    case 1: return GroupOutputs<1>(cf, inputs, in, out, length, accumulate);
    case 2: return GroupOutputs<2>(cf, inputs, in, out, length, accumulate);
    case 3: return GroupOutputs<3>(cf, inputs, in, out, length, accumulate);
    case 4: return GroupOutputs<4>(cf, inputs, in, out, length, accumulate);
    case 5: return GroupOutputs<5>(cf, inputs, in, out, length, accumulate);
    case 6: return GroupOutputs<6>(cf, inputs, in, out, length, accumulate);
    case 7: return GroupOutputs<7>(cf, inputs, in, out, length, accumulate);
    default: return GroupOutputs<8>(cf, inputs, in, out, length, accumulate);
  }
}

}  // namespace

RELAYCELL_GFNI512_TARGET void GfniMatrix512(const uint8_t* coefficients, size_t k, size_t m,
                                            const uint8_t* const* in, uint8_t* const* out,
                                            size_t length, bool accumulate) {
  alignas(64) __m512i wide[kGfMaxGroupInputs * kGroupOutputs];
  // Only the broadcasts the run-time loop reads are written, and so only those are wiped (the
  // whole array is 16 KiB: wiping it all would cost more than a short row's products).
  size_t used = 0;
  for (size_t r0 = 0; r0 < m; r0 += kGroupOutputs) {
    const size_t outputs = std::min(kGroupOutputs, m - r0);
    for (size_t j0 = 0; j0 < k; j0 += kGfMaxGroupInputs) {
      const size_t inputs = std::min(kGfMaxGroupInputs, k - j0);
      const bool group_accumulates = accumulate || j0 > 0;
      const Coefficients cf{coefficients + r0 * k + j0, k, wide};
      if (group_accumulates || inputs > kFixedInputs) {  // the run-time loop (GroupOutputs)
        for (size_t j = 0; j < inputs; ++j) {
          for (size_t r = 0; r < outputs; ++r) {
            wide[j * outputs + r] = _mm512_set1_epi8(static_cast<char>(cf.matrix[r * k + j]));
          }
        }
        used = std::max(used, inputs * outputs);
      }
      Group(cf, inputs, outputs, in + j0, out + r0, length, group_accumulates);
    }
  }
  if (used != 0) explicit_bzero(wide, used * sizeof wide[0]);
}

}  // namespace relaycell::kernels
