// Private to kernels/aez_core_*.cc: the raw VAES AEZ-core kernels (kernels/aez_core_vaes*.cc).
// Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_AEZ_CORE_VAES_INL_H_
#define RELAYCELL_KERNELS_AEZ_CORE_VAES_INL_H_

#include <cstddef>

#include "kernels/aez_core_rounds.h"

namespace relaycell::kernels {

// Same contract as the Highway CoreBatch (jobs already validated: bytes >= 32, no null
// pointer); only call when RawKernelUsable(RawKernel::kVaes256).
void AezCoreVaes256(const AezCoreJob* jobs, size_t n, bool decipher);

// AezAes4XorSum's VAES-256 body.
void AezAes4XorSumVaes256(const AezKeyBlocks& key, const uint8_t* blocks, size_t n,
                          uint8_t sum[16]);

// AezHashStrings' VAES-256 body (arguments already checked).
void AezHashStringsVaes256(const AezKeyBlocks& key, size_t first_j,
                           std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]);

// AezCellHashTerms' VAES-256 body, and AezCellHashTermsBatch's.
void AezCellHashTermsVaes256(const AezKeyBlocks& key, const uint8_t nonce_block[16],
                             const uint8_t a1[32], const uint8_t a2[16], uint8_t sum[16]);
void AezCellHashTermsBatchVaes256(const AezCellHashJob* jobs, size_t n);

// The fused one-cell kernel's VAES-256 body (arguments already checked).
void AezCoreCellVaes256(const AezKeyBlocks& key, const AezCellJob& cell, const uint8_t* in,
                        uint8_t* out, size_t bytes, bool decipher);

// The same four with 512-bit VAES (kernels/aez_core_vaes512.cc): four blocks per VAESENC.
// Only call when RawKernelUsable(RawKernel::kVaes512).
void AezCoreVaes512(const AezCoreJob* jobs, size_t n, bool decipher);
void AezAes4XorSumVaes512(const AezKeyBlocks& key, const uint8_t* blocks, size_t n,
                          uint8_t sum[16]);
void AezHashStringsVaes512(const AezKeyBlocks& key, size_t first_j,
                           std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]);
void AezCellHashTermsVaes512(const AezKeyBlocks& key, const uint8_t nonce_block[16],
                             const uint8_t a1[32], const uint8_t a2[16], uint8_t sum[16]);
void AezCellHashTermsBatchVaes512(const AezCellHashJob* jobs, size_t n);
void AezCoreCellVaes512(const AezKeyBlocks& key, const AezCellJob& cell, const uint8_t* in,
                        uint8_t* out, size_t bytes, bool decipher);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AEZ_CORE_VAES_INL_H_
