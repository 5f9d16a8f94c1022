// AEZ-core with raw 512-bit VAES: four blocks per VAESENC (AVX-512 CPUs).
// PLACEHOLDER: forwards to the 256-bit kernels until the 512-bit bodies land.
#include "kernels/aez_core_vaes-inl.h"

namespace relaycell::kernels {

void AezCoreVaes512(const AezCoreJob* jobs, size_t n, bool decipher) {
  AezCoreVaes256(jobs, n, decipher);
}

void AezAes4XorSumVaes512(const AezKeyBlocks& key, const uint8_t* blocks, size_t n,
                          uint8_t sum[16]) {
  AezAes4XorSumVaes256(key, blocks, n, sum);
}

void AezHashStringsVaes512(const AezKeyBlocks& key, size_t first_j,
                           std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]) {
  AezHashStringsVaes256(key, first_j, strings, sum);
}

}  // namespace relaycell::kernels
