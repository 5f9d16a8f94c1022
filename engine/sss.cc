#include "engine/sss.h"

#include <sodium.h>

#include <array>

#include "kernels/gf256.h"

namespace relaycell::sss {

const char* SssErrorName(SssError error) {
  switch (error) {
    case SssError::kOk: return "ok";
    case SssError::kBadThreshold: return "threshold must satisfy 2 <= k <= n <= 255";
    case SssError::kBadShareCount: return "wrong number of shares";
    case SssError::kBadLength: return "bad length";
    case SssError::kBadX: return "share x-coordinates must be distinct and nonzero";
    case SssError::kNoMemory: return "no locked memory";
    case SssError::kKernel: return "GF(2^8) kernel refused its arguments";
  }
  return "unknown error";
}

Splitter::~Splitter() {
  if (random_ != nullptr) sodium_free(random_);  // wipes before unmapping
}

bool Splitter::Reserve(size_t random_bytes) {
  if (random_bytes <= random_capacity_) return true;
  if (sodium_init() < 0) return false;
  if (random_ != nullptr) sodium_free(random_);
  random_ = static_cast<uint8_t*>(sodium_malloc(random_bytes));
  random_capacity_ = random_ != nullptr ? random_bytes : 0;
  return random_ != nullptr;
}

SssError Splitter::Split(std::span<const uint8_t> secret, unsigned k,
                         std::span<uint8_t* const> shares) {
  const size_t n = shares.size();
  if (k < 2 || k > n || n > kMaxShares) return SssError::kBadThreshold;
  const size_t length = secret.size();
  if (length == 0) return SssError::kBadLength;
  for (uint8_t* share : shares) {
    if (share == nullptr) return SssError::kBadShareCount;
  }
  if (length > (SIZE_MAX / (k - 1))) return SssError::kBadLength;
  if (!Reserve((k - 1) * length)) return SssError::kNoMemory;

  // Row r of the matrix evaluates the polynomial at x = r + 1: [1, x, x^2, ..., x^{k-1}].
  matrix_.resize(n * k);
  for (size_t r = 0; r < n; ++r) {
    const uint8_t x = static_cast<uint8_t>(r + 1);
    uint8_t power = 1;
    for (size_t j = 0; j < k; ++j) {
      matrix_[r * k + j] = power;
      power = kernels::GfMul(power, x);
    }
  }

  // A fresh ChaCha20 key per call; the stream fills all k - 1 random rows at once.
  std::array<uint8_t, randombytes_SEEDBYTES> seed;
  randombytes_buf(seed.data(), seed.size());
  randombytes_buf_deterministic(random_, (k - 1) * length, seed.data());
  sodium_memzero(seed.data(), seed.size());

  std::array<const uint8_t*, kMaxShares> rows;
  rows[0] = secret.data();
  for (size_t j = 1; j < k; ++j) rows[j] = random_ + (j - 1) * length;
  const bool ok = kernels::GfMatrixMultiply(matrix_, k, n, std::span(rows.data(), k), shares, length);
  sodium_memzero(random_, (k - 1) * length);
  return ok ? SssError::kOk : SssError::kKernel;
}

SssError Split(std::span<const uint8_t> secret, unsigned k, std::span<uint8_t* const> shares) {
  Splitter splitter;
  return splitter.Split(secret, k, shares);
}

SssError LagrangeAtZero(std::span<const uint8_t> xs, std::span<uint8_t> coefficients) {
  if (xs.empty() || xs.size() > kMaxShares || coefficients.size() != xs.size()) {
    return SssError::kBadShareCount;
  }
  for (size_t j = 0; j < xs.size(); ++j) {
    if (xs[j] == 0) return SssError::kBadX;
    for (size_t m = 0; m < j; ++m) {
      if (xs[m] == xs[j]) return SssError::kBadX;
    }
  }
  for (size_t j = 0; j < xs.size(); ++j) {
    uint8_t numerator = 1, denominator = 1;
    for (size_t m = 0; m < xs.size(); ++m) {
      if (m == j) continue;
      numerator = kernels::GfMul(numerator, xs[m]);
      denominator = kernels::GfMul(denominator, xs[m] ^ xs[j]);  // subtraction is XOR
    }
    coefficients[j] = kernels::GfMul(numerator, kernels::GfInverse(denominator));
  }
  return SssError::kOk;
}

SssError Combine(std::span<const uint8_t> xs, std::span<const uint8_t* const> ys,
                 std::span<uint8_t> secret) {
  if (ys.size() != xs.size()) return SssError::kBadShareCount;
  if (secret.empty()) return SssError::kBadLength;
  for (const uint8_t* y : ys) {
    if (y == nullptr) return SssError::kBadShareCount;
  }
  std::array<uint8_t, kMaxShares> coefficients;
  if (SssError e = LagrangeAtZero(xs, std::span(coefficients.data(), xs.size())); e != SssError::kOk) {
    return e;
  }
  return kernels::GfDotProduct(std::span(coefficients.data(), xs.size()), ys, secret)
             ? SssError::kOk
             : SssError::kKernel;
}

}  // namespace relaycell::sss
