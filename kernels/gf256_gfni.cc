// GF(2^8) kernels on GFNI: GF2P8MULB multiplies bytes modulo 0x11B directly, one instruction per
// coefficient and vector. Highway 1.0.3 has no GFNI op, so this is raw intrinsics behind a CPUID
// check (RawKernelUsable); the functions carry their own target attribute so the rest of the
// build stays baseline x86-64.
#include <immintrin.h>

#include <cstring>

#include "kernels/gf256.h"
#include "kernels/gf256_tables-inl.h"

namespace relaycell::kernels {
namespace {

// prfchw: PREFETCHW (CPUs without it run the encoding as a NOP).
#define RELAYCELL_GFNI_TARGET __attribute__((target("avx2,gfni,prfchw")))

// kOutputs accumulators across the inputs of one 32-byte column; coefficient (j, r) is
// broadcast in coeff[j * kOutputs + r].
template <size_t kOutputs>
RELAYCELL_GFNI_TARGET inline void Column256(const __m256i* coeff, size_t inputs,
                                            const uint8_t* const* in, uint8_t* const* out,
                                            size_t at, bool accumulate) {
  __m256i acc[kOutputs];
  for (size_t r = 0; r < kOutputs; ++r) {
    acc[r] = accumulate ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(out[r] + at))
                        : _mm256_setzero_si256();
  }
  for (size_t j = 0; j < inputs; ++j) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[j] + at));
    for (size_t r = 0; r < kOutputs; ++r) {
      acc[r] = _mm256_xor_si256(acc[r], _mm256_gf2p8mul_epi8(x, coeff[j * kOutputs + r]));
    }
  }
  for (size_t r = 0; r < kOutputs; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[r] + at), acc[r]);
  }
}

// The same on 16 bytes (lengths that are not a multiple of 32; the tail goes through copies).
template <size_t kOutputs>
RELAYCELL_GFNI_TARGET inline void Column128(const __m256i* coeff, size_t inputs,
                                            const uint8_t* const* in, uint8_t* const* out,
                                            size_t at, bool accumulate) {
  __m128i acc[kOutputs];
  for (size_t r = 0; r < kOutputs; ++r) {
    acc[r] = accumulate ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(out[r] + at))
                        : _mm_setzero_si128();
  }
  for (size_t j = 0; j < inputs; ++j) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in[j] + at));
    for (size_t r = 0; r < kOutputs; ++r) {
      const __m128i c = _mm256_castsi256_si128(coeff[j * kOutputs + r]);
      acc[r] = _mm_xor_si128(acc[r], _mm_gf2p8mul_epi8(x, c));
    }
  }
  for (size_t r = 0; r < kOutputs; ++r) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[r] + at), acc[r]);
  }
}

// Output rows are prefetched for writing this far ahead: a store that misses L1 waits for its
// line at commit, and with more outputs than inputs the store buffer fills and the multiplies
// stop behind it (k = 3, m = 5 on 64 KiB rows, which live in L2: 8.4 GB/s without, 13 with).
constexpr size_t kPrefetchBytes = 512;

template <size_t kOutputs>
RELAYCELL_GFNI_TARGET void GroupRows(const __m256i* coeff, size_t inputs, const uint8_t* const* in,
                                     uint8_t* const* out, size_t length, bool accumulate) {
  size_t at = 0;
  // Two columns per prefetch: one per 64-byte line. The prefetched bytes stay inside the rows.
  // A single output (the dot product) has no store backlog to hide: no prefetch.
  for (; kOutputs > 1 && at + 64 + kPrefetchBytes <= length; at += 64) {
    for (size_t r = 0; r < kOutputs; ++r) {
      __builtin_prefetch(out[r] + at + kPrefetchBytes, /*rw=*/1, /*locality=*/3);
    }
    Column256<kOutputs>(coeff, inputs, in, out, at, accumulate);
    Column256<kOutputs>(coeff, inputs, in, out, at + 32, accumulate);
  }
  for (; at + 32 <= length; at += 32) Column256<kOutputs>(coeff, inputs, in, out, at, accumulate);
  for (; at + 16 <= length; at += 16) Column128<kOutputs>(coeff, inputs, in, out, at, accumulate);
  const size_t tail = length - at;
  if (tail == 0) return;
  // Zero-padded copies of the rows' last 1..15 bytes; only the `inputs` rows used are filled
  // and wiped (all 32 cost more than a short row's products).
  uint8_t in_tail[kGfMaxGroupInputs][16];
  uint8_t out_tail[kOutputs][16] = {};
  const uint8_t* in_ptrs[kGfMaxGroupInputs];
  uint8_t* out_ptrs[kOutputs];
  for (size_t j = 0; j < inputs; ++j) {
    std::memset(in_tail[j], 0, sizeof in_tail[j]);
    std::memcpy(in_tail[j], in[j] + at, tail);
    in_ptrs[j] = in_tail[j];
  }
  for (size_t r = 0; r < kOutputs; ++r) {
    if (accumulate) std::memcpy(out_tail[r], out[r] + at, tail);
    out_ptrs[r] = out_tail[r];
  }
  Column128<kOutputs>(coeff, inputs, in_ptrs, out_ptrs, 0, accumulate);
  for (size_t r = 0; r < kOutputs; ++r) std::memcpy(out[r] + at, out_tail[r], tail);
  explicit_bzero(in_tail, inputs * sizeof in_tail[0]);
  explicit_bzero(out_tail, sizeof out_tail);
}

RELAYCELL_GFNI_TARGET void Group(const __m256i* coeff, size_t inputs, size_t outputs,
                                 const uint8_t* const* in, uint8_t* const* out, size_t length,
                                 bool accumulate) {
  static_assert(kGfMaxGroupOutputs == 6, "one case per group size");
  switch (outputs) {
    case 1: return GroupRows<1>(coeff, inputs, in, out, length, accumulate);
    case 2: return GroupRows<2>(coeff, inputs, in, out, length, accumulate);
    case 3: return GroupRows<3>(coeff, inputs, in, out, length, accumulate);
    case 4: return GroupRows<4>(coeff, inputs, in, out, length, accumulate);
    case 5: return GroupRows<5>(coeff, inputs, in, out, length, accumulate);
    default: return GroupRows<6>(coeff, inputs, in, out, length, accumulate);
  }
}

}  // namespace

RELAYCELL_GFNI_TARGET void GfniMatrix(const uint8_t* coefficients, size_t k, size_t m,
                                      const uint8_t* const* in, uint8_t* const* out, size_t length,
                                      bool accumulate) {
  alignas(32) __m256i coeff[kGfMaxGroupInputs * kGfMaxGroupOutputs];
  // Only the broadcasts a group fills are written, and so only those are wiped (all 6 KiB of
  // them cost more than the products of a short row).
  size_t used = 0;
  for (size_t r0 = 0; r0 < m; r0 += kGfMaxGroupOutputs) {
    const size_t outputs = std::min(kGfMaxGroupOutputs, m - r0);
    for (size_t j0 = 0; j0 < k; j0 += kGfMaxGroupInputs) {
      const size_t inputs = std::min(kGfMaxGroupInputs, k - j0);
      for (size_t j = 0; j < inputs; ++j) {
        for (size_t r = 0; r < outputs; ++r) {
          coeff[j * outputs + r] =
              _mm256_set1_epi8(static_cast<char>(coefficients[(r0 + r) * k + j0 + j]));
        }
      }
      used = std::max(used, inputs * outputs);
      Group(coeff, inputs, outputs, in + j0, out + r0, length, accumulate || j0 > 0);
    }
  }
  explicit_bzero(coeff, used * sizeof coeff[0]);
}

}  // namespace relaycell::kernels
