#include "engine/dske/amd_check.h"

#include <sodium.h>

#include <array>
#include <cstring>

#include "engine/common/ct_check.h"
#include "engine/dske/sss.h"

namespace relaycell::amd {
namespace {

struct Element {
  uint64_t lo = 0, hi = 0;  // coefficients of t^0..t^63 and t^64..t^127
};

Element Load(const uint8_t* bytes) {
  Element e;
  for (int i = 7; i >= 0; --i) e.lo = (e.lo << 8) | bytes[i];
  for (int i = 15; i >= 8; --i) e.hi = (e.hi << 8) | bytes[i];
  return e;
}

void Store(const Element& e, uint8_t* bytes) {
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(e.lo >> (8 * i));
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(e.hi >> (8 * i));
}

// a * b mod t^128 + t^7 + t^2 + t + 1; masks instead of branches on bits of a and b.
Element Mul(Element a, const Element& b) {
  Element product;
  for (int i = 0; i < 128; ++i) {
    const uint64_t bit = i < 64 ? (b.lo >> i) & 1 : (b.hi >> (i - 64)) & 1;
    const uint64_t take = uint64_t{0} - bit;
    product.lo ^= a.lo & take;
    product.hi ^= a.hi & take;
    const uint64_t carry = uint64_t{0} - (a.hi >> 63);
    a.hi = (a.hi << 1) | (a.lo >> 63);
    a.lo = (a.lo << 1) ^ (carry & 0x87);
  }
  return product;
}

// d: the number of key elements, rounded up to odd (d + 2 must be odd in characteristic 2).
size_t ElementCount(size_t key_bytes) {
  const size_t d = (key_bytes + 15) / 16;
  return d | 1;
}

// f(x, s) by Horner: x * (s_1 + x * (s_2 + ... + x * (s_d + x * x))).
void CheckValue(std::span<const uint8_t> key, const uint8_t* x_bytes, uint8_t* f_bytes) {
  const size_t d = ElementCount(key.size());
  const Element x = Load(x_bytes);
  Element acc = Mul(x, x);
  for (size_t i = d; i-- > 0;) {
    uint8_t block[16] = {};
    const size_t begin = i * 16;
    if (begin < key.size())
      std::memcpy(block, key.data() + begin, std::min<size_t>(16, key.size() - begin));
    const Element s = Load(block);
    acc.lo ^= s.lo;
    acc.hi ^= s.hi;
    acc = Mul(acc, x);
    sodium_memzero(block, sizeof block);
  }
  Store(acc, f_bytes);
  sodium_memzero(&acc, sizeof acc);
}

}  // namespace

const char* AmdErrorName(AmdError error) {
  switch (error) {
    case AmdError::kOk: return "ok";
    case AmdError::kBadLength: return "bad length";
    case AmdError::kMismatch: return "check value mismatch";
    case AmdError::kNoConsistentSubset: return "no k-subset of the shares passes the check";
    case AmdError::kSharing: return "secret sharing failed";
  }
  return "unknown error";
}

void GfMul128(std::span<const uint8_t, 16> a, std::span<const uint8_t, 16> b,
              std::span<uint8_t, 16> out) {
  Store(Mul(Load(a.data()), Load(b.data())), out.data());
}

AmdError Encode(std::span<const uint8_t> key, std::span<uint8_t> encoded) {
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes ||
      encoded.size() != EncodedBytes(key.size())) {
    return AmdError::kBadLength;
  }
  if (sodium_init() < 0) return AmdError::kSharing;
  std::memmove(encoded.data(), key.data(), key.size());
  uint8_t* x = encoded.data() + key.size();
  randombytes_buf(x, 16);
  // The key and x are secret (they are Shamir-shared next), and so is the check value f.
  RELAYCELL_CT_SECRET(encoded.data(), key.size() + 16);
  CheckValue(encoded.first(key.size()), x, x + 16);
  return AmdError::kOk;
}

AmdError Verify(std::span<const uint8_t> encoded) {
  if (encoded.size() < EncodedBytes(kMinKeyBytes) || encoded.size() > kMaxEncodedBytes) {
    return AmdError::kBadLength;
  }
  const size_t key_bytes = encoded.size() - kCheckBytes;
  uint8_t f[16];
  CheckValue(encoded.first(key_bytes), encoded.data() + key_bytes, f);
  bool equal = sodium_memcmp(f, encoded.data() + key_bytes + 16, 16) == 0;
  // Public by design: the verdict (a constant-time compare), on which the caller picks the
  // next subset of shares or keeps this key. The key and f stay secret.
  RELAYCELL_CT_PUBLIC(&equal, sizeof equal);
  sodium_memzero(f, sizeof f);
  return equal ? AmdError::kOk : AmdError::kMismatch;
}

AmdError SplitKey(std::span<const uint8_t> key, unsigned k, std::span<uint8_t* const> shares) {
  std::array<uint8_t, kMaxEncodedBytes> encoded;
  const std::span<uint8_t> view(encoded.data(), EncodedBytes(key.size()));
  if (key.size() > kMaxKeyBytes) return AmdError::kBadLength;
  AmdError result = Encode(key, view);
  if (result == AmdError::kOk && sss::Split(view, k, shares) != sss::SssError::kOk) {
    result = AmdError::kSharing;
  }
  sodium_memzero(encoded.data(), encoded.size());
  return result;
}

AmdError CombineKey(std::span<const ShareView> shares, unsigned k, std::span<uint8_t> key) {
  if (k < 2 || k > shares.size() || shares.size() > sss::kMaxShares) return AmdError::kSharing;
  const size_t encoded_bytes = shares[0].y.size();
  if (encoded_bytes < EncodedBytes(kMinKeyBytes) || encoded_bytes > kMaxEncodedBytes ||
      key.size() != encoded_bytes - kCheckBytes) {
    return AmdError::kBadLength;
  }
  for (const ShareView& s : shares) {
    if (s.y.size() != encoded_bytes) return AmdError::kBadLength;
  }
  // Subsets as index vectors in lexicographic order: [0..k-1], then the next combination.
  std::array<size_t, sss::kMaxShares> pick;
  for (size_t i = 0; i < k; ++i) pick[i] = i;
  std::array<uint8_t, sss::kMaxShares> xs;
  std::array<const uint8_t*, sss::kMaxShares> ys;
  std::array<uint8_t, kMaxEncodedBytes> candidate;
  const std::span<uint8_t> view(candidate.data(), encoded_bytes);
  AmdError result = AmdError::kNoConsistentSubset;
  for (;;) {
    for (size_t i = 0; i < k; ++i) {
      xs[i] = shares[pick[i]].x;
      ys[i] = shares[pick[i]].y.data();
    }
    const sss::SssError e = sss::Combine(std::span(xs.data(), k), std::span(ys.data(), k), view);
    if (e == sss::SssError::kBadX) {
      result = AmdError::kSharing;  // duplicate or zero x: the caller's bug, not a liar
      break;
    }
    if (e == sss::SssError::kOk && Verify(view) == AmdError::kOk) {
      std::memcpy(key.data(), candidate.data(), key.size());
      result = AmdError::kOk;
      break;
    }
    // Next combination: the rightmost index that can move right moves, the rest follow it.
    size_t i = k;
    while (i > 0 && pick[i - 1] == shares.size() - k + (i - 1)) --i;
    if (i == 0) break;
    ++pick[i - 1];
    for (size_t j = i; j < k; ++j) pick[j] = pick[j - 1] + 1;
  }
  sodium_memzero(candidate.data(), candidate.size());
  return result;
}

}  // namespace relaycell::amd
