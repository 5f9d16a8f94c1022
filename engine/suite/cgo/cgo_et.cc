#include "engine/suite/cgo/cgo_et.h"

#include <immintrin.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/common/ipsec_mb_manager.h"
#include "kernels/polyval.h"

namespace relaycell {
namespace {

constexpr int kAes128Rounds = 10;
// Jobs per pass of EncryptMany / DecryptMany (the stack arrays' size; more jobs loop).
constexpr size_t kPass = 64;
// Blocks interleaved per AES-NI group: one block's ten rounds are a serial chain of ~40
// cycles; four chains hide each other's latency.
constexpr size_t kAesGroup = 4;

const bool kHaveAesNi = __builtin_cpu_supports("aes");

// blocks[i] = AES(blocks[i] ^ masks[i]) ^ masks[i] (or AES^-1 with the decryption schedule),
// for i < n <= kAesGroup, the rounds interleaved.
template <bool kEncrypt>
__attribute__((target("aes,sse2"))) void MaskedAesNi(const uint8_t* const* round_keys,
                                                     uint8_t* const* blocks,
                                                     const uint8_t* const* masks, size_t n) {
  __m128i mask[kAesGroup], state[kAesGroup];
  for (size_t i = 0; i < n; ++i) {
    const __m128i* rk = reinterpret_cast<const __m128i*>(round_keys[i]);
    mask[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(masks[i]));
    state[i] = _mm_xor_si128(
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[i])), mask[i]),
        _mm_load_si128(rk));
  }
  for (int r = 1; r < kAes128Rounds; ++r) {
    for (size_t i = 0; i < n; ++i) {
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + r);
      state[i] = kEncrypt ? _mm_aesenc_si128(state[i], k) : _mm_aesdec_si128(state[i], k);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const __m128i k =
        _mm_load_si128(reinterpret_cast<const __m128i*>(round_keys[i]) + kAes128Rounds);
    state[i] = kEncrypt ? _mm_aesenclast_si128(state[i], k) : _mm_aesdeclast_si128(state[i], k);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(blocks[i]), _mm_xor_si128(state[i], mask[i]));
  }
}

// The same for one block through an ipsec-mb ECB job (CPUs without AES-NI).
void MaskedAesIpsecMb(const uint8_t* round_keys, bool encrypt, uint8_t* block,
                      const uint8_t* mask) {
  alignas(16) uint8_t buffer[kCgoBlockBytes];
  for (size_t i = 0; i < kCgoBlockBytes; ++i) buffer[i] = block[i] ^ mask[i];
  if (!RunCipherJob({IMB_CIPHER_ECB, encrypt, round_keys, 16, buffer, buffer, kCgoBlockBytes})) {
    std::fprintf(stderr, "relaycell: AES-128 ECB job failed\n");
    std::abort();
  }
  for (size_t i = 0; i < kCgoBlockBytes; ++i) block[i] = buffer[i] ^ mask[i];
  sodium_memzero(buffer, sizeof buffer);
}

}  // namespace

void CgoEtTweak(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd,
                std::span<const uint8_t, kCgoRightBytes> x_r,
                std::span<uint8_t, kCgoEtTweakBytes> out) {
  std::memcpy(out.data(), h.data(), kCgoBlockBytes);
  out[kCgoBlockBytes] = cmd;
  std::memcpy(out.data() + kCgoBlockBytes + 1, x_r.data(), kCgoRightBytes);
}

CgoEt::~CgoEt() {
  sodium_memzero(enc_keys_, sizeof enc_keys_);
  sodium_memzero(dec_keys_, sizeof dec_keys_);
  sodium_memzero(ku_, sizeof ku_);
}

void CgoEt::SetKeys(std::span<const uint8_t, kCgoEtKeyBytes> keys) {
  IMB_AES_KEYEXP_128(ThreadIpsecMbManager(), keys.data(), enc_keys_, dec_keys_);
  std::memcpy(ku_, keys.data() + 16, sizeof ku_);
}

template <bool kEncrypt>
void CgoEt::RunMany(std::span<const Job> jobs) {
  for (size_t begin = 0; begin < jobs.size(); begin += kPass) {
    const size_t n = std::min(kPass, jobs.size() - begin);
    const Job* pass = jobs.data() + begin;
    kernels::PolyvalJob masks[kPass];
    for (size_t i = 0; i < n; ++i) {
      masks[i] = {pass[i].et->ku_, pass[i].tweak, kCgoEtTweakBytes, pass[i].mask};
    }
    kernels::PolyvalBatch(std::span<const kernels::PolyvalJob>(masks, n));
    if (!kHaveAesNi) {
      for (size_t i = 0; i < n; ++i) {
        const CgoEt& et = *pass[i].et;
        MaskedAesIpsecMb(kEncrypt ? et.enc_keys_ : et.dec_keys_, kEncrypt, pass[i].block,
                         pass[i].mask);
      }
      continue;
    }
    for (size_t at = 0; at < n; at += kAesGroup) {
      const size_t group = std::min(kAesGroup, n - at);
      const uint8_t* round_keys[kAesGroup];
      uint8_t* blocks[kAesGroup];
      const uint8_t* group_masks[kAesGroup];
      for (size_t i = 0; i < group; ++i) {
        const Job& job = pass[at + i];
        round_keys[i] = kEncrypt ? job.et->enc_keys_ : job.et->dec_keys_;
        blocks[i] = job.block;
        group_masks[i] = job.mask;
      }
      MaskedAesNi<kEncrypt>(round_keys, blocks, group_masks, group);
    }
  }
}

void CgoEt::EncryptMany(std::span<const Job> jobs) { RunMany<true>(jobs); }
void CgoEt::DecryptMany(std::span<const Job> jobs) { RunMany<false>(jobs); }

void CgoEt::Encrypt(std::span<const uint8_t, kCgoEtTweakBytes> tweak,
                    std::span<uint8_t, kCgoBlockBytes> block) const {
  alignas(16) uint8_t mask[kCgoBlockBytes];
  const Job job{this, tweak.data(), block.data(), mask};
  EncryptMany({&job, 1});
  sodium_memzero(mask, sizeof mask);
}

void CgoEt::Decrypt(std::span<const uint8_t, kCgoEtTweakBytes> tweak,
                    std::span<uint8_t, kCgoBlockBytes> block) const {
  alignas(16) uint8_t mask[kCgoBlockBytes];
  const Job job{this, tweak.data(), block.data(), mask};
  DecryptMany({&job, 1});
  sodium_memzero(mask, sizeof mask);
}

}  // namespace relaycell
