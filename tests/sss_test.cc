// Shamir over GF(2^8) and the AMD check value: known answers, every subset, secrecy below the
// threshold (statistically), tamper detection and the subset search.
#include "engine/dske/sss.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/dske/amd_check.h"

namespace relaycell {
namespace {

using Bytes = std::vector<uint8_t>;

const int kSodium = sodium_init();

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  randombytes_buf(b.data(), n);
  return b;
}

Bytes FromHex(const std::string& hex) {
  Bytes out(hex.size() / 2);
  size_t got = 0;
  EXPECT_EQ(sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &got, nullptr),
            0);
  out.resize(got);
  return out;
}

struct Shares {
  std::vector<Bytes> rows;
  std::vector<uint8_t*> pointers;
  Shares(size_t n, size_t length) : rows(n, Bytes(length)) {
    for (Bytes& r : rows) pointers.push_back(r.data());
  }
};

// Calls fn(indices) for every k-subset of [0, n).
template <class Fn>
void ForEachSubset(size_t n, size_t k, Fn fn) {
  std::vector<size_t> pick(k);
  for (size_t i = 0; i < k; ++i) pick[i] = i;
  for (;;) {
    fn(pick);
    size_t i = k;
    while (i > 0 && pick[i - 1] == n - k + (i - 1)) --i;
    if (i == 0) return;
    ++pick[i - 1];
    for (size_t j = i; j < k; ++j) pick[j] = pick[j - 1] + 1;
  }
}

Bytes CombineSubset(const Shares& shares, const std::vector<size_t>& pick, size_t length) {
  std::vector<uint8_t> xs;
  std::vector<const uint8_t*> ys;
  for (size_t i : pick) {
    xs.push_back(static_cast<uint8_t>(i + 1));
    ys.push_back(shares.rows[i].data());
  }
  Bytes out(length);
  EXPECT_EQ(sss::Combine(xs, ys, out), sss::SssError::kOk);
  return out;
}

TEST(Sss, TssVectorReconstructs) {
  std::ifstream in(std::string(RELAYCELL_VECTORS) + "/sss/tss.json");
  ASSERT_TRUE(in);
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_EQ(doc["field_polynomial"], "0x11b");
  const Bytes secret = FromHex(doc["secret"].get<std::string>());
  std::vector<Bytes> ys;
  std::vector<uint8_t> xs;
  for (const auto& s : doc["shares"]) {
    Bytes share = FromHex(s.get<std::string>());
    xs.push_back(share[0]);
    ys.emplace_back(share.begin() + 1, share.end());
  }
  ASSERT_EQ(xs.size(), doc["threshold"].get<size_t>());
  std::vector<const uint8_t*> pointers;
  for (const Bytes& y : ys) pointers.push_back(y.data());
  Bytes got(secret.size());
  ASSERT_EQ(sss::Combine(xs, pointers, got), sss::SssError::kOk);
  EXPECT_EQ(got, secret);
}

TEST(Sss, EveryKSubsetReconstructs) {
  const struct { unsigned k, n; } shapes[] = {{2, 2}, {2, 3}, {3, 5}, {4, 7}, {5, 8}, {255, 255}};
  for (const auto& shape : shapes) {
    for (size_t length : {size_t{1}, size_t{31}, size_t{1000}}) {
      SCOPED_TRACE("k=" + std::to_string(shape.k) + " n=" + std::to_string(shape.n) +
                   " length=" + std::to_string(length));
      const Bytes secret = RandomBytes(length);
      Shares shares(shape.n, length);
      ASSERT_EQ(sss::Split(secret, shape.k, shares.pointers), sss::SssError::kOk);
      // A share equal to the secret has probability 256^-length: only checked when negligible.
      if (length >= 16) {
        for (const Bytes& row : shares.rows) EXPECT_NE(row, secret);
      }
      ForEachSubset(shape.n, shape.k, [&](const std::vector<size_t>& pick) {
        EXPECT_EQ(CombineSubset(shares, pick, length), secret);
      });
    }
  }
}

TEST(Sss, BatchIsConcatenation) {
  // Two secrets split in one call: each slice of the shares reconstructs its own secret.
  const Bytes a = RandomBytes(40), b = RandomBytes(24);
  Bytes batch(a);
  batch.insert(batch.end(), b.begin(), b.end());
  Shares shares(4, batch.size());
  ASSERT_EQ(sss::Split(batch, 3, shares.pointers), sss::SssError::kOk);
  const std::vector<uint8_t> xs = {4, 1, 3};
  std::vector<const uint8_t*> ys_b;
  for (uint8_t x : xs) ys_b.push_back(shares.rows[x - 1].data() + a.size());
  Bytes got_b(b.size());
  ASSERT_EQ(sss::Combine(xs, ys_b, got_b), sss::SssError::kOk);
  EXPECT_EQ(got_b, b);
}

// Chi-squared statistic of byte-value counts against the uniform distribution.
double ChiSquared(const std::vector<size_t>& counts, size_t total) {
  const double expected = double(total) / double(counts.size());
  double chi = 0;
  for (size_t c : counts) chi += (double(c) - expected) * (double(c) - expected) / expected;
  return chi;
}

TEST(Sss, FewerThanKSharesLookUniform) {
  // k - 1 shares of a fixed secret must be uniform (so consistent with every secret): one
  // share for k = 2, the pair (y1, y2) for k = 3. A biased generator or a missing random row
  // fails by hundreds of standard deviations; the bound is 6.
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xA5}}) {
    {
      const size_t length = 1 << 20;
      const Bytes secret(length, fill);
      Shares shares(2, length);
      ASSERT_EQ(sss::Split(secret, 2, shares.pointers), sss::SssError::kOk);
      std::vector<size_t> counts(256);
      for (uint8_t y : shares.rows[1]) ++counts[y];
      const double dof = 255;
      EXPECT_LT(ChiSquared(counts, length), dof + 6 * std::sqrt(2 * dof));
    }
    {
      const size_t length = 1 << 23;
      const Bytes secret(length, fill);
      Shares shares(3, length);
      ASSERT_EQ(sss::Split(secret, 3, shares.pointers), sss::SssError::kOk);
      std::vector<size_t> counts(65536);
      for (size_t i = 0; i < length; ++i) ++counts[shares.rows[0][i] << 8 | shares.rows[2][i]];
      const double dof = 65535;
      EXPECT_LT(ChiSquared(counts, length), dof + 6 * std::sqrt(2 * dof));
    }
  }
}

TEST(Sss, RefusesBadArguments) {
  const Bytes secret = RandomBytes(8);
  Shares shares(3, 8);
  EXPECT_EQ(sss::Split(secret, 1, shares.pointers), sss::SssError::kBadThreshold);
  EXPECT_EQ(sss::Split(secret, 4, shares.pointers), sss::SssError::kBadThreshold);
  EXPECT_EQ(sss::Split({}, 2, shares.pointers), sss::SssError::kBadLength);
  Shares too_many(256, 8);
  EXPECT_EQ(sss::Split(secret, 2, too_many.pointers), sss::SssError::kBadThreshold);
  Bytes out(8);
  const std::vector<const uint8_t*> ys = {shares.rows[0].data(), shares.rows[1].data()};
  const std::vector<uint8_t> duplicate = {1, 1}, zero = {0, 2}, one = {1};
  EXPECT_EQ(sss::Combine(duplicate, ys, out), sss::SssError::kBadX);
  EXPECT_EQ(sss::Combine(zero, ys, out), sss::SssError::kBadX);
  EXPECT_EQ(sss::Combine(one, ys, out), sss::SssError::kBadShareCount);
}

// --- GF(2^128) and the AMD check --------------------------------------------------------

using Block = std::array<uint8_t, 16>;

Block Mul(const Block& a, const Block& b) {
  Block out;
  amd::GfMul128(a, b, out);
  return out;
}

TEST(AmdCheck, FieldIsGf2To128WithTheStatedPolynomial) {
  Block t{};  // the element t
  t[0] = 2;
  Block t127{};
  t127[15] = 0x80;
  Block reduction{};  // t^128 = t^7 + t^2 + t + 1
  reduction[0] = 0x87;
  EXPECT_EQ(Mul(t127, t), reduction);
  Block one{};
  one[0] = 1;
  for (int trial = 0; trial < 8; ++trial) {
    Block a, b, c;
    randombytes_buf(a.data(), 16);
    randombytes_buf(b.data(), 16);
    randombytes_buf(c.data(), 16);
    EXPECT_EQ(Mul(a, b), Mul(b, a));
    EXPECT_EQ(Mul(a, one), a);
    EXPECT_EQ(Mul(Mul(a, b), c), Mul(a, Mul(b, c)));
    Block b_plus_c;
    for (int i = 0; i < 16; ++i) b_plus_c[i] = b[i] ^ c[i];
    Block ab = Mul(a, b), ac = Mul(a, c), sum;
    for (int i = 0; i < 16; ++i) sum[i] = ab[i] ^ ac[i];
    EXPECT_EQ(Mul(a, b_plus_c), sum);
    // Frobenius: a^(2^128) = a holds for every element only in the field of 2^128 elements.
    Block power = a;
    for (int i = 0; i < 128; ++i) power = Mul(power, power);
    EXPECT_EQ(power, a);
  }
}

TEST(AmdCheck, EncodeVerifyAndRejectAnyChange) {
  for (size_t key_bytes : {size_t{16}, size_t{32}, size_t{33}, size_t{256}}) {
    const Bytes key = RandomBytes(key_bytes);
    Bytes encoded(amd::EncodedBytes(key_bytes));
    ASSERT_EQ(amd::Encode(key, encoded), amd::AmdError::kOk);
    EXPECT_TRUE(std::equal(key.begin(), key.end(), encoded.begin()));
    EXPECT_EQ(amd::Verify(encoded), amd::AmdError::kOk);
    for (size_t i = 0; i < encoded.size(); ++i) {
      encoded[i] ^= 1;
      EXPECT_EQ(amd::Verify(encoded), amd::AmdError::kMismatch) << i;
      encoded[i] ^= 1;
    }
  }
  Bytes small(15), out(47);
  EXPECT_EQ(amd::Encode(small, out), amd::AmdError::kBadLength);
}

TEST(AmdCheck, RejectsAShareAlteredByAnyNonzeroDelta) {
  const unsigned k = 3, n = 5;
  const Bytes key = RandomBytes(32);
  const size_t length = amd::EncodedBytes(key.size());
  Shares shares(n, length);
  ASSERT_EQ(amd::SplitKey(key, k, shares.pointers), amd::AmdError::kOk);
  // Every byte position of the share x = 2, every nonzero delta.
  for (size_t position = 0; position < length; ++position) {
    for (int delta = 1; delta < 256; ++delta) {
      shares.rows[1][position] ^= static_cast<uint8_t>(delta);
      const Bytes combined = CombineSubset(shares, {0, 1, 2}, length);
      EXPECT_EQ(amd::Verify(combined), amd::AmdError::kMismatch) << position << " " << delta;
      shares.rows[1][position] ^= static_cast<uint8_t>(delta);
    }
  }
  EXPECT_EQ(amd::Verify(CombineSubset(shares, {0, 1, 2}, length)), amd::AmdError::kOk);
}

TEST(AmdCheck, SubsetSearchOutvotesOneLiar) {
  for (unsigned k : {2u, 3u, 4u}) {
    for (unsigned extra : {1u, 2u}) {
      const unsigned n = k + extra;
      const Bytes key = RandomBytes(48);
      const size_t length = amd::EncodedBytes(key.size());
      for (unsigned liar = 0; liar < n; ++liar) {
        Shares shares(n, length);
        ASSERT_EQ(amd::SplitKey(key, k, shares.pointers), amd::AmdError::kOk);
        Bytes lie = RandomBytes(length);
        lie[0] |= 1;  // never equal by chance
        for (size_t i = 0; i < length; ++i) shares.rows[liar][i] ^= lie[i];
        std::vector<amd::ShareView> views;
        for (unsigned i = 0; i < n; ++i)
          views.push_back({static_cast<uint8_t>(i + 1), shares.rows[i]});
        Bytes got(key.size());
        ASSERT_EQ(amd::CombineKey(views, k, got), amd::AmdError::kOk)
            << k << " " << n << " " << liar;
        EXPECT_EQ(got, key);
      }
    }
  }
}

TEST(AmdCheck, TooManyLiarsIsAnErrorNotAWrongKey) {
  const Bytes key = RandomBytes(32);
  const size_t length = amd::EncodedBytes(key.size());
  Shares shares(4, length);
  ASSERT_EQ(amd::SplitKey(key, 3, shares.pointers), amd::AmdError::kOk);
  shares.rows[0][5] ^= 0x40;
  shares.rows[3][9] ^= 0x01;  // every 3-subset of 4 holds a liar
  std::vector<amd::ShareView> views;
  for (unsigned i = 0; i < 4; ++i) views.push_back({static_cast<uint8_t>(i + 1), shares.rows[i]});
  Bytes got(key.size(), 0xEE);
  EXPECT_EQ(amd::CombineKey(views, 3, got), amd::AmdError::kNoConsistentSubset);
  EXPECT_EQ(got, Bytes(key.size(), 0xEE));
}

}  // namespace
}  // namespace relaycell
