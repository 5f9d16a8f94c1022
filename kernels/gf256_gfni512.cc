// GF(2^8) kernels on GFNI at 512 bits (AVX-512BW CPUs).
// PLACEHOLDER: forwards to the 256-bit kernel until the 512-bit body lands.
#include "kernels/gf256.h"
#include "kernels/gf256_tables-inl.h"

namespace relaycell::kernels {

void GfniMatrix512(const uint8_t* coefficients, size_t k, size_t m, const uint8_t* const* in,
                   uint8_t* const* out, size_t length, bool accumulate) {
  GfniMatrix(coefficients, k, m, in, out, length, accumulate);
}

}  // namespace relaycell::kernels
