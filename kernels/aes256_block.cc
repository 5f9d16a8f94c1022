#include "kernels/aes256_block.h"

#include "kernels/aes256_block-inl.h"

namespace relaycell::kernels {

__attribute__((target("aes,sse2"))) void Aes256EncryptBlockAesNi(
    const uint8_t round_keys[kAes256ScheduleBytes], const uint8_t in[16], uint8_t out[16]) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   Aes256Block(round_keys, _mm_loadu_si128(reinterpret_cast<const __m128i*>(in))));
}

}  // namespace relaycell::kernels
