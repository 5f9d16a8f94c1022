// AES rounds with 512-bit VAES: four blocks per VAESENC (AVX-512 CPUs).
// PLACEHOLDER: forwards to the 256-bit kernel until the 512-bit body lands.
#include "kernels/aes_rounds.h"
#include "kernels/aes_rounds_vaes-inl.h"

namespace relaycell::kernels {

void AesRoundsVaes512(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                      const uint8_t* round_keys, size_t rounds, uint8_t* out) {
  AesRoundsVaes256(in, offsets, blocks, round_keys, rounds, out);
}

}  // namespace relaycell::kernels
