// AES round kernel: FIPS-197 Appendix C.1 (AES-128) and C.3 (AES-256) through AesRounds with
// the key schedule from intel-ipsec-mb, then every Highway target against AesRoundReference.
#include <intel-ipsec-mb.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "tests/kernel_test_util.h"
#include "kernels/aes_rounds.h"

namespace relaycell::kernels {
namespace {

// The final AES round (no MixColumns), which the kernel does not offer: S-box by brute-force
// inverse plus the FIPS-197 affine map, then ShiftRows and AddRoundKey.
uint8_t SlowMul(uint8_t a, uint8_t b) {
  unsigned p = 0;
  for (unsigned aa = a; b; b >>= 1, aa = (aa << 1) ^ ((aa & 0x80) ? 0x11B : 0)) {
    if (b & 1) p ^= aa;
  }
  return uint8_t(p);
}
uint8_t SBox(uint8_t x) {
  uint8_t inverse = 0;
  for (unsigned c = 1; c < 256 && x != 0; ++c) {
    if (SlowMul(x, uint8_t(c)) == 1) inverse = uint8_t(c);
  }
  uint8_t s = 0x63;
  for (int i = 0; i < 8; ++i) {
    const int bit = ((inverse >> i) ^ (inverse >> ((i + 4) % 8)) ^ (inverse >> ((i + 5) % 8)) ^
                     (inverse >> ((i + 6) % 8)) ^ (inverse >> ((i + 7) % 8))) &
                    1;
    s ^= uint8_t(bit << i);
  }
  return s;
}
void LastRound(const uint8_t in[16], const uint8_t key[16], uint8_t out[16]) {
  for (int c = 0; c < 4; ++c) {
    for (int r = 0; r < 4; ++r) out[4 * c + r] = SBox(in[4 * ((c + r) % 4) + r]) ^ key[4 * c + r];
  }
}

struct MgrDeleter {
  void operator()(IMB_MGR* mgr) const { free_mb_mgr(mgr); }
};

// Full AES: whitening as the offset, rounds 1..N-1 through AesRounds, the last round here.
std::vector<uint8_t> Encrypt(const std::vector<uint8_t>& key, const std::vector<uint8_t>& plain) {
  std::unique_ptr<IMB_MGR, MgrDeleter> mgr(alloc_mb_mgr(0));
  init_mb_mgr_auto(mgr.get(), nullptr);
  alignas(16) uint8_t enc[15 * 16], dec[15 * 16];
  const size_t rounds = key.size() == 16 ? 10 : 14;
  if (key.size() == 16) {
    IMB_AES_KEYEXP_128(mgr.get(), key.data(), enc, dec);
  } else {
    IMB_AES_KEYEXP_256(mgr.get(), key.data(), enc, dec);
  }
  std::vector<uint8_t> state(16);
  EXPECT_TRUE(AesRounds(plain, std::span<const uint8_t>(enc, 16),
                        std::span<const uint8_t>(enc + 16, 16 * (rounds - 1)), state));
  std::vector<uint8_t> out(16);
  LastRound(state.data(), enc + 16 * rounds, out.data());
  return out;
}

void CheckFips197() {
  const auto plain = Hex("00112233445566778899aabbccddeeff");
  EXPECT_EQ(Encrypt(Hex("000102030405060708090a0b0c0d0e0f"), plain),
            Hex("69c4e0d86a7b0430d8cdb78070b4c55a"));  // C.1
  EXPECT_EQ(Encrypt(Hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"), plain),
            Hex("8ea2b7ca516745bfeafc49904b496089"));  // C.3
}

TEST(AesRounds, Fips197AppendixCEveryPath) {
  ForEachPath(KernelFamily::kAesRounds, [](KernelPath) { CheckFips197(); });
}

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

std::vector<uint8_t> Reference(const std::vector<uint8_t>& in, const uint8_t* offsets,
                               const std::vector<const uint8_t*>& keys, size_t rounds) {
  std::vector<uint8_t> out(in.size());
  for (size_t b = 0; b < in.size() / 16; ++b) {
    uint8_t state[16];
    for (int i = 0; i < 16; ++i) state[i] = in[16 * b + i] ^ (offsets ? offsets[16 * b + i] : 0);
    for (size_t r = 0; r < rounds; ++r) AesRoundReference(state, keys[b] + 16 * r, state);
    std::memcpy(out.data() + 16 * b, state, 16);
  }
  return out;
}

constexpr size_t kBlocks[] = {0,  1,  2,  3,  4,  5,  7,  8,  9,  15, 16,
                              17, 20, 21, 24, 27, 28, 31, 32, 33, 64, 100};
constexpr size_t kRounds[] = {0, 1, 4, 10, 16};

void CheckShared(KernelPath path) {
  std::mt19937_64 rng(8);
  for (size_t blocks : kBlocks) {
    for (size_t rounds : kRounds) {
      const size_t misalign = blocks % 3;
      auto storage = RandomBytes(rng, 16 * blocks + misalign);
      std::vector<uint8_t> in(storage.begin() + misalign, storage.end());
      auto offsets = RandomBytes(rng, 16 * blocks);
      auto keys = RandomBytes(rng, 16 * rounds + 1);
      std::vector<const uint8_t*> per_block(blocks, keys.data() + 1);
      const std::span<const uint8_t> round_keys(keys.data() + 1, 16 * rounds);

      std::vector<uint8_t> out(16 * blocks + 1);
      ASSERT_TRUE(AesRoundsWithPath(path, std::span(storage).subspan(misalign), offsets, round_keys,
                                    std::span(out).subspan(1)));
      ASSERT_EQ(std::vector<uint8_t>(out.begin() + 1, out.end()),
                Reference(in, offsets.data(), per_block, rounds))
          << blocks << " blocks, " << rounds << " rounds";

      auto inplace = in;  // in place, no offsets
      ASSERT_TRUE(AesRoundsWithPath(path, inplace, {}, round_keys, inplace));
      ASSERT_EQ(inplace, Reference(in, nullptr, per_block, rounds));
    }
  }
}

void CheckPerBlockKeys() {
  std::mt19937_64 rng(9);
  for (size_t blocks : kBlocks) {
    for (size_t rounds : {1, 4, 10}) {
      auto in = RandomBytes(rng, 16 * blocks);
      auto offsets = RandomBytes(rng, 16 * blocks);
      std::vector<std::vector<uint8_t>> schedules;
      std::vector<const uint8_t*> keys;
      for (size_t b = 0; b < blocks; ++b) schedules.push_back(RandomBytes(rng, 16 * rounds));
      for (auto& s : schedules) keys.push_back(s.data());
      std::vector<uint8_t> out(16 * blocks);
      ASSERT_TRUE(AesRoundsPerBlockKeys(in, offsets, keys, rounds, out));
      ASSERT_EQ(out, Reference(in, offsets.data(), keys, rounds)) << blocks << " blocks";
    }
  }
}

TEST(AesRounds, SharedKeysMatchReferenceEveryPath) {
  ForEachPath(KernelFamily::kAesRounds, [](KernelPath path) { CheckShared(path); });
}
TEST(AesRounds, AutoPathMatchesReference) { CheckShared(ActivePath(KernelFamily::kAesRounds)); }
TEST(AesRounds, WideVaesPathsRunWhereTheCpuHasThem) {
  for (RawKernel raw : {RawKernel::kVaes256, RawKernel::kVaes512}) {
    EXPECT_EQ(PathRunnable(KernelFamily::kAesRounds, KernelPath::Raw(raw)), RawKernelUsable(raw));
  }
}
TEST(AesRounds, PathsThisCpuCannotRunAreRefused) {
  const auto absent = UnrunnableRawPaths({RawKernel::kVaes256, RawKernel::kVaes512});
  if (absent.empty()) GTEST_SKIP() << "this CPU runs every VAES path";
  for (KernelPath path : absent) {
    std::vector<uint8_t> in(32), out(32, 7), keys(16);
    EXPECT_FALSE(AesRoundsWithPath(path, in, {}, keys, out)) << path.Name();
    EXPECT_EQ(out, std::vector<uint8_t>(32, 7));
  }
}
TEST(AesRounds, PathsOfOtherFamiliesAreRefused) {
  std::vector<uint8_t> in(32), out(32, 7), keys(16);
  EXPECT_FALSE(AesRoundsWithPath(KernelPath::Raw(RawKernel::kGfni256), in, {}, keys, out));
  EXPECT_FALSE(AesRoundsWithPath(KernelPath(), in, {}, keys, out));
  EXPECT_EQ(out, std::vector<uint8_t>(32, 7));
}
TEST(AesRounds, PerBlockKeysMatchReferenceEveryTarget) { ForEachTarget(CheckPerBlockKeys); }

TEST(AesRounds, RejectsBadLengths) {
  std::vector<uint8_t> in(32), out(32), odd(31), keys(16 * 17);
  EXPECT_FALSE(AesRounds(odd, {}, std::span(keys).first(16), odd));
  EXPECT_FALSE(AesRounds(in, {}, std::span(keys).first(16), std::span(out).first(16)));
  EXPECT_FALSE(AesRounds(in, std::span(out).first(16), std::span(keys).first(16), out));
  EXPECT_FALSE(AesRounds(in, {}, std::span(keys).first(15), out));
  EXPECT_FALSE(AesRounds(in, {}, keys, out));  // 17 rounds > kMaxAesRounds
  const uint8_t* one_key[1] = {keys.data()};
  EXPECT_FALSE(AesRoundsPerBlockKeys(in, {}, one_key, 1, out));  // 2 blocks, 1 schedule
}

}  // namespace
}  // namespace relaycell::kernels
