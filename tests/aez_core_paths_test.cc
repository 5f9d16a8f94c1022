// The two AEZ-core implementations must agree byte for byte: the raw VAES-256 kernel that this
// CPU runs by default, and the Highway kernel that runs everywhere else. Without this test the
// Highway path would go untested on VAES machines.
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "engine/aez.h"
#include "kernels/aes_rounds.h"
#include "kernels/aez_core_rounds.h"

namespace relaycell {
namespace {

using kernels::AezCoreJob;
using kernels::AezCorePath;

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = uint8_t(rng());
  return out;
}

std::unique_ptr<AezKey> RandomKey(std::mt19937_64& rng) {
  const auto raw = RandomBytes(rng, kAezKeyBytes);
  return std::make_unique<AezKey>(std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes));
}

class AezCorePaths : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kernels::Vaes256Available()) GTEST_SKIP() << "no VAES on this CPU: one path only";
  }
};

TEST_F(AezCorePaths, EveryLengthAgreesBothDirections) {
  std::mt19937_64 rng(261);
  for (int k = 0; k < 2; ++k) {
    const auto key = RandomKey(rng);
    for (size_t length = 32; length <= 1100; ++length) {
      const auto delta = RandomBytes(rng, 16);
      const auto message = RandomBytes(rng, length);
      for (bool decipher : {false, true}) {
        std::vector<uint8_t> highway(length), vaes(length);
        const AezCoreJob h{&key->blocks(), delta.data(), message.data(), highway.data(), length};
        const AezCoreJob v{&key->blocks(), delta.data(), message.data(), vaes.data(), length};
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kHighway, {&h, 1}, decipher));
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kVaes256, {&v, 1}, decipher));
        ASSERT_EQ(highway, vaes) << "length " << length << (decipher ? " decipher" : " encipher");
      }
    }
  }
}

TEST_F(AezCorePaths, MixedBatchesAgreeInPlace) {
  std::mt19937_64 rng(262);
  std::vector<std::unique_ptr<AezKey>> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(RandomKey(rng));
  for (int round = 0; round < 40; ++round) {
    const size_t count = 1 + rng() % 21;
    std::vector<std::vector<uint8_t>> deltas, highway, vaes;
    for (size_t m = 0; m < count; ++m) {
      deltas.push_back(RandomBytes(rng, 16));
      highway.push_back(RandomBytes(rng, rng() % 3 == 0 ? 509 : 32 + rng() % 1000));
      vaes.push_back(highway.back());
    }
    std::vector<AezCoreJob> h_jobs, v_jobs;
    for (size_t m = 0; m < count; ++m) {
      const auto* key = &keys[m % keys.size()]->blocks();
      h_jobs.push_back({key, deltas[m].data(), highway[m].data(), highway[m].data(), highway[m].size()});
      v_jobs.push_back({key, deltas[m].data(), vaes[m].data(), vaes[m].data(), vaes[m].size()});
    }
    const bool decipher = round % 2 == 1;
    ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kHighway, h_jobs, decipher));
    ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kVaes256, v_jobs, decipher));
    for (size_t m = 0; m < count; ++m) ASSERT_EQ(highway[m], vaes[m]) << "round " << round << " job " << m;
  }
}

TEST_F(AezCorePaths, HashStringsAgree) {
  std::mt19937_64 rng(263);
  for (int round = 0; round < 500; ++round) {
    const auto key = RandomKey(rng);
    const size_t count = 1 + rng() % 4;
    std::vector<std::vector<uint8_t>> strings;
    for (size_t s = 0; s < count; ++s) strings.push_back(RandomBytes(rng, rng() % 80));
    std::vector<std::span<const uint8_t>> views(strings.begin(), strings.end());
    uint8_t highway[16] = {}, vaes[16] = {};
    ASSERT_TRUE(kernels::AezHashStringsWithPath(AezCorePath::kHighway, key->blocks(), 4, views, highway));
    ASSERT_TRUE(kernels::AezHashStringsWithPath(AezCorePath::kVaes256, key->blocks(), 4, views, vaes));
    ASSERT_EQ(std::vector<uint8_t>(highway, highway + 16), std::vector<uint8_t>(vaes, vaes + 16));
  }
}

// Found by fuzz_aez_roundtrip: a batch whose messages are all short (AEZ-tiny) hands the core
// an empty job list, which must do nothing on every path (not read jobs[0]).
TEST(AezCoreEmptyBatch, DoesNothingOnEveryPath) {
  EXPECT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kHighway, {}, false));
  EXPECT_TRUE(kernels::AezCoreRoundsBatch({}, true));
  if (kernels::Vaes256Available()) {
    EXPECT_TRUE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kVaes256, {}, false));
  }
  AezEncipherBatch({});
  AezDecipherBatch({});
}

TEST(AezCorePathsAvailability, VaesPathRefusedWhenAbsent) {
  if (kernels::Vaes256Available()) GTEST_SKIP() << "this CPU has VAES";
  uint8_t buffer[64] = {}, delta[16] = {};
  AezKey key;
  const AezCoreJob job{&key.blocks(), delta, buffer, buffer, sizeof buffer};
  EXPECT_FALSE(kernels::AezCoreRoundsBatchWithPath(AezCorePath::kVaes256, {&job, 1}, false));
}

}  // namespace
}  // namespace relaycell
