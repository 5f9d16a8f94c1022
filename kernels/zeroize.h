// Wiping a small fixed-size buffer inline, for the hot paths where a call to explicit_bzero or
// sodium_memzero costs more than the stores: memset with a known length becomes a few vector
// stores, and the empty asm that takes the buffer's address and clobbers memory tells the
// compiler those stores are observed, so it cannot drop them as dead (BoringSSL's
// OPENSSL_cleanse uses the same barrier).
#ifndef RELAYCELL_KERNELS_ZEROIZE_H_
#define RELAYCELL_KERNELS_ZEROIZE_H_

#include <cstddef>
#include <cstring>

namespace relaycell::kernels {

inline void ZeroizeInline(void* buffer, size_t bytes) {
  std::memset(buffer, 0, bytes);
  asm volatile("" : : "r"(buffer) : "memory");
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_ZEROIZE_H_
