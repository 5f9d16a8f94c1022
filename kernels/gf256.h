// GF(2^8) arithmetic with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11B) on byte vectors:
// the kernels of Shamir secret sharing (and of erasure codes, hence ISA-L's shapes).
//
// Constant time: no memory load is indexed by data or coefficients. The Highway path multiplies
// by split-nibble products looked up in registers (TableLookupBytes); the GFNI path uses
// gf2p8mulb / gf2p8affineqb, chosen at run time by CPUID (Highway 1.0.3 has no GFNI op).
#ifndef RELAYCELL_KERNELS_GF256_H_
#define RELAYCELL_KERNELS_GF256_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell::kernels {

enum class GfPath {
  kAuto,     // GFNI when the CPU has it, else Highway
  kHighway,  // the Highway split-nibble path (dynamic dispatch over targets)
  kGfni,     // raw GFNI intrinsics; only valid when GfniAvailable()
};

bool GfniAvailable();

// Scalar, constant-time multiply and inverse (inverse of 0 is 0).
uint8_t GfMul(uint8_t a, uint8_t b);
uint8_t GfInverse(uint8_t a);

// inout[i] ^= c * in[i] for every i. Sizes equal (false otherwise).
bool GfMulAccumulate(uint8_t c, std::span<const uint8_t> in, std::span<uint8_t> inout,
                     GfPath path = GfPath::kAuto);

// Matrix times vectors, the shape of ISA-L's ec_encode_data: for r in [0, m):
//   out_rows[r][i] = XOR over j in [0, k) of coefficients[r * k + j] * in_rows[j][i],
// for i in [0, length). coefficients has m * k entries (row-major); in_rows has k pointers,
// out_rows m pointers, each to `length` bytes. Output rows are overwritten, not accumulated.
bool GfMatrixMultiply(std::span<const uint8_t> coefficients, size_t k, size_t m,
                      std::span<const uint8_t* const> in_rows, std::span<uint8_t* const> out_rows,
                      size_t length, GfPath path = GfPath::kAuto);

// Dot product, k rows to one (Lagrange combine): out[i] = XOR_j coefficients[j] * in_rows[j][i].
bool GfDotProduct(std::span<const uint8_t> coefficients, std::span<const uint8_t* const> in_rows,
                  std::span<uint8_t> out, GfPath path = GfPath::kAuto);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_GF256_H_
