// Encipher/Decipher (length dispatch), Encrypt/Decrypt (the tag), and the batch API.
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/aez/aez.h"
#include "engine/aez/aez_internal.h"
#include "engine/common/ct_check.h"
#include "kernels/aez_core_rounds.h"

namespace relaycell {
namespace {

bool Cipher(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
            std::span<const uint8_t> in, std::span<uint8_t> out, bool decipher) {
  if (in.size() != out.size()) return false;
  if (in.empty()) return true;
  if (in.size() < 32) {
    aez_internal::Tiny(key, delta.data(), in.data(), out.data(), in.size(), decipher);
    return true;
  }
  return kernels::AezCoreRounds(key.blocks(), delta.data(), in.data(), out.data(), in.size(),
                                decipher);
}

void Batch(std::span<const AezBatchJob> jobs, bool decipher) {
  constexpr size_t kChunk = 64;
  kernels::AezCoreJob core[kChunk];
  size_t count = 0;
  for (const AezBatchJob& job : jobs) {
    if (job.length >= 32) {
      core[count++] = {&job.key->blocks(), job.delta, job.in, job.out, job.length};
      if (count == kChunk) {
        kernels::AezCoreRoundsBatch(std::span<const kernels::AezCoreJob>(core, count), decipher);
        count = 0;
      }
    } else if (job.length > 0) {
      aez_internal::Tiny(*job.key, job.delta, job.in, job.out, job.length, decipher);
    }
  }
  kernels::AezCoreRoundsBatch(std::span<const kernels::AezCoreJob>(core, count), decipher);
}

// Working space for Decrypt's deciphered text (message plus tag): the stack for cell-sized
// messages, the heap beyond.
class Scratch {
 public:
  explicit Scratch(size_t bytes) : bytes_(bytes) {
    data_ = bytes <= sizeof local_ ? local_ : (heap_ = std::make_unique<uint8_t[]>(bytes)).get();
  }
  ~Scratch() { sodium_memzero(data_, bytes_); }
  uint8_t* data() { return data_; }

 private:
  size_t bytes_;
  uint8_t* data_;
  std::unique_ptr<uint8_t[]> heap_;
  alignas(16) uint8_t local_[1024];
};

}  // namespace

bool AezEncipher(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
                 std::span<const uint8_t> in, std::span<uint8_t> out) {
  return Cipher(key, delta, in, out, /*decipher=*/false);
}

bool AezDecipher(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
                 std::span<const uint8_t> in, std::span<uint8_t> out) {
  return Cipher(key, delta, in, out, /*decipher=*/true);
}

bool AezCipherCellOverlapped(const AezKey& key, const AezCellState& state, std::span<uint8_t> body,
                             bool decipher) {
  alignas(16) uint8_t nonce_block[16];
  aez_internal::PadCellNonce(state.nonce, nonce_block);  // public: a cell count and two flags
  const kernels::AezCellJob cell{key.hash_tau0(),
                                 nonce_block,
                                 state.prev.data(),
                                 state.chain.data(),
                                 state.chain_round_keys.data(),
                                 state.chain.data()};
  return kernels::AezCoreCellRoundsIfOverlapped(key.blocks(), cell, body.data(), body.data(),
                                                body.size(), decipher);
}

bool AezEncrypt(const AezKey& key, std::span<const uint8_t> nonce, AezAdVector ad, size_t tau_bytes,
                std::span<const uint8_t> plaintext, std::span<uint8_t> ciphertext) {
  if (ciphertext.size() < tau_bytes || ciphertext.size() - tau_bytes != plaintext.size()) {
    return false;
  }
  alignas(16) uint8_t delta[16];
  AezHash(key, tau_bytes, nonce, ad, delta);
  if (plaintext.empty()) {
    AezPrf(key, delta, ciphertext);
  } else {
    std::memmove(ciphertext.data(), plaintext.data(), plaintext.size());
    std::memset(ciphertext.data() + plaintext.size(), 0, tau_bytes);
    AezEncipher(key, delta, ciphertext, ciphertext);
  }
  sodium_memzero(delta, sizeof delta);
  // Public by design: an authenticated ciphertext is made to be sent.
  RELAYCELL_CT_PUBLIC(ciphertext.data(), ciphertext.size());
  return true;
}

bool AezDecrypt(const AezKey& key, std::span<const uint8_t> nonce, AezAdVector ad, size_t tau_bytes,
                std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext) {
  if (ciphertext.size() < tau_bytes || ciphertext.size() - tau_bytes != plaintext.size()) {
    sodium_memzero(plaintext.data(), plaintext.size());
    return false;
  }
  alignas(16) uint8_t delta[16];
  AezHash(key, tau_bytes, nonce, ad, delta);
  uint8_t difference = 0;
  Scratch x(ciphertext.size());
  if (ciphertext.size() == tau_bytes) {
    // No message: the ciphertext is the tag, AEZ-prf(Δ, τ).
    AezPrf(key, delta, std::span<uint8_t>(x.data(), tau_bytes));
    for (size_t k = 0; k < tau_bytes; ++k) difference |= x.data()[k] ^ ciphertext[k];
  } else {
    AezDecipher(key, delta, ciphertext, std::span<uint8_t>(x.data(), ciphertext.size()));
    for (size_t k = plaintext.size(); k < ciphertext.size(); ++k) difference |= x.data()[k];
  }
  sodium_memzero(delta, sizeof delta);
  // Constant time: copy, then wipe under a mask, so no branch depends on the tag before the
  // result is final.
  const uint32_t wide = difference;
  const uint8_t keep = static_cast<uint8_t>(((wide | (0u - wide)) >> 31) - 1);  // 0xFF iff 0
  for (size_t k = 0; k < plaintext.size(); ++k) plaintext[k] = x.data()[k] & keep;
  bool authentic = keep != 0;
  // Public by design: the verdict (the caller drops a forgery in plain sight). The plaintext
  // stays secret.
  RELAYCELL_CT_PUBLIC(&authentic, sizeof authentic);
  return authentic;
}

void AezEncipherBatch(std::span<const AezBatchJob> jobs) { Batch(jobs, /*decipher=*/false); }
void AezDecipherBatch(std::span<const AezBatchJob> jobs) { Batch(jobs, /*decipher=*/true); }

}  // namespace relaycell
