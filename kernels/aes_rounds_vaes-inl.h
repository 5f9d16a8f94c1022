// Private to kernels/aes_rounds*.cc: the raw VAES round kernels (kernels/aes_rounds_vaes*.cc).
// Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_AES_ROUNDS_VAES_INL_H_
#define RELAYCELL_KERNELS_AES_ROUNDS_VAES_INL_H_

#include <cstddef>
#include <cstdint>

namespace relaycell::kernels {

// Same contract as AesRoundsShared; only call when RawKernelUsable(RawKernel::kVaes256).
void AesRoundsVaes256(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                      const uint8_t* round_keys, size_t rounds, uint8_t* out);

// The same with 512-bit VAES (kernels/aes_rounds_vaes512.cc); only call when
// RawKernelUsable(RawKernel::kVaes512).
void AesRoundsVaes512(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                      const uint8_t* round_keys, size_t rounds, uint8_t* out);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AES_ROUNDS_VAES_INL_H_
