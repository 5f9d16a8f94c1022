// Every AEZ-core and AEZ-hash path this CPU can run (raw VAES at 256 and 512 bits, every
// Highway target) must agree byte for byte with the others and with the known answers. The
// calibration picks one path per machine; without this test the others would go untested.
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "engine/aez/aez.h"
#include "engine/aez/aez_reference.h"
#include "engine/suite/aes256_chain.h"
#include "kernels/aez_core_rounds.h"
#include "tests/aez_test_util.h"
#include "tests/kernel_test_util.h"

namespace relaycell {
namespace {

using aez_test::RandomBytes;
using aez_test::TestKey;
using kernels::AezCoreJob;
using kernels::ForEachPath;
using kernels::KernelFamily;
using kernels::KernelPath;
using kernels::RawKernel;

// The path others are held against: Highway's SSE4 target (AES-NI one block at a time), which
// shares no code with the wide paths.
KernelPath Baseline() { return KernelPath::Highway(HWY_SSE4); }

TEST(AezCorePaths, EveryLengthAgreesBothDirections) {
  std::mt19937_64 rng(261);
  TestKey key(rng);
  ForEachPath(KernelFamily::kAezCore, [&](KernelPath path) {
    for (size_t length = 32; length <= 1100; ++length) {
      const auto delta = RandomBytes(rng, 16);
      const auto message = RandomBytes(rng, length);
      for (bool decipher : {false, true}) {
        std::vector<uint8_t> want(length), got(length), inplace = message;
        const AezCoreJob w{&key.key.blocks(), delta.data(), message.data(), want.data(), length};
        const AezCoreJob g{&key.key.blocks(), delta.data(), message.data(), got.data(), length};
        const AezCoreJob i{&key.key.blocks(), delta.data(), inplace.data(), inplace.data(), length};
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(Baseline(), {&w, 1}, decipher));
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, {&g, 1}, decipher));
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, {&i, 1}, decipher));
        ASSERT_EQ(got, want) << "length " << length << (decipher ? " decipher" : " encipher");
        ASSERT_EQ(inplace, want) << "in place, length " << length;
      }
    }
  });
}

TEST(AezCorePaths, MixedBatchesAgreeInPlace) {
  std::mt19937_64 rng(262);
  std::vector<std::unique_ptr<TestKey>> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(std::make_unique<TestKey>(rng));
  ForEachPath(KernelFamily::kAezCore, [&](KernelPath path) {
    for (int round = 0; round < 40; ++round) {
      const size_t count = 1 + rng() % 21;
      std::vector<std::vector<uint8_t>> deltas, want, got;
      for (size_t m = 0; m < count; ++m) {
        deltas.push_back(RandomBytes(rng, 16));
        want.push_back(RandomBytes(rng, rng() % 3 == 0 ? 509 : 32 + rng() % 1000));
        got.push_back(want.back());
      }
      std::vector<AezCoreJob> w_jobs, g_jobs;
      for (size_t m = 0; m < count; ++m) {
        const auto* key = &keys[m % keys.size()]->key.blocks();
        w_jobs.push_back({key, deltas[m].data(), want[m].data(), want[m].data(), want[m].size()});
        g_jobs.push_back({key, deltas[m].data(), got[m].data(), got[m].data(), got[m].size()});
      }
      const bool decipher = round % 2 == 1;
      ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(Baseline(), w_jobs, decipher));
      ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, g_jobs, decipher));
      for (size_t m = 0; m < count; ++m)
        ASSERT_EQ(got[m], want[m]) << "round " << round << " job " << m;
    }
  });
}

// Long messages: the 512-bit path records the I powers of groups past the key's own in pass 1
// and reads them back in pass 2, up to 64 groups (16 KiB), and doubles again past that. These
// lengths end inside, at and past the record, one at a time and in batches (two messages'
// records in flight at once), out of place and in place.
TEST(AezCorePaths, LongMessagesAgreeAcrossTheRecordedPowers) {
  std::mt19937_64 rng(265);
  std::vector<std::unique_ptr<TestKey>> keys;
  for (int k = 0; k < 3; ++k) keys.push_back(std::make_unique<TestKey>(rng));
  const size_t lengths[] = {1056,  2048,  4096,  4097,  8209,  16383, 16384,
                            16416, 16417, 16448, 16672, 16800, 20000, 33000};
  ForEachPath(KernelFamily::kAezCore, [&](KernelPath path) {
    for (size_t length : lengths) {
      const auto delta = RandomBytes(rng, 16);
      const auto message = RandomBytes(rng, length);
      for (bool decipher : {false, true}) {
        std::vector<uint8_t> want(length), got(length), inplace = message;
        const auto* key = &keys[length % keys.size()]->key.blocks();
        const AezCoreJob w{key, delta.data(), message.data(), want.data(), length};
        const AezCoreJob g{key, delta.data(), message.data(), got.data(), length};
        const AezCoreJob i{key, delta.data(), inplace.data(), inplace.data(), length};
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(Baseline(), {&w, 1}, decipher));
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, {&g, 1}, decipher));
        ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, {&i, 1}, decipher));
        ASSERT_EQ(got, want) << "length " << length << (decipher ? " decipher" : " encipher");
        ASSERT_EQ(inplace, want) << "in place, length " << length;
      }
    }
    // A batch of long and short messages under different keys, in place.
    std::vector<std::vector<uint8_t>> deltas, want, got;
    for (size_t m = 0; m < 7; ++m) {
      deltas.push_back(RandomBytes(rng, 16));
      want.push_back(RandomBytes(rng, m % 2 == 0 ? lengths[(5 * m) % std::size(lengths)] : 509));
      got.push_back(want.back());
    }
    std::vector<AezCoreJob> w_jobs, g_jobs;
    for (size_t m = 0; m < want.size(); ++m) {
      const auto* key = &keys[m % keys.size()]->key.blocks();
      w_jobs.push_back({key, deltas[m].data(), want[m].data(), want[m].data(), want[m].size()});
      g_jobs.push_back({key, deltas[m].data(), got[m].data(), got[m].data(), got[m].size()});
    }
    ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(Baseline(), w_jobs, false));
    ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, g_jobs, false));
    for (size_t m = 0; m < want.size(); ++m) ASSERT_EQ(got[m], want[m]) << "batch job " << m;
  });
}

TEST(AezCorePaths, HashStringsAgree) {
  std::mt19937_64 rng(263);
  ForEachPath(KernelFamily::kAezHash, [&](KernelPath path) {
    for (int round = 0; round < 300; ++round) {
      TestKey key(rng);
      const size_t count = 1 + rng() % 4;
      std::vector<std::vector<uint8_t>> strings;
      for (size_t s = 0; s < count; ++s) strings.push_back(RandomBytes(rng, rng() % 200));
      std::vector<std::span<const uint8_t>> views(strings.begin(), strings.end());
      uint8_t want[16] = {}, got[16] = {};
      ASSERT_TRUE(kernels::AezHashStringsWithPath(Baseline(), key.key.blocks(), 4, views, want));
      ASSERT_TRUE(kernels::AezHashStringsWithPath(path, key.key.blocks(), 4, views, got));
      ASSERT_EQ(std::vector<uint8_t>(want, want + 16), std::vector<uint8_t>(got, got + 16));
    }
  });
}

// The relay cell's four hash blocks (nonce, a1, a2) on every hash path equal the general
// string hash of the baseline path, over random keys and inputs, starting from a nonzero sum.
TEST(AezCorePaths, CellHashTermsAgreeWithStringHash) {
  std::mt19937_64 rng(265);
  ForEachPath(KernelFamily::kAezHash, [&](KernelPath path) {
    for (int round = 0; round < 300; ++round) {
      TestKey key(rng);
      const auto nonce = RandomBytes(rng, kernels::kAezCellNonceLength);
      const auto a1 = RandomBytes(rng, 32), a2 = RandomBytes(rng, 16), start = RandomBytes(rng, 16);
      uint8_t nonce_block[16] = {};
      std::copy(nonce.begin(), nonce.end(), nonce_block);
      nonce_block[kernels::kAezCellNonceLength] = 0x80;
      const std::span<const uint8_t> views[3] = {nonce, a1, a2};
      uint8_t want[16], got[16];
      std::copy(start.begin(), start.end(), want);
      std::copy(start.begin(), start.end(), got);
      ASSERT_TRUE(kernels::AezHashStringsWithPath(Baseline(), key.key.blocks(), 4, views, want));
      ASSERT_TRUE(kernels::AezCellHashTermsWithPath(path, key.key.blocks(), nonce_block, a1.data(),
                                                    a2.data(), got));
      ASSERT_EQ(std::vector<uint8_t>(want, want + 16), std::vector<uint8_t>(got, got + 16));
    }
  });
}

// Batches of 1 to 20 cells under five keys (the raw paths' groups of 4 and 8, and what is left
// over) against the string hash one cell at a time.
TEST(AezCorePaths, CellHashTermsBatchesAgreeWithOneAtATime) {
  std::mt19937_64 rng(266);
  std::vector<std::unique_ptr<TestKey>> keys;
  for (int k = 0; k < 5; ++k) keys.push_back(std::make_unique<TestKey>(rng));
  ForEachPath(KernelFamily::kAezHash, [&](KernelPath path) {
    for (size_t count = 1; count <= 20; ++count) {
      std::vector<std::vector<uint8_t>> nonce_blocks, a1s, a2s, want, got;
      for (size_t c = 0; c < count; ++c) {
        nonce_blocks.push_back(RandomBytes(rng, 16));
        nonce_blocks.back()[kernels::kAezCellNonceLength] = 0x80;
        std::fill(nonce_blocks.back().begin() + kernels::kAezCellNonceLength + 1,
                  nonce_blocks.back().end(), 0);
        a1s.push_back(RandomBytes(rng, 32));
        a2s.push_back(RandomBytes(rng, 16));
        want.push_back(RandomBytes(rng, 16));
        got.push_back(want.back());
      }
      std::vector<kernels::AezCellHashJob> jobs;
      for (size_t c = 0; c < count; ++c) {
        const auto& key = keys[(c * 3) % keys.size()]->key.blocks();
        const std::span<const uint8_t> views[3] = {
            std::span<const uint8_t>(nonce_blocks[c]).first(kernels::kAezCellNonceLength), a1s[c],
            a2s[c]};
        ASSERT_TRUE(kernels::AezHashStringsWithPath(Baseline(), key, 4, views, want[c].data()));
        jobs.push_back({&key, nonce_blocks[c].data(), a1s[c].data(), a2s[c].data(), got[c].data()});
      }
      ASSERT_TRUE(kernels::AezCellHashTermsBatchWithPath(path, jobs));
      for (size_t c = 0; c < count; ++c) ASSERT_EQ(got[c], want[c]) << count << " jobs, job " << c;
    }
  });
}

// One AES-256 block through OpenSSL, for the chain step's expected value.
std::vector<uint8_t> OpensslAes256(std::span<const uint8_t> key, std::span<const uint8_t> block) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  std::vector<uint8_t> out(32);
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, key.data(), nullptr), 1);
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  EXPECT_EQ(EVP_EncryptUpdate(ctx.get(), out.data(), &len, block.data(), 16), 1);
  out.resize(16);
  return out;
}

// A cell with Δ computed inside the kernel, on every (core path, hash path) pair this CPU runs,
// equals the baseline hash into Δ and then the baseline core, in place and not, both ways; the
// chain step inside the call equals OpenSSL's AES-256 of the chain XORed with it, and the hash
// read the chain before its step (a2 is the chain, as the aez layer passes it).
TEST(AezCorePaths, CellRoundsWithDeltaInsideAgree) {
  std::mt19937_64 rng(266);
  const std::vector<KernelPath> core_paths = kernels::RunnablePaths(KernelFamily::kAezCore);
  const std::vector<KernelPath> hash_paths = kernels::RunnablePaths(KernelFamily::kAezHash);
  for (KernelPath core_path : core_paths) {
    if (core_path == KernelPath::Highway(HWY_SCALAR)) continue;  // slow, and covered above
    for (KernelPath hash_path : hash_paths) {
      if (hash_path == KernelPath::Highway(HWY_SCALAR)) continue;
      SCOPED_TRACE(core_path.Name() + " / " + hash_path.Name());
      for (size_t length : {size_t{32}, size_t{33}, size_t{100}, size_t{509}, size_t{1100}}) {
        TestKey key(rng);
        const auto tau0 = RandomBytes(rng, 16), a1 = RandomBytes(rng, 32);
        const auto chain_start = RandomBytes(rng, 16), chain_key = RandomBytes(rng, 32);
        const Aes256Chain chain_cipher(std::span<const uint8_t, 32>(chain_key.data(), 32));
        std::vector<uint8_t> want_chain = OpensslAes256(chain_key, chain_start);
        for (size_t i = 0; i < 16; ++i) want_chain[i] ^= chain_start[i];
        auto nonce_block = RandomBytes(rng, 16);
        nonce_block[kernels::kAezCellNonceLength] = 0x80;
        std::fill(nonce_block.begin() + kernels::kAezCellNonceLength + 1, nonce_block.end(), 0);
        const auto message = RandomBytes(rng, length);
        for (bool decipher : {false, true}) {
          uint8_t delta[16];
          std::copy(tau0.begin(), tau0.end(), delta);
          ASSERT_TRUE(kernels::AezCellHashTermsWithPath(Baseline(), key.key.blocks(),
                                                        nonce_block.data(), a1.data(),
                                                        chain_start.data(), delta));
          std::vector<uint8_t> want(length), got(length), inplace = message;
          const AezCoreJob w{&key.key.blocks(), delta, message.data(), want.data(), length};
          ASSERT_TRUE(kernels::AezCoreRoundsBatchWithPath(Baseline(), {&w, 1}, decipher));
          // Without a chain step, out of place.
          const kernels::AezCellJob plain{tau0.data(), nonce_block.data(), a1.data(),
                                          chain_start.data()};
          ASSERT_TRUE(kernels::AezCoreCellRoundsWithPath(core_path, hash_path, key.key.blocks(),
                                                         plain, message.data(), got.data(), length,
                                                         decipher));
          ASSERT_EQ(got, want) << "length " << length;
          // With the chain step, in place, a2 being the chain stepped.
          std::vector<uint8_t> chain = chain_start;
          const kernels::AezCellJob stepped{tau0.data(),
                                            nonce_block.data(),
                                            a1.data(),
                                            chain.data(),
                                            chain_cipher.round_keys().data(),
                                            chain.data()};
          ASSERT_TRUE(kernels::AezCoreCellRoundsWithPath(core_path, hash_path, key.key.blocks(),
                                                         stepped, inplace.data(), inplace.data(),
                                                         length, decipher));
          ASSERT_EQ(inplace, want) << "in place, length " << length;
          ASSERT_EQ(chain, want_chain) << "chain step, length " << length;
        }
      }
    }
  }
  const uint8_t zero[32] = {};
  TestKey key(rng);
  uint8_t buffer[64] = {};
  const kernels::AezCellJob no_keys{zero, zero, zero, zero, nullptr, buffer};
  EXPECT_FALSE(kernels::AezCoreCellRoundsWithPath(Baseline(), Baseline(), key.key.blocks(), no_keys,
                                                  buffer, buffer, sizeof buffer, false))
      << "a chain without its round keys is refused";
  const kernels::AezCellJob plain{zero, zero, zero, zero};
  EXPECT_FALSE(kernels::AezCoreCellRoundsWithPath(Baseline(), Baseline(), key.key.blocks(), plain,
                                                  buffer, buffer, 31, false))
      << "fewer than 32 bytes is AEZ-tiny's, refused here";
}

// The whole cipher through the engine's entry points, on each core path and each hash path,
// against the scalar reference and the published vectors.
TEST(AezEveryPath, EncipherMatchesReferenceEveryLength) {
  std::mt19937_64 rng(264);
  TestKey key(rng);
  for (KernelFamily family : {KernelFamily::kAezCore, KernelFamily::kAezHash}) {
    ForEachPath(family, [&](KernelPath) {
      for (size_t n = 0; n <= 600; n += 1 + n / 64) {
        const auto delta = RandomBytes(rng, 16);
        const auto x = RandomBytes(rng, n);
        std::vector<uint8_t> c(n);
        ASSERT_TRUE(AezEncipher(key.key, std::span<const uint8_t, 16>(delta.data(), 16), x, c));
        ASSERT_EQ(c, aez_reference::Encipher(key.raw(), delta.data(), x)) << "n = " << n;
      }
    });
  }
}

TEST(AezEveryPath, PublishedEncryptVectors) {
  std::ifstream in(std::string(RELAYCELL_VECTORS) + "/aez/encrypt.json");
  ASSERT_TRUE(in) << "missing tests/vectors/aez/encrypt.json";
  const auto doc = nlohmann::json::parse(in);
  auto hex = [](const std::string& s) { return kernels::Hex(s); };
  for (KernelFamily family : {KernelFamily::kAezCore, KernelFamily::kAezHash}) {
    ForEachPath(family, [&](KernelPath) {
      size_t checked = 0;
      for (const auto& e : doc) {
        const auto k = hex(e["k"]);
        uint8_t extracted[48];
        AezExtract(k, extracted);
        AezKey key;
        key.Init(std::span<const uint8_t, 48>(extracted, 48));
        const auto nonce = hex(e["nonce"]), m = hex(e["m"]), want = hex(e["c"]);
        std::vector<std::vector<uint8_t>> ad;
        for (const auto& a : e["data"]) ad.push_back(hex(a));
        const std::vector<std::span<const uint8_t>> spans(ad.begin(), ad.end());
        const size_t tau = e["tau"];
        std::vector<uint8_t> c(m.size() + tau);
        ASSERT_TRUE(AezEncrypt(key, nonce, spans, tau, m, c));
        ASSERT_EQ(c, want) << "|m| = " << m.size() << " tau = " << tau;
        ++checked;
      }
      EXPECT_GE(checked, 500u);
    });
  }
}

// Found by fuzz_aez_roundtrip: a batch whose messages are all short (AEZ-tiny) hands the core
// an empty job list, which must do nothing on every path (not read jobs[0]).
TEST(AezCoreEmptyBatch, DoesNothingOnEveryPath) {
  ForEachPath(KernelFamily::kAezCore, [](KernelPath path) {
    EXPECT_TRUE(kernels::AezCoreRoundsBatchWithPath(path, {}, false));
  });
  EXPECT_TRUE(kernels::AezCoreRoundsBatch({}, true));
  AezEncipherBatch({});
  AezDecipherBatch({});
}

TEST(AezCorePathsAvailability, PathsThisCpuCannotRunAreRefused) {
  const auto absent = kernels::UnrunnableRawPaths({RawKernel::kVaes256, RawKernel::kVaes512});
  if (absent.empty()) GTEST_SKIP() << "this CPU runs every VAES path";
  uint8_t buffer[64] = {}, delta[16] = {};
  AezKey key;
  const AezCoreJob job{&key.blocks(), delta, buffer, buffer, sizeof buffer};
  for (KernelPath path : absent) {
    EXPECT_FALSE(kernels::AezCoreRoundsBatchWithPath(path, {&job, 1}, false)) << path.Name();
    uint8_t sum[16] = {};
    EXPECT_FALSE(kernels::AezHashStringsWithPath(path, key.blocks(), 4, {}, sum)) << path.Name();
  }
}

TEST(AezCorePathsAvailability, PathsOfOtherFamiliesAreRefused) {
  uint8_t buffer[64] = {}, delta[16] = {};
  AezKey key;
  const AezCoreJob job{&key.blocks(), delta, buffer, buffer, sizeof buffer};
  EXPECT_FALSE(
      kernels::AezCoreRoundsBatchWithPath(KernelPath::Raw(RawKernel::kGfni512), {&job, 1}, false));
  EXPECT_FALSE(kernels::AezCoreRoundsBatchWithPath(KernelPath(), {&job, 1}, false));
}

}  // namespace
}  // namespace relaycell
