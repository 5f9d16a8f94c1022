// Shamir secret sharing over GF(2^8) with the AES polynomial 0x11B (as draft-mcgrew-tss,
// SLIP-39, Vault and dske-python), x-coordinates 1..n, threshold k, 2 <= k <= n <= 255.
//
// Every byte of a secret is shared with its own random polynomial, so a secret of any length is
// just many byte-secrets side by side, and a BATCH of secrets is one call over their
// concatenation: share i of secret j is the matching slice of shares[i].
//
// Split is one GF(2^8) matrix multiply (the kernel): the k coefficient rows
// [secret, r_1, ..., r_{k-1}] times the n x k matrix of powers x_i^j. Combine is one dot product
// with the Lagrange coefficients at 0, which depend only on the public x's. No branch or memory
// index depends on a secret byte. The random rows come from AES-256-CTR keyed per call from
// randombytes_buf (engine/sss_coefficient_stream.h), drawn a cache-sized chunk at a time just
// before the multiply that uses them, live in locked memory, and are wiped before Split returns.
#ifndef RELAYCELL_ENGINE_DSKE_SSS_H_
#define RELAYCELL_ENGINE_DSKE_SSS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace relaycell::sss {

enum class SssError {
  kOk = 0,
  kBadThreshold,   // not 2 <= k <= n <= 255
  kBadShareCount,  // wrong number of share buffers, or no shares to combine
  kBadLength,      // a zero-length secret or a buffer of the wrong size
  kBadX,           // an x of 0 or a repeated x in Combine
  kNoMemory,       // no locked memory for the random rows
  kKernel,         // the GF(2^8) kernel refused its arguments (a bug)
  kRandomSource,   // the coefficient keystream could not be generated (shares wiped)
};

const char* SssErrorName(SssError error);

inline constexpr unsigned kMaxShares = 255;

// Splits secrets. Keeps its scratch (locked, wiped after every call) across calls, so a
// steady-state caller allocates nothing. Not thread-safe: one per thread.
class Splitter {
 public:
  Splitter() = default;
  ~Splitter();
  Splitter(const Splitter&) = delete;
  Splitter& operator=(const Splitter&) = delete;

  // shares[i] receives the share with x = i + 1: secret.size() bytes each. n = shares.size().
  SssError Split(std::span<const uint8_t> secret, unsigned k, std::span<uint8_t* const> shares);

 private:
  bool Reserve(size_t random_bytes);
  uint8_t* random_ = nullptr;  // (k - 1) rows of one chunk, sodium_malloc'ed
  size_t random_capacity_ = 0;
  std::vector<uint8_t> matrix_;  // n x k powers of x (public)
};

// Convenience: one split with a temporary Splitter.
SssError Split(std::span<const uint8_t> secret, unsigned k, std::span<uint8_t* const> shares);

// Lagrange coefficients at 0 for the points `xs` (distinct, nonzero): coefficients[j] =
// prod_{m != j} x_m / (x_m - x_j). Public values only.
SssError LagrangeAtZero(std::span<const uint8_t> xs, std::span<uint8_t> coefficients);

// Reconstructs the secret from shares ys[j] at points xs[j] (each secret.size() bytes). With k
// shares of a threshold-k sharing this is the secret; any number of shares >= 1 is interpolated.
SssError Combine(std::span<const uint8_t> xs, std::span<const uint8_t* const> ys,
                 std::span<uint8_t> secret);

}  // namespace relaycell::sss

#endif  // RELAYCELL_ENGINE_DSKE_SSS_H_
