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

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

// Every vector function takes a path (kernels/kernel_path.h): a Highway target (split-nibble
// PSHUFB products) or raw GFNI at 256 or 512 bits. The default, an empty path, runs
// ActivePath(KernelFamily::kGf256). A path this CPU cannot run: false, nothing written.

// Scalar, constant-time multiply and inverse (inverse of 0 is 0).
uint8_t GfMul(uint8_t a, uint8_t b);
uint8_t GfInverse(uint8_t a);

// inout[i] ^= c * in[i] for every i. Sizes equal (false otherwise).
bool GfMulAccumulate(uint8_t c, std::span<const uint8_t> in, std::span<uint8_t> inout,
                     KernelPath path = {});

// Matrix times vectors, the shape of ISA-L's ec_encode_data: for r in [0, m):
//   out_rows[r][i] = XOR over j in [0, k) of coefficients[r * k + j] * in_rows[j][i],
// for i in [0, length). coefficients has m * k entries (row-major); in_rows has k pointers,
// out_rows m pointers, each to `length` bytes. Output rows are overwritten, not accumulated.
bool GfMatrixMultiply(std::span<const uint8_t> coefficients, size_t k, size_t m,
                      std::span<const uint8_t* const> in_rows, std::span<uint8_t* const> out_rows,
                      size_t length, KernelPath path = {});

// Dot product, k rows to one (Lagrange combine): out[i] = XOR_j coefficients[j] * in_rows[j][i].
bool GfDotProduct(std::span<const uint8_t> coefficients, std::span<const uint8_t* const> in_rows,
                  std::span<uint8_t> out, KernelPath path = {});

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_GF256_H_
