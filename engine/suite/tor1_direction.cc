#include "engine/suite/tor1_direction.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/common/ipsec_mb_manager.h"
#include "engine/common/byte_io.h"
#include "engine/common/ct_check.h"

namespace relaycell {
namespace {

// Offsets of the tor1 relay header fields the digest covers specially.
constexpr size_t kRecognizedAt = 1;
constexpr size_t kDigestAt = 5;
constexpr size_t kDigestFieldBytes = 4;

alignas(16) const uint8_t kZeros[1024] = {};

// Adds `blocks` to a 128-bit big-endian counter.
void AddToCounter(uint8_t counter[16], uint64_t blocks) {
  for (int i = 15; i >= 0 && blocks != 0; --i) {
    const uint64_t sum = uint64_t(counter[i]) + (blocks & 0xff);
    counter[i] = uint8_t(sum);
    blocks = (blocks >> 8) + (sum >> 8);
  }
}

}  // namespace

KeyArena& Tor1Direction::Arena() {
  static KeyArena arena(sizeof(Tor1Direction));
  return arena;
}

Tor1Direction::Tor1Direction(std::span<const uint8_t, kTor1DigestSeedBytes> digest_seed,
                             std::span<const uint8_t, kTor1CipherKeyBytes> cipher_key)
    : CellLayer(kTor1SuiteId) {
  alignas(16) uint8_t dec_keys[16 * 11];
  IMB_AES_KEYEXP_128(ThreadIpsecMbManager(), cipher_key.data(), enc_keys_, dec_keys);
  sodium_memzero(dec_keys, sizeof dec_keys);
  std::memset(counter_, 0, sizeof counter_);
  SHA1_Init(&digest_);
  SHA1_Update(&digest_, digest_seed.data(), digest_seed.size());
}

Tor1Direction::~Tor1Direction() {
  sodium_memzero(enc_keys_, sizeof enc_keys_);
  sodium_memzero(keystream_, sizeof keystream_);
  sodium_memzero(&digest_, sizeof digest_);
}

void Tor1Direction::Refill() {
  // Keep the unused tail, then generate whole blocks behind it: the stream never restarts.
  const size_t left = keystream_end_ - keystream_begin_;
  std::memmove(keystream_, keystream_ + keystream_begin_, left);
  size_t blocks = (kKeystreamBytes - left) / 16;
  // ipsec-mb's counter arithmetic may be narrower than 128 bits: never let one job carry out of
  // the low 32 bits (one more refill handles the carry in our own arithmetic).
  const uint32_t low = LoadBe<uint32_t>(counter_, 12);
  blocks = std::min<uint64_t>(blocks, uint64_t{0x100000000} - low);

  // A failed job would leave zeros, and XORing zeros sends plaintext: never continue.
  if (!RunCipherJob({IMB_CIPHER_CNTR, true, enc_keys_, 16, kZeros, keystream_ + left, blocks * 16,
                     counter_, 16})) {
    std::fprintf(stderr, "relaycell: AES-128-CTR job failed\n");
    std::abort();
  }
  AddToCounter(counter_, blocks);
  keystream_begin_ = 0;
  keystream_end_ = left + blocks * 16;
}

void Tor1Direction::ApplyKeystream(std::span<uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    if (keystream_begin_ == keystream_end_ ||
        (keystream_end_ - keystream_begin_ < data.size() - done && keystream_begin_ > 0)) {
      Refill();
    }
    const size_t n = std::min(data.size() - done, keystream_end_ - keystream_begin_);
    const uint8_t* ks = keystream_ + keystream_begin_;
    uint8_t* out = data.data() + done;
    for (size_t i = 0; i < n; ++i) out[i] ^= ks[i];
    keystream_begin_ += n;
    done += n;
  }
  // Public by design: with the keystream applied the cell has left the layer, as the
  // ciphertext sent on or received (encrypt, originate, a decrypt not recognized: what the next
  // hop gets) or as the plaintext this end reads (recognized). CheckDigest then reads it in the
  // open, as Tor does; the keystream and the running digest stay secret.
  RELAYCELL_CT_PUBLIC(data.data(), data.size());
}

void Tor1Direction::SetDigest(CellBody body) {
  body[kRecognizedAt] = 0;
  body[kRecognizedAt + 1] = 0;
  std::memset(&body[kDigestAt], 0, kDigestFieldBytes);
  SHA1_Update(&digest_, body.data(), body.size());
  SHA_CTX copy = digest_;
  uint8_t full[SHA_DIGEST_LENGTH];
  SHA1_Final(full, &copy);
  std::memcpy(&body[kDigestAt], full, kDigestFieldBytes);
  sodium_memzero(&copy, sizeof copy);
}

bool Tor1Direction::CheckDigest(CellBody body) {
  if ((body[kRecognizedAt] | body[kRecognizedAt + 1]) != 0) return false;
  static constexpr uint8_t kZeroField[kDigestFieldBytes] = {};
  SHA_CTX candidate = digest_;
  SHA1_Update(&candidate, body.data(), kDigestAt);
  SHA1_Update(&candidate, kZeroField, kDigestFieldBytes);
  SHA1_Update(&candidate, body.data() + kDigestAt + kDigestFieldBytes,
              body.size() - kDigestAt - kDigestFieldBytes);
  SHA_CTX finished = candidate;
  uint8_t full[SHA_DIGEST_LENGTH];
  SHA1_Final(full, &finished);
  bool match = CRYPTO_memcmp(full, &body[kDigestAt], kDigestFieldBytes) == 0;
  // Public by design: the recognized verdict (a constant-time compare of the running digest).
  RELAYCELL_CT_PUBLIC(&match, sizeof match);
  if (match) digest_ = candidate;
  sodium_memzero(&candidate, sizeof candidate);
  sodium_memzero(&finished, sizeof finished);
  return match;
}

}  // namespace relaycell
