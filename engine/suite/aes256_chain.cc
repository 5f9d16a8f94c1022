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

// chains[i] = AES-256_{keys[i]}(chains[i]) ⊕ chains[i] for i < N, the rounds interleaved. N is a
// constant so the N states stay in registers: with a run-time count (at most 4), GCC kept two of
// them on the stack, a store and a reload around every round.
template <size_t N>
__attribute__((target("aes,sse2"))) void StepAesNi(const uint8_t* const* round_keys,
                                                   uint8_t* const* chains) {
  __m128i b[N];
  for (size_t i = 0; i < N; ++i) {
    b[i] = _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(chains[i])),
                         _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i])));
  }
  for (int r = 1; r < 14; ++r) {
    for (size_t i = 0; i < N; ++i) {
      b[i] = _mm_aesenc_si128(b[i],
                              _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + r));
    }
  }
  for (size_t i = 0; i < N; ++i) {
    b[i] = _mm_aesenclast_si128(
        b[i], _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + 14));
    __m128i* chain = reinterpret_cast<__m128i*>(chains[i]);
    _mm_storeu_si128(chain, _mm_xor_si128(b[i], _mm_loadu_si128(chain)));
  }
}

// Eight chains in flight: AESENC's latency (3-4 cycles) over its throughput (1-2 a cycle).
constexpr size_t kChainsInFlight = 8;

void StepAesNiTail(const uint8_t* const* round_keys, uint8_t* const* chains, size_t n) {
  switch (n) {
    case 1: return StepAesNi<1>(round_keys, chains);
    case 2: return StepAesNi<2>(round_keys, chains);
    case 3: return StepAesNi<3>(round_keys, chains);
    case 4: return StepAesNi<4>(round_keys, chains);
    case 5: return StepAesNi<5>(round_keys, chains);
    case 6: return StepAesNi<6>(round_keys, chains);
    case 7: return StepAesNi<7>(round_keys, chains);
    default: return StepAesNi<8>(round_keys, chains);
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
  for (size_t at = 0; at < n; at += kChainsInFlight) {
    const size_t group = std::min(kChainsInFlight, n - at);
    const uint8_t* round_keys[kChainsInFlight];
    for (size_t i = 0; i < group; ++i) round_keys[i] = ciphers[at + i]->round_keys_;
    StepAesNiTail(round_keys, &chains[at], group);
  }
}

}  // namespace relaycell
