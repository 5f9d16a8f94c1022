#include "engine/suite/aes256_chain.h"

#include <immintrin.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "engine/common/ipsec_mb_manager.h"
#include "kernels/aes256_block.h"

namespace relaycell {
namespace {

// chains[i] = AES-256_{keys[i]}(chains[i]) ⊕ chains[i] for i < n <= 4, the rounds interleaved.
__attribute__((target("aes,sse2"))) void StepFourAesNi(const uint8_t* const* round_keys,
                                                       uint8_t* const* chains, size_t n) {
  __m128i in[4], b[4];
  for (size_t i = 0; i < n; ++i) {
    in[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(chains[i]));
    b[i] = _mm_xor_si128(in[i], _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i])));
  }
  for (int r = 1; r < 14; ++r) {
    for (size_t i = 0; i < n; ++i) {
      b[i] = _mm_aesenc_si128(b[i],
                              _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + r));
    }
  }
  for (size_t i = 0; i < n; ++i) {
    b[i] = _mm_aesenclast_si128(
        b[i], _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + 14));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(chains[i]), _mm_xor_si128(b[i], in[i]));
  }
}

void EncryptIpsecMb(const uint8_t* round_keys, const uint8_t* in, uint8_t* out) {
  if (!RunCipherJob({IMB_CIPHER_ECB, true, round_keys, 32, in, out, 16})) {
    std::fprintf(stderr, "relaycell: AES-256 job failed\n");
    std::abort();
  }
}

const bool kHaveAesNi = __builtin_cpu_supports("aes");

}  // namespace

Aes256Chain::~Aes256Chain() { sodium_memzero(round_keys_, sizeof round_keys_); }

void Aes256Chain::Init(std::span<const uint8_t, kAes256KeyBytes> key) {
  alignas(16) uint8_t dec_keys[15 * 16];
  IMB_AES_KEYEXP_256(ThreadIpsecMbManager(), key.data(), round_keys_, dec_keys);
  sodium_memzero(dec_keys, sizeof dec_keys);
}

void Aes256Chain::EncryptBlock(std::span<const uint8_t, 16> in, std::span<uint8_t, 16> out) const {
  if (kHaveAesNi) {
    kernels::Aes256EncryptBlockAesNi(round_keys_, in.data(), out.data());
  } else {
    EncryptIpsecMb(round_keys_, in.data(), out.data());
  }
}

void Aes256Chain::Step(std::span<uint8_t, 16> chain) const {
  alignas(16) uint8_t encrypted[16];
  EncryptBlock(chain, encrypted);
  for (size_t i = 0; i < 16; ++i) chain[i] ^= encrypted[i];
  sodium_memzero(encrypted, sizeof encrypted);
}

void Aes256Chain::StepMany(std::span<const Aes256Chain* const> ciphers,
                           std::span<uint8_t* const> chains) {
  const size_t n = std::min(ciphers.size(), chains.size());
  if (!kHaveAesNi) {
    for (size_t i = 0; i < n; ++i) ciphers[i]->Step(std::span<uint8_t, 16>(chains[i], 16));
    return;
  }
  for (size_t at = 0; at < n; at += 4) {
    const size_t group = std::min<size_t>(4, n - at);
    const uint8_t* round_keys[4];
    for (size_t i = 0; i < group; ++i) round_keys[i] = ciphers[at + i]->round_keys_;
    StepFourAesNi(round_keys, &chains[at], group);
  }
}

}  // namespace relaycell
