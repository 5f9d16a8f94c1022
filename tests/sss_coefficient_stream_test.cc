// The Shamir coefficient stream is plain AES-256-CTR: its output must equal OpenSSL's
// EVP_aes_256_ctr keystream (an independent implementation) for the same key and counter block
// (big-endian nonce || 8 zero bytes), whole blocks and partial ones alike.
#include "engine/dske/sss_coefficient_stream.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <vector>

namespace relaycell::sss {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

// OpenSSL's keystream: AES-256-CTR over zeros.
Bytes OpenSslKeystream(std::span<const uint8_t, 32> key, uint64_t nonce, size_t length) {
  std::array<uint8_t, 16> iv{};
  for (int i = 7; i >= 0; --i, nonce >>= 8) iv[size_t(i)] = uint8_t(nonce);
  const Bytes zeros(length, 0);
  Bytes out(length + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EXPECT_NE(ctx, nullptr);
  int written = 0, final_written = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, key.data(), iv.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, out.data(), &written, zeros.data(), int(length)), 1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, out.data() + written, &final_written), 1);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(size_t(written + final_written));
  return out;
}

std::array<uint8_t, 32> FixedKey() {
  std::array<uint8_t, 32> key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = uint8_t(0xA0 + 7 * i);
  return key;
}

TEST(SssCoefficientStream, MatchesOpenSslAes256CtrWholeAndPartialBlocks) {
  const auto key = FixedKey();
  CoefficientStream stream{std::span<const uint8_t, 32>(key)};
  const uint64_t nonces[] = {0, 1, 0x0102030405060708ull, ~0ull};
  // 1 and 37 end inside a block; 16384 is the longest single Fill.
  const size_t lengths[] = {1, 16, 37, 64, 1000, 4096 + 5, CoefficientStream::kMaxFillBytes};
  for (uint64_t nonce : nonces) {
    for (size_t length : lengths) {
      Bytes ours(length, 0xEE);
      ASSERT_TRUE(stream.Fill(nonce, ours)) << nonce << " " << length;
      EXPECT_EQ(ours, OpenSslKeystream(key, nonce, length))
          << "nonce " << nonce << " length " << length;
    }
  }
}

TEST(SssCoefficientStream, APartialFillIsThePrefixOfTheLongerOne) {
  const auto key = FixedKey();
  CoefficientStream stream{std::span<const uint8_t, 32>(key)};
  Bytes long_fill(1024), short_fill(45);
  ASSERT_TRUE(stream.Fill(9, long_fill));
  ASSERT_TRUE(stream.Fill(9, short_fill));
  EXPECT_TRUE(std::equal(short_fill.begin(), short_fill.end(), long_fill.begin()));
}

TEST(SssCoefficientStream, DistinctNoncesAndKeysGiveDistinctStreams) {
  const auto key = FixedKey();
  CoefficientStream stream{std::span<const uint8_t, 32>(key)};
  Bytes a(64), b(64);
  ASSERT_TRUE(stream.Fill(1, a));
  ASSERT_TRUE(stream.Fill(2, b));
  EXPECT_NE(a, b);
  CoefficientStream fresh1, fresh2;  // keys from randombytes_buf
  ASSERT_TRUE(fresh1.Fill(1, a));
  ASSERT_TRUE(fresh2.Fill(1, b));
  EXPECT_NE(a, b);
  EXPECT_NE(a, OpenSslKeystream(key, 1, 64));
}

TEST(SssCoefficientStream, OversizedFillIsRefusedAndWiped) {
  CoefficientStream stream;
  Bytes out(CoefficientStream::kMaxFillBytes + 1, 0x77);
  EXPECT_FALSE(stream.Fill(0, out));
  EXPECT_EQ(out, Bytes(out.size(), 0));
  Bytes empty;
  EXPECT_TRUE(stream.Fill(0, empty));
}

}  // namespace
}  // namespace relaycell::sss
