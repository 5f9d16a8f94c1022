// The check value shared along with a DSKE key: an algebraic manipulation detection (AMD) code
// over GF(2^128) (Cramer, Dodis, Fehr, Padró, Wichs, EUROCRYPT 2008, the construction of §3).
//
// The key s is cut into d 16-byte elements s_1..s_d (the last zero-padded; the key length is
// public), with d rounded up to an ODD number: the construction needs d + 2 not divisible by the
// field's characteristic, 2. With a uniformly random element x,
//     Encode(s) = s || x || f(x, s),   f(x, s) = x^{d+2} + sum_{i=1..d} s_i x^i,
// and Verify recomputes f. Shamir sharing is linear, so a lying hub can only ADD a value of its
// choice (independent of s) to what B reconstructs; for any such nonzero offset, the result
// passes Verify with probability at most (d + 1) / 2^128 — for keys up to 256 bytes (d <= 17)
// that is below 2^-123.
//
// Field: GF(2^128) = GF(2)[t] / (t^128 + t^7 + t^2 + t + 1); an element's 16 bytes are its
// coefficients, bit i of byte j being the coefficient of t^{8j+i}. The multiply is a plain
// shift-and-add with masks (no branch or table indexed by data, no CLMUL): Encode and Verify
// take d + 1 products, a few microseconds, once per key.
#ifndef RELAYCELL_ENGINE_DSKE_AMD_CHECK_H_
#define RELAYCELL_ENGINE_DSKE_AMD_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell::amd {

inline constexpr size_t kMinKeyBytes = 16;
inline constexpr size_t kMaxKeyBytes = 256;
inline constexpr size_t kCheckBytes = 32;  // x || f
inline constexpr size_t kMaxEncodedBytes = kMaxKeyBytes + kCheckBytes;

enum class AmdError {
  kOk = 0,
  kBadLength,           // key outside 16..256 bytes, or a buffer of the wrong size
  kMismatch,            // the check failed: a wrong reconstruction
  kNoConsistentSubset,  // no k-subset of the shares passes the check
  kSharing,             // Shamir split/combine refused its arguments
};

const char* AmdErrorName(AmdError error);

constexpr size_t EncodedBytes(size_t key_bytes) { return key_bytes + kCheckBytes; }

// One GF(2^128) product in the field above (exposed for tests).
void GfMul128(std::span<const uint8_t, 16> a, std::span<const uint8_t, 16> b,
              std::span<uint8_t, 16> out);

// encoded = key || x || f(x, key) with a fresh random x; encoded.size() == EncodedBytes(key).
AmdError Encode(std::span<const uint8_t> key, std::span<uint8_t> encoded);

// Constant-time check of an encoded value (its key is the first size - 32 bytes).
AmdError Verify(std::span<const uint8_t> encoded);

// A share as B holds it: x-coordinate and y bytes (EncodedBytes(key) of them).
struct ShareView {
  uint8_t x;
  std::span<const uint8_t> y;
};

// Splits a key with its check value: shares[i] (x = i + 1) gets EncodedBytes(key) bytes.
AmdError SplitKey(std::span<const uint8_t> key, unsigned k, std::span<uint8_t* const> shares);

// Searches the k-subsets of `shares` (in lexicographic order) for one whose reconstruction
// passes the check, and writes its key (shares' y size - 32 bytes) to `key`. A lying or broken
// hub's share is thereby outvoted when more than k shares arrived. Scratch is wiped.
AmdError CombineKey(std::span<const ShareView> shares, unsigned k, std::span<uint8_t> key);

}  // namespace relaycell::amd

#endif  // RELAYCELL_ENGINE_DSKE_AMD_CHECK_H_
