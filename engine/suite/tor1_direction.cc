#include "engine/suite/tor1_direction.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/common/ipsec_mb_manager.h"

namespace relaycell {
namespace {

// Offsets of the tor1 relay header fields the digest covers specially.
constexpr size_t kRecognizedAt = 1;
constexpr size_t kDigestAt = 5;
constexpr size_t kDigestFieldBytes = 4;

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
  sodium_memzero(leftover_, sizeof leftover_);
  sodium_memzero(&digest_, sizeof digest_);
}

// Runs AES-128-CTR in place over `blocks` whole blocks from the current counter, and advances
// it. ipsec-mb's counter arithmetic may be narrower than 128 bits, so one job never carries out
// of the low 32 bits (our own arithmetic carries between jobs).
void Tor1Direction::RunCounter(uint8_t* data, size_t blocks) {
  IMB_MGR* mgr = ThreadIpsecMbManager();
  while (blocks > 0) {
    const uint32_t low = uint32_t(counter_[12]) << 24 | uint32_t(counter_[13]) << 16 |
                         uint32_t(counter_[14]) << 8 | counter_[15];
    const size_t n = std::min<uint64_t>(blocks, uint64_t{0x100000000} - low);
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = enc_keys_;
    job->dec_keys = enc_keys_;
    job->key_len_in_bytes = 16;
    job->src = data;
    job->dst = data;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = n * 16;
    job->iv = counter_;
    job->iv_len_in_bytes = 16;
    job = IMB_SUBMIT_JOB(mgr);
    while (job == nullptr) job = IMB_FLUSH_JOB(mgr);
    // A failed job would leave the data as it was, and that sends plaintext: never continue.
    if (job->status != IMB_STATUS_COMPLETED) {
      std::fprintf(stderr, "relaycell: AES-128-CTR job failed (status %d)\n", int(job->status));
      std::abort();
    }
    AddToCounter(counter_, n);
    data += n * 16;
    blocks -= n;
  }
}

// The stream runs on across cells, and a cell (509 bytes) ends inside a block: the rest of
// that block's keystream waits in leftover_. The cell's bytes after the leftover go through one
// CTR job in a block-aligned scratch copy whose zero tail comes out as the next leftover.
void Tor1Direction::ApplyKeystream(std::span<uint8_t> data) {
  size_t done = std::min(data.size(), size_t(leftover_bytes_));
  const uint8_t* ks = leftover_ + (sizeof leftover_ - leftover_bytes_);
  for (size_t i = 0; i < done; ++i) data[i] ^= ks[i];
  leftover_bytes_ = uint8_t(leftover_bytes_ - done);
  while (done < data.size()) {
    alignas(64) uint8_t scratch[kScratchBytes];
    const size_t n = std::min(data.size() - done, kScratchBytes);
    const size_t rounded = (n + 15) & ~size_t{15};
    std::memcpy(scratch, data.data() + done, n);
    std::memset(scratch + n, 0, rounded - n);
    RunCounter(scratch, rounded / 16);
    std::memcpy(data.data() + done, scratch, n);
    leftover_bytes_ = uint8_t(rounded - n);
    std::memcpy(leftover_ + (sizeof leftover_ - leftover_bytes_), scratch + n, leftover_bytes_);
    sodium_memzero(scratch, rounded);
    done += n;
  }
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
  const bool match = CRYPTO_memcmp(full, &body[kDigestAt], kDigestFieldBytes) == 0;
  if (match) digest_ = candidate;
  sodium_memzero(&candidate, sizeof candidate);
  sodium_memzero(&finished, sizeof finished);
  return match;
}

}  // namespace relaycell
