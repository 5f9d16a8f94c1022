// AEZ fast path: round trips at every length, agreement with the reference, the tag check,
// the batch API and the key's life cycle.
#include <sodium.h>

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/aez/aez.h"
#include "engine/aez/aez_reference.h"
#include "engine/common/key_arena.h"
#include "kernels/path_choice.h"
#include "tests/aez_test_util.h"

namespace relaycell {
namespace {

using aez_test::RandomBytes;
using aez_test::TestKey;

TEST(AezRoundTrip, EveryLengthTo1100SeveralKeysAndDeltas) {
  std::mt19937_64 rng(1);
  for (int k = 0; k < 3; ++k) {
    TestKey key(rng);
    for (size_t n = 0; n <= 1100; ++n) {
      const auto delta = RandomBytes(rng, 16);
      const auto x = RandomBytes(rng, n);
      std::vector<uint8_t> c(n), back(n);
      const std::span<const uint8_t, 16> d(delta.data(), 16);
      ASSERT_TRUE(AezEncipher(key.key, d, x, c));
      ASSERT_TRUE(AezDecipher(key.key, d, c, back));
      ASSERT_EQ(back, x) << "n = " << n;
      if (n >= 2) {
        ASSERT_NE(c, x) << "n = " << n;
      }
      // In place gives the same bytes.
      std::vector<uint8_t> inplace = x;
      ASSERT_TRUE(AezEncipher(key.key, d, inplace, inplace));
      ASSERT_EQ(inplace, c);
    }
  }
}

TEST(AezRoundTrip, FastMatchesReferenceEveryLength) {
  std::mt19937_64 rng(2);
  TestKey key(rng);
  // Every length, through I doublings beyond the precomputed powers (pairs > 24).
  for (size_t n = 0; n <= 1100; ++n) {
    const auto delta = RandomBytes(rng, 16);
    const auto x = RandomBytes(rng, n);
    std::vector<uint8_t> c(n);
    ASSERT_TRUE(AezEncipher(key.key, std::span<const uint8_t, 16>(delta.data(), 16), x, c));
    ASSERT_EQ(c, aez_reference::Encipher(key.raw(), delta.data(), x)) << "n = " << n;
    ASSERT_EQ(aez_reference::Decipher(key.raw(), delta.data(), c), x) << "n = " << n;
  }
}

TEST(AezRoundTrip, EncryptDecryptWithAdVectorsMatchesReference) {
  std::mt19937_64 rng(3);
  TestKey key(rng);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t tau = rng() % 3 == 0 ? 0 : rng() % 40;
    const auto nonce = RandomBytes(rng, rng() % 40);
    std::vector<std::vector<uint8_t>> ad(rng() % 12);  // up to j = 15: beyond the J table
    for (auto& a : ad) a = RandomBytes(rng, rng() % 50);
    const std::vector<std::span<const uint8_t>> spans(ad.begin(), ad.end());
    const auto m = RandomBytes(rng, rng() % 120);
    std::vector<uint8_t> c(m.size() + tau), back(m.size());
    ASSERT_TRUE(AezEncrypt(key.key, nonce, spans, tau, m, c));
    ASSERT_EQ(c, aez_reference::Encrypt(key.raw(), nonce, spans, tau, m));
    ASSERT_TRUE(AezDecrypt(key.key, nonce, spans, tau, c, back));
    ASSERT_EQ(back, m);
  }
}

TEST(AezRoundTrip, Tau16RejectsEverySingleBitFlipAndZeroesOutput) {
  std::mt19937_64 rng(4);
  TestKey key(rng);
  const auto nonce = RandomBytes(rng, 12);
  const auto a1 = RandomBytes(rng, 32);
  const std::span<const uint8_t> ad[] = {a1};
  for (size_t len : {0u, 1u, 15u, 16u, 17u, 31u, 64u, 509u}) {
    const auto m = RandomBytes(rng, len);
    std::vector<uint8_t> c(len + 16);
    ASSERT_TRUE(AezEncrypt(key.key, nonce, ad, 16, m, c));
    for (size_t bit = 0; bit < 8 * c.size(); ++bit) {
      auto bad = c;
      bad[bit / 8] ^= uint8_t(1 << (bit % 8));
      std::vector<uint8_t> out(len, 0xAA);
      ASSERT_FALSE(AezDecrypt(key.key, nonce, ad, 16, bad, out)) << "len " << len << " bit " << bit;
      ASSERT_EQ(out, std::vector<uint8_t>(len, 0)) << "len " << len << " bit " << bit;
    }
  }
}

TEST(AezRoundTrip, LengthMismatchesFail) {
  std::mt19937_64 rng(5);
  TestKey key(rng);
  uint8_t delta[16] = {};
  std::vector<uint8_t> in(40), out(41);
  EXPECT_FALSE(AezEncipher(key.key, delta, in, out));
  EXPECT_FALSE(AezDecipher(key.key, delta, in, out));
  std::vector<uint8_t> c(10), m(11, 0x55);
  EXPECT_FALSE(AezDecrypt(key.key, {}, {}, 16, c, m));  // |c| < tau
  EXPECT_EQ(m, std::vector<uint8_t>(11, 0));
  std::vector<uint8_t> three(3), six(6);
  EXPECT_FALSE(AezEncrypt(key.key, {}, {}, 4, three, six));
}

TEST(AezRoundTrip, CellHashMatchesReference) {
  std::mt19937_64 rng(6);
  TestKey key(rng);
  const auto nonce = RandomBytes(rng, 10);
  const auto a1 = RandomBytes(rng, 32), a2 = RandomBytes(rng, 16);
  const std::span<const uint8_t> ad[] = {a1, a2};
  const std::span<const uint8_t> strings[] = {nonce, a1, a2};
  uint8_t fast[16], slow[16];
  AezHash(key.key, 0, nonce, ad, fast);
  aez_reference::Hash(key.raw(), 0, strings, slow);
  EXPECT_EQ(0, std::memcmp(fast, slow, 16));
}

// The cell layer's fixed-shape hash must be AEZ-hash itself, on every AEZ-hash path.
TEST(AezRoundTrip, CellHashShapeMatchesGeneralHashAndReference) {
  std::mt19937_64 rng(61);
  for (kernels::KernelPath path : kernels::RunnablePaths(kernels::KernelFamily::kAezHash)) {
    kernels::ScopedPathOverride force(kernels::KernelFamily::kAezHash, path);
    for (int trial = 0; trial < 50; ++trial) {
      TestKey key(rng);
      const auto nonce = RandomBytes(rng, 10), a1 = RandomBytes(rng, 32), a2 = RandomBytes(rng, 16);
      const std::span<const uint8_t> ad[] = {a1, a2};
      const std::span<const uint8_t> strings[] = {nonce, a1, a2};
      uint8_t cell[16], general[16], reference[16];
      AezCellHash(key.key, std::span<const uint8_t, 10>(nonce.data(), 10),
                  std::span<const uint8_t, 32>(a1.data(), 32),
                  std::span<const uint8_t, 16>(a2.data(), 16), cell);
      AezHash(key.key, 0, nonce, ad, general);
      aez_reference::Hash(key.raw(), 0, strings, reference);
      ASSERT_EQ(0, std::memcmp(cell, general, 16)) << path.Name();
      ASSERT_EQ(0, std::memcmp(cell, reference, 16)) << path.Name();
    }
  }
}

TEST(AezBatch, MatchesSingleAndReferenceOnMixedBatches) {
  std::mt19937_64 rng(7);
  std::vector<std::unique_ptr<TestKey>> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(std::make_unique<TestKey>(rng));
  for (int trial = 0; trial < 20; ++trial) {
    const size_t count = 1 + rng() % 70;  // crosses the kernel's group and chunk sizes
    std::vector<std::vector<uint8_t>> in(count), deltas(count), single(count), batched(count);
    std::vector<AezBatchJob> jobs(count);
    for (size_t i = 0; i < count; ++i) {
      const size_t n = rng() % 4 == 0 ? 509 : rng() % 1100;
      in[i] = RandomBytes(rng, n);
      deltas[i] = RandomBytes(rng, 16);
      single[i].resize(n);
      batched[i] = in[i];  // in place for half of them
      const TestKey& key = *keys[rng() % keys.size()];
      jobs[i] = {&key.key, deltas[i].data(), i % 2 ? in[i].data() : batched[i].data(),
                 batched[i].data(), n};
      ASSERT_TRUE(AezEncipher(key.key, std::span<const uint8_t, 16>(deltas[i].data(), 16), in[i],
                              single[i]));
      if (trial < 3) {
        ASSERT_EQ(single[i], aez_reference::Encipher(key.raw(), deltas[i].data(), in[i]));
      }
    }
    AezEncipherBatch(jobs);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(batched[i], single[i]) << "job " << i;
    for (size_t i = 0; i < count; ++i) jobs[i].in = batched[i].data();
    AezDecipherBatch(jobs);
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(batched[i], in[i]) << "job " << i;
  }
}

TEST(AezKeyLife, LivesInKeyArenaAndIsWiped) {
  std::mt19937_64 rng(8);
  const auto raw = RandomBytes(rng, 48);
  KeyArena arena(sizeof(AezKey), 4);
  auto box = MakeInArena<AezKey>(arena, std::span<const uint8_t, 48>(raw.data(), 48));
  ASSERT_TRUE(box);
  AezKey reference_key(std::span<const uint8_t, 48>(raw.data(), 48));
  EXPECT_EQ(0, std::memcmp(&box->blocks(), &reference_key.blocks(), sizeof(kernels::AezKeyBlocks)));
  EXPECT_LE(sizeof(AezKey), 384u) << "AezKey grew";
  // The destructor wipes: destroy in place and look at the bytes.
  alignas(AezKey) unsigned char storage[sizeof(AezKey)];
  auto* k = new (storage) AezKey(std::span<const uint8_t, 48>(raw.data(), 48));
  k->~AezKey();
  for (unsigned char b : storage) ASSERT_EQ(b, 0);
}

}  // namespace
}  // namespace relaycell
