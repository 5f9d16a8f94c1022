// One AES-256 block encryption with AES-NI under an expanded schedule (15 round keys), for the
// aez layer's chain step: engine/suite/aes256_chain.cc and the cell kernels' paths that do not
// run the step inside AEZ-core. Only call when the CPU has AES-NI (kernels::Cpu().aesni).
#ifndef RELAYCELL_KERNELS_AES256_BLOCK_H_
#define RELAYCELL_KERNELS_AES256_BLOCK_H_

#include <cstddef>
#include <cstdint>

namespace relaycell::kernels {

inline constexpr size_t kAes256ScheduleBytes = 15 * 16;

// out = AES-256(in); in and out may be the same block.
void Aes256EncryptBlockAesNi(const uint8_t round_keys[kAes256ScheduleBytes], const uint8_t in[16],
                             uint8_t out[16]);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AES256_BLOCK_H_
