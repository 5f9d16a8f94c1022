#include "engine/dske/sss.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "engine/common/ct_check.h"
#include "engine/dske/sss_coefficient_stream.h"
#include "kernels/gf256.h"

namespace relaycell::sss {
namespace {

// Bytes of random rows drawn per chunk: the chunk's secret, random rows and shares
// ((1 + (k - 1) + n) * chunk bytes, 128 KiB at k = 3, n = 5) stay in L2 between the keystream
// and the multiply instead of streaming through memory twice, and the chunks are long enough
// that the kernel's per-call cost is small (16 KiB rows, the keystream's limit, beat 8 KiB by 12 %).
constexpr size_t kRandomBytesPerChunk = 32 * 1024;

size_t ChunkBytes(size_t k, size_t length) {
  size_t chunk = kRandomBytesPerChunk / (k - 1);
  chunk = std::clamp<size_t>(chunk & ~size_t{63}, 1024, CoefficientStream::kMaxFillBytes);
  return std::min(chunk, length);
}

// Distance between random rows: 64-byte aligned, and one line more than a multiple of 4 KiB
// apart, so rows read together do not alias in the L1 (4 KiB-apart streams thrash one set).
size_t RowStride(size_t chunk) { return ((chunk + 63) & ~size_t{63}) + 64; }

}  // namespace

const char* SssErrorName(SssError error) {
  switch (error) {
    case SssError::kOk: return "ok";
    case SssError::kBadThreshold: return "threshold must satisfy 2 <= k <= n <= 255";
    case SssError::kBadShareCount: return "wrong number of shares";
    case SssError::kBadLength: return "bad length";
    case SssError::kBadX: return "share x-coordinates must be distinct and nonzero";
    case SssError::kNoMemory: return "no locked memory";
    case SssError::kKernel: return "GF(2^8) kernel refused its arguments";
    case SssError::kRandomSource: return "could not generate the random coefficients";
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
  // The secret being shared (the random rows are secret too: their key is marked in
  // CoefficientStream). Only lengths, k and n are public.
  RELAYCELL_CT_SECRET(secret.data(), length);
  const size_t chunk = ChunkBytes(k, length);
  const size_t stride = RowStride(chunk);
  // sodium_malloc puts the block's end at a page end: 63 bytes more let the start be aligned.
  if (!Reserve((k - 1) * stride + 63)) return SssError::kNoMemory;
  uint8_t* const random_rows =
      reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(random_) + 63) & ~uintptr_t{63});

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

  // A fresh AES-256 key per call. Random row j of chunk c is keystream under nonce
  // c * (k - 1) + j - 1: every (chunk, row) has its own counter space.
  CoefficientStream stream;
  std::array<const uint8_t*, kMaxShares> rows;
  std::array<uint8_t*, kMaxShares> outs;
  SssError result = SssError::kOk;
  uint64_t nonce = 0;
  for (size_t at = 0; at < length && result == SssError::kOk; at += chunk) {
    const size_t bytes = std::min(chunk, length - at);
    rows[0] = secret.data() + at;
    for (size_t j = 1; j < k; ++j) {
      uint8_t* row = random_rows + (j - 1) * stride;
      if (!stream.Fill(nonce++, std::span(row, bytes))) result = SssError::kRandomSource;
      rows[j] = row;
    }
    for (size_t i = 0; i < n; ++i) outs[i] = shares[i] + at;
    if (result == SssError::kOk &&
        !kernels::GfMatrixMultiply(matrix_, k, n, std::span(rows.data(), k),
                                   std::span(outs.data(), n), bytes)) {
      result = SssError::kKernel;
    }
  }
  sodium_memzero(random_, random_capacity_);
  if (result != SssError::kOk) {
    // Partial shares of a split that failed must not be used (nor leak the secret's chunks).
    for (uint8_t* share : shares) sodium_memzero(share, length);
  }
  return result;
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
  if (SssError e = LagrangeAtZero(xs, std::span(coefficients.data(), xs.size()));
      e != SssError::kOk) {
    return e;
  }
  return kernels::GfDotProduct(std::span(coefficients.data(), xs.size()), ys, secret)
             ? SssError::kOk
             : SssError::kKernel;
}

}  // namespace relaycell::sss
