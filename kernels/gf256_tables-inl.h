// Private to kernels/gf256*.cc: the scalar field multiply, the split-nibble tables of a group
// of coefficients, and the GFNI entry point. Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_GF256_TABLES_INL_H_
#define RELAYCELL_KERNELS_GF256_TABLES_INL_H_

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace relaycell::kernels {

// Outputs kept in registers at once (5 accumulators + 2 nibble vectors + temporaries fit the
// 16 AVX2 registers), and inputs per table chunk (bounds the stack tables).
inline constexpr size_t kGfMaxGroupOutputs = 6;
inline constexpr size_t kGfMaxGroupInputs = 32;

// a * b mod 0x11B with no branch or load indexed by a or b.
inline uint8_t GfMulConstantTime(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int bit = 0; bit < 8; ++bit) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1B));
    b >>= 1;
  }
  return product;
}

// For coefficient c: low[i] = c * i and high[i] = c * (i << 4), i in [0, 16).
class GfNibbleTables {
 public:
  // Tables of coefficients[(r0 + r) * k + j0 + j] for r < outputs, j < inputs.
  void Build(const uint8_t* coefficients, size_t k, size_t r0, size_t outputs, size_t j0,
             size_t inputs) {
    for (size_t j = 0; j < inputs; ++j) {
      for (size_t r = 0; r < outputs; ++r) {
        BuildOne(coefficients[(r0 + r) * k + j0 + j], table_[j][r][0], table_[j][r][1]);
      }
    }
  }
  const uint8_t* Low(size_t r, size_t j) const { return table_[j][r][0]; }
  const uint8_t* High(size_t r, size_t j) const { return table_[j][r][1]; }
  void Wipe() { explicit_bzero(table_, sizeof table_); }

 private:
  // c * i is the XOR of c * 2^b over the set bits b of i: masks, not branches.
  static void BuildOne(uint8_t c, uint8_t* low, uint8_t* high) {
    uint8_t powers[8];  // c * 2^b
    powers[0] = c;
    for (int b = 1; b < 8; ++b) {
      const uint8_t prev = powers[b - 1];
      powers[b] = static_cast<uint8_t>((prev << 1) ^ (-(prev >> 7) & 0x1B));
    }
    for (unsigned i = 0; i < 16; ++i) {
      uint8_t lo = 0, hi = 0;
      for (unsigned b = 0; b < 4; ++b) {
        const uint8_t mask = static_cast<uint8_t>(-((i >> b) & 1));
        lo ^= mask & powers[b];
        hi ^= mask & powers[b + 4];
      }
      low[i] = lo;
      high[i] = hi;
    }
    explicit_bzero(powers, sizeof powers);
  }

  alignas(64) uint8_t table_[kGfMaxGroupInputs][kGfMaxGroupOutputs][2][16];
};

// The GFNI path (kernels/gf256_gfni.cc). Only call when RawKernelUsable(RawKernel::kGfni256).
// Output rows are overwritten, or XORed into when `accumulate`.
void GfniMatrix(const uint8_t* coefficients, size_t k, size_t m, const uint8_t* const* in,
                uint8_t* const* out, size_t length, bool accumulate);
// The same at 512 bits (kernels/gf256_gfni512.cc); only call when
// RawKernelUsable(RawKernel::kGfni512).
void GfniMatrix512(const uint8_t* coefficients, size_t k, size_t m, const uint8_t* const* in,
                   uint8_t* const* out, size_t length, bool accumulate);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_GF256_TABLES_INL_H_
