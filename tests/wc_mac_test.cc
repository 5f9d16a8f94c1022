// The Wegman–Carter MAC: a partial known answer anchored in RFC 8452, honest tags accepted,
// every single-bit change rejected, lengths bound.
#include "engine/dske/wc_mac.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <vector>

#include "kernels/polyval.h"

namespace relaycell::wc_mac {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

Bytes Hex(const char* hex) {
  Bytes out(std::strlen(hex) / 2);
  size_t got = 0;
  EXPECT_EQ(sodium_hex2bin(out.data(), out.size(), hex, std::strlen(hex), nullptr, &got, nullptr),
            0);
  return out;
}

TEST(WcMac, MatchesRfc8452PolyvalWithTheLengthBlock) {
  // RFC 8452 Appendix A: POLYVAL_H(X_1 || X_2) = f7a3b47b846119fae5b7866cf5e5b77e. Our input is
  // header = X_1, ciphertext = X_2, then the length block L; by Horner's rule the hash is
  // POLYVAL_H(P ^ L) for P the RFC's value, and the tag that XORed with r.
  const Bytes h = Hex("25629347589242761d31f826ba4b757b");
  const Bytes x1 = Hex("4f4f95668c83dfb6401762bb2d01a262");
  const Bytes x2 = Hex("d1a24ddd2721d006bbe45f20d3c9f362");
  Bytes block = Hex("f7a3b47b846119fae5b7866cf5e5b77e");
  block[7] ^= 16;   // u64 header length, big-endian
  block[15] ^= 16;  // u64 ciphertext length
  std::array<uint8_t, 16> expected;
  kernels::Polyval(std::span<const uint8_t, 16>(h.data(), 16), block, expected);
  std::array<uint8_t, kKeyBytes> key;
  std::copy(h.begin(), h.end(), key.begin());
  for (int i = 0; i < 16; ++i) key[16 + i] = static_cast<uint8_t>(0x30 + i);
  for (int i = 0; i < 16; ++i) expected[i] ^= key[16 + i];
  std::array<uint8_t, kTagBytes> tag;
  ASSERT_EQ(ComputeTag(key, x1, x2, tag), WcMacError::kOk);
  EXPECT_EQ(tag, expected);
}

TEST(WcMac, RejectsEverySingleBitFlip) {
  std::array<uint8_t, kKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  Bytes header(23), ciphertext(75);
  randombytes_buf(header.data(), header.size());
  randombytes_buf(ciphertext.data(), ciphertext.size());
  std::array<uint8_t, kTagBytes> tag;
  ASSERT_EQ(ComputeTag(key, header, ciphertext, tag), WcMacError::kOk);
  ASSERT_EQ(VerifyTag(key, header, ciphertext, tag), WcMacError::kOk);
  for (Bytes* part : {&header, &ciphertext}) {
    for (size_t bit = 0; bit < part->size() * 8; ++bit) {
      (*part)[bit / 8] ^= uint8_t(1 << (bit % 8));
      EXPECT_EQ(VerifyTag(key, header, ciphertext, tag), WcMacError::kMismatch) << bit;
      (*part)[bit / 8] ^= uint8_t(1 << (bit % 8));
    }
  }
  for (size_t bit = 0; bit < tag.size() * 8; ++bit) {
    tag[bit / 8] ^= uint8_t(1 << (bit % 8));
    EXPECT_EQ(VerifyTag(key, header, ciphertext, tag), WcMacError::kMismatch) << bit;
    tag[bit / 8] ^= uint8_t(1 << (bit % 8));
  }
  EXPECT_EQ(VerifyTag(key, header, ciphertext, tag), WcMacError::kOk);
}

TEST(WcMac, LengthsAreBound) {
  // Same bytes, different split between header and ciphertext; and trailing zeros that the
  // zero padding alone would hide.
  std::array<uint8_t, kKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  const Bytes abc = {'a', 'b', 'c'}, ab = {'a', 'b'}, c = {'c'}, c0 = {'c', 0};
  std::array<uint8_t, kTagBytes> t1, t2, t3;
  ASSERT_EQ(ComputeTag(key, ab, c, t1), WcMacError::kOk);
  ASSERT_EQ(ComputeTag(key, abc, {}, t2), WcMacError::kOk);
  ASSERT_EQ(ComputeTag(key, ab, c0, t3), WcMacError::kOk);
  EXPECT_NE(t1, t2);
  EXPECT_NE(t1, t3);
  Bytes huge(kMaxInputBytes + 1);
  EXPECT_EQ(ComputeTag(key, huge, {}, t1), WcMacError::kTooLong);
  EXPECT_EQ(VerifyTag(key, {}, huge, t1), WcMacError::kTooLong);
}

}  // namespace
}  // namespace relaycell::wc_mac
