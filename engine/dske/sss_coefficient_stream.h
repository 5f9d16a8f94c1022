// The random coefficient rows of a Shamir split: an AES-256-CTR keystream (intel-ipsec-mb,
// AES-NI/VAES) under a key drawn from the system CSPRNG (libsodium randombytes_buf) for each
// split, so the rows cost about what the matrix multiply costs instead of dominating it.
//
// Why this is a sound source: Shamir's secrecy needs the k - 1 coefficient rows to be
// indistinguishable from uniform to anyone without the key. AES-256-CTR under a uniformly
// random, never-reused key is a PRF evaluated on distinct counter blocks; the bytes of one
// split (far below 2^64 blocks) are indistinguishable from uniform up to the PRP/PRF switching
// bound, as with libsodium's own ChaCha20-based randombytes_buf_deterministic it replaces. The
// key never leaves this object and is wiped with the round keys when it is destroyed.
#ifndef RELAYCELL_ENGINE_DSKE_SSS_COEFFICIENT_STREAM_H_
#define RELAYCELL_ENGINE_DSKE_SSS_COEFFICIENT_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell::sss {

class CoefficientStream {
 public:
  // Longest single Fill: every Fill starts a fresh counter space, so keep them cache-sized.
  static constexpr size_t kMaxFillBytes = 16 * 1024;
  static constexpr size_t kKeyBytes = 32;

  // A fresh key from randombytes_buf (libsodium must be initialized).
  CoefficientStream();
  // A given key: for known-answer tests only.
  explicit CoefficientStream(std::span<const uint8_t, kKeyBytes> key);
  ~CoefficientStream();
  CoefficientStream(const CoefficientStream&) = delete;
  CoefficientStream& operator=(const CoefficientStream&) = delete;

  // out = AES-256-CTR keystream with initial counter block (big-endian `nonce`, 8 zero bytes).
  // Distinct nonces give disjoint counter blocks. False (out wiped) if out is longer than
  // kMaxFillBytes or ipsec-mb fails.
  bool Fill(uint64_t nonce, std::span<uint8_t> out);

 private:
  void Expand(const uint8_t* key);
  alignas(16) uint8_t enc_keys_[15 * 16];
  alignas(16) uint8_t dec_keys_[15 * 16];  // ipsec-mb expands both; unused by CTR
};

}  // namespace relaycell::sss

#endif  // RELAYCELL_ENGINE_DSKE_SSS_COEFFICIENT_STREAM_H_
