// The constant-time check (docs/security.md): every operation on secrets, run under Valgrind's
// memcheck with the secrets marked undefined where they enter the engine
// (engine/common/ct_check.h). A branch or a memory address that depends on a secret is then a
// memcheck error, and ctest runs this program with `valgrind --error-exitcode=1`: the check
// fails. Built only with -DRELAYCELL_CT_CHECK=ON (the `ctcheck` preset).
//
// Every test runs on each Highway target Valgrind executes (AVX2, SSE4, SSSE3 and the portable
// scalar code), all six kernel families forced to it, so a leak on one target is not hidden by
// another. Valgrind 3.19 executes no AVX-512 and no VAES: the raw VAES/GFNI/VPCLMULQDQ kernels
// and Highway's AVX3 targets are outside the check (their CPUID bits are off under Valgrind, so
// they are not even runnable there); docs/security.md says why they are constant time.
//
// The test reads its results to compare them, and those reads would be memcheck errors too:
// Reveal() marks a result defined first. That is the test's own read, not a declassification
// in the engine.
#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>
#include <valgrind/valgrind.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/aez/aez.h"
#include "engine/common/ct_check.h"
#include "engine/common/kdf.h"
#include "engine/dske/amd_check.h"
#include "engine/dske/psrd.h"
#include "engine/dske/psrd_link.h"
#include "engine/dske/sss.h"
#include "engine/dske/wc_mac.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "hwy/targets.h"
#include "kernels/gf256.h"
#include "kernels/otp_xor.h"
#include "kernels/path_choice.h"
#include "kernels/polyval.h"

namespace relaycell {
namespace {

using Bytes = std::vector<uint8_t>;
using kernels::KernelFamily;
using kernels::KernelPath;
using kernels::ScopedPathOverride;

constexpr KernelFamily kFamilies[] = {KernelFamily::kAesRounds, KernelFamily::kAezCore,
                                      KernelFamily::kAezHash,   KernelFamily::kGf256,
                                      KernelFamily::kPolyval,   KernelFamily::kOtpXor};

// The test's own read of a result (see the top of the file).
void Reveal(const void* data, size_t bytes) { RELAYCELL_CT_PUBLIC(data, bytes); }
template <class Container>
void Reveal(const Container& c) {
  Reveal(c.data(), c.size() * sizeof(c[0]));
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

// Before any test: under Valgrind, and every family forced by RELAYCELL_FORCE_PATH (ctest sets
// it), so no path calibration runs in this process at all. (Calibration never sees a secret
// anyway: its workloads are fixed public constants, kernels/*.cc Measure*.)
class CtEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_TRUE(RUNNING_ON_VALGRIND)
        << "this program checks nothing unless memcheck runs it: ctest --preset ctcheck";
    ASSERT_EQ(kernels::ForcedPathError(), "");
    ASSERT_GE(sodium_init(), 0);
    std::string targets;
    for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
      targets += std::string(" ") + hwy::TargetName(target);
    }
    std::printf("ct_check: every test on the Highway targets%s\n", targets.c_str());
    for (KernelFamily family : kFamilies) {
      const kernels::FamilyChoice& choice = kernels::Choice(family);
      EXPECT_TRUE(choice.forced) << FamilyName(family) << ": set RELAYCELL_FORCE_PATH";
      EXPECT_FALSE(choice.chosen.is_raw()) << FamilyName(family);
    }
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new CtEnvironment);

// Runs body once per Highway target this process can run, with every family forced to it.
struct ForceEveryFamily {
  explicit ForceEveryFamily(KernelPath p)
      : aes(KernelFamily::kAesRounds, p),
        core(KernelFamily::kAezCore, p),
        hash(KernelFamily::kAezHash, p),
        gf(KernelFamily::kGf256, p),
        polyval(KernelFamily::kPolyval, p),
        otp(KernelFamily::kOtpXor, p) {}
  ScopedPathOverride aes, core, hash, gf, polyval, otp;
};
template <class Body>
void ForEachTarget(Body body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    const KernelPath path = KernelPath::Highway(target);
    ForceEveryFamily force(path);
    SCOPED_TRACE("path " + path.Name());
    body();
  }
}

// ---- AEZ ----------------------------------------------------------------------------------

// Every length class: empty, AEZ-tiny under and over 16 bytes, AEZ-core with no fragment, with
// fragments under and over 16 bytes, multi-block, one cell, and beyond the precomputed 2^k·I.
constexpr size_t kLengths[] = {0,  1,  2,  3,  7,  15, 16,  17,  31,
                               32, 33, 47, 48, 63, 64, 100, 509, 4096};

TEST(CtAez, EncipherDecipherEveryLengthClass) {
  ForEachTarget([] {
    std::mt19937_64 rng(1);
    const Bytes raw = RandomBytes(rng, kAezKeyBytes);
    const AezKey key(std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes));
    const Bytes nonce = RandomBytes(rng, 12), ad = RandomBytes(rng, 40);
    const std::span<const uint8_t> ad_vector[] = {ad};
    alignas(16) uint8_t delta[kAezDeltaBytes];
    AezHash(key, 0, nonce, ad_vector, delta);
    for (size_t length : kLengths) {
      SCOPED_TRACE("length " + std::to_string(length));
      const Bytes message = RandomBytes(rng, length);
      Bytes enciphered(length), deciphered(length);
      ASSERT_TRUE(AezEncipher(key, delta, message, enciphered));
      ASSERT_TRUE(AezDecipher(key, delta, enciphered, deciphered));
      Reveal(enciphered);
      Reveal(deciphered);
      EXPECT_EQ(deciphered, message);
      if (length >= 2) {
        EXPECT_NE(enciphered, message);
      }
    }
  });
}

TEST(CtAez, EncryptDecryptHashPrfAndForgery) {
  ForEachTarget([] {
    std::mt19937_64 rng(2);
    const Bytes raw = RandomBytes(rng, kAezKeyBytes);
    const AezKey key(std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes));
    const Bytes nonce = RandomBytes(rng, 12), a1 = RandomBytes(rng, 32), a2 = RandomBytes(rng, 16);
    // More AD strings than the one-call hash takes: the accumulator's path too.
    const Bytes a3 = RandomBytes(rng, 70), a4 = RandomBytes(rng, 5), a5 = RandomBytes(rng, 0);
    const std::span<const uint8_t> short_ad[] = {a1, a2};
    const std::span<const uint8_t> long_ad[] = {a1, a2, a3, a4, a5};
    for (auto ad : {std::span<const std::span<const uint8_t>>(short_ad),
                    std::span<const std::span<const uint8_t>>(long_ad)}) {
      for (size_t length : {size_t{0}, size_t{10}, size_t{100}, size_t{493}}) {
        const Bytes message = RandomBytes(rng, length);
        Bytes sealed(length + 16), opened(length);
        ASSERT_TRUE(AezEncrypt(key, nonce, ad, 16, message, sealed));
        EXPECT_TRUE(AezDecrypt(key, nonce, ad, 16, sealed, opened));
        Reveal(opened);
        EXPECT_EQ(opened, message);
        sealed[length / 2] ^= 1;  // a forgery: the verdict is public, the rest stays secret
        EXPECT_FALSE(AezDecrypt(key, nonce, ad, 16, sealed, opened));
      }
    }
    // The cell hash against the general one, and the tau != 0 hash.
    alignas(16) uint8_t cell_delta[16], general_delta[16], tau_delta[16];
    const Bytes cell_nonce = RandomBytes(rng, kAezCellNonceBytes);
    AezCellHash(key, std::span<const uint8_t, kAezCellNonceBytes>(cell_nonce.data(), 10),
                std::span<const uint8_t, 32>(a1.data(), 32),
                std::span<const uint8_t, 16>(a2.data(), 16), cell_delta);
    AezHash(key, 0, cell_nonce, short_ad, general_delta);
    AezHash(key, 16, cell_nonce, short_ad, tau_delta);
    Reveal(cell_delta, 16);
    Reveal(general_delta, 16);
    EXPECT_EQ(0, std::memcmp(cell_delta, general_delta, 16));
  });
}

TEST(CtAez, BatchUnderManyKeys) {
  ForEachTarget([] {
    std::mt19937_64 rng(3);
    constexpr size_t kJobs = 6;
    const size_t lengths[kJobs] = {509, 509, 31, 64, 4096, 509};
    std::vector<std::unique_ptr<AezKey>> keys;
    std::vector<Bytes> deltas, messages, outs(kJobs), backs(kJobs);
    AezBatchJob encipher[kJobs], decipher[kJobs];
    for (size_t i = 0; i < kJobs; ++i) {
      const Bytes raw = RandomBytes(rng, kAezKeyBytes);
      keys.push_back(std::make_unique<AezKey>(
          std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes)));
      deltas.push_back(RandomBytes(rng, 16));
      messages.push_back(RandomBytes(rng, lengths[i]));
      outs[i].resize(lengths[i]);
      backs[i].resize(lengths[i]);
    }
    for (size_t i = 0; i < kJobs; ++i) {
      encipher[i] = {keys[i].get(), deltas[i].data(), messages[i].data(), outs[i].data(),
                     lengths[i]};
      decipher[i] = {keys[i].get(), deltas[i].data(), outs[i].data(), backs[i].data(), lengths[i]};
    }
    AezEncipherBatch(encipher);
    AezDecipherBatch(decipher);
    for (size_t i = 0; i < kJobs; ++i) {
      Reveal(backs[i]);
      EXPECT_EQ(backs[i], messages[i]) << i;
    }
  });
}

// ---- Cell layers --------------------------------------------------------------------------

// A client's and the relays' copies of a circuit's hops, from the same seeds.
struct Circuit {
  std::vector<HopLayers> client, relays;
};

Circuit MakeCircuit(const CellSuite& suite, size_t hops, std::mt19937_64& rng) {
  Circuit c;
  c.client.resize(hops);
  c.relays.resize(hops);
  for (size_t h = 0; h < hops; ++h) {
    // A fresh buffer per side: marking the seed secret in MakeHop reaches the caller's bytes.
    const Bytes seed = RandomBytes(rng, suite.min_seed_bytes());
    Bytes copy = seed;
    EXPECT_EQ(suite.MakeHop(seed, c.client[h]), SuiteError::kOk);
    EXPECT_EQ(suite.MakeHop(copy, c.relays[h]), SuiteError::kOk);
  }
  return c;
}

// A payload this suite's recognition accepts (its zero fields zero, a short length).
Bytes RelayPayload(const CellSuite& suite, std::mt19937_64& rng) {
  Bytes body = RandomBytes(rng, kCellBodyBytes);
  const RelayFormat& f = suite.relay_format();
  for (size_t i = f.zero_begin; i < f.zero_end; ++i) body[i] = 0;
  body[f.length_at] = 0;
  body[f.length_at + 1] = 100;
  return body;
}

// The payload as delivered equals the one sent, but for the bytes that belong to the layer
// (tor1's digest).
void ExpectDelivered(const CellSuite& suite, const Bytes& delivered, const Bytes& sent) {
  const RelayFormat& f = suite.relay_format();
  for (size_t i = 0; i < kCellBodyBytes; ++i) {
    if (i >= f.layer_begin && i < f.layer_end) continue;
    ASSERT_EQ(delivered[i], sent[i]) << "byte " << i;
  }
}

// Forward: the client originates to the last hop, each relay peels (only the last recognizes);
// backward: the last relay originates, the others encrypt, the client peels all three.
void RoundTrip(const CellSuite& suite, Circuit& c, std::mt19937_64& rng, bool early) {
  const size_t hops = c.client.size();
  const Bytes sent = RelayPayload(suite, rng);
  Bytes cell = sent;
  CellBody body(cell.data(), kCellBodyBytes);
  c.client[hops - 1].forward->Apply(LayerOp::kClientOriginate, body, early);
  for (size_t h = hops - 1; h-- > 0;)
    c.client[h].forward->Apply(LayerOp::kClientEncrypt, body, early);
  for (size_t h = 0; h < hops; ++h) {
    const bool recognized = c.relays[h].forward->Apply(LayerOp::kRelayDecrypt, body, early);
    EXPECT_EQ(recognized, h == hops - 1) << "hop " << h;
  }
  ExpectDelivered(suite, cell, sent);

  const Bytes back = RelayPayload(suite, rng);
  cell = back;
  c.relays[hops - 1].backward->Apply(LayerOp::kRelayOriginate, body, false);
  for (size_t h = hops - 1; h-- > 0;)
    c.relays[h].backward->Apply(LayerOp::kRelayEncrypt, body, false);
  size_t recognized_at = hops;
  for (size_t h = 0; h < hops && recognized_at == hops; ++h) {
    if (c.client[h].backward->Apply(LayerOp::kClientDecrypt, body, false)) recognized_at = h;
  }
  EXPECT_EQ(recognized_at, hops - 1);
  ExpectDelivered(suite, cell, back);
}

TEST(CtCells, AezLayersRelayAndClient) {
  ForEachTarget([] {
    std::mt19937_64 rng(4);
    Circuit c = MakeCircuit(AezCellSuite(), 3, rng);
    RoundTrip(AezCellSuite(), c, rng, /*early=*/true);
    RoundTrip(AezCellSuite(), c, rng, /*early=*/false);
    RoundTrip(AezCellSuite(), c, rng, /*early=*/false);
  });
}

TEST(CtCells, AezRekey) {
  ForEachTarget([] {
    std::mt19937_64 rng(5);
    Circuit c = MakeCircuit(AezCellSuite(), 2, rng);
    RoundTrip(AezCellSuite(), c, rng, false);
    // RELAY_REKEY of the last hop: both ends derive from the forward layer's current key.
    const Bytes rekey_data = RandomBytes(rng, 32);
    uint8_t client_material[kKdfOutputBytes], relay_material[kKdfOutputBytes];
    ASSERT_EQ(c.client[1].forward->DeriveRekeyMaterial(rekey_data, client_material), KdfError::kOk);
    ASSERT_EQ(c.relays[1].forward->DeriveRekeyMaterial(rekey_data, relay_material), KdfError::kOk);
    for (HopLayers* hop : {&c.client[1], &c.relays[1]}) {
      const uint8_t* material = hop == &c.client[1] ? client_material : relay_material;
      const std::span<const uint8_t, kKdfOutputBytes> view(material, kKdfOutputBytes);
      hop->forward->InstallRekeyMaterial(view);
      hop->backward->InstallRekeyMaterial(view);
    }
    sodium_memzero(client_material, sizeof client_material);
    sodium_memzero(relay_material, sizeof relay_material);
    RoundTrip(AezCellSuite(), c, rng, false);
    RoundTrip(AezCellSuite(), c, rng, false);
  });
}

TEST(CtCells, AezBatchOfCircuits) {
  ForEachTarget([] {
    std::mt19937_64 rng(6);
    constexpr size_t kCircuits = 5;
    std::vector<Circuit> circuits;
    for (size_t i = 0; i < kCircuits; ++i) circuits.push_back(MakeCircuit(AezCellSuite(), 1, rng));
    std::unique_ptr<LayerBatch> batch = AezCellSuite().MakeBatch();
    std::vector<Bytes> cells, sent;
    bool recognized[kCircuits] = {};
    for (size_t i = 0; i < kCircuits; ++i) {
      sent.push_back(RelayPayload(AezCellSuite(), rng));
      cells.push_back(sent.back());
      circuits[i].client[0].forward->Apply(LayerOp::kClientOriginate,
                                           CellBody(cells[i].data(), kCellBodyBytes), false);
    }
    for (size_t i = 0; i < kCircuits; ++i) {
      batch->Add(*circuits[i].relays[0].forward, LayerOp::kRelayDecrypt,
                 CellBody(cells[i].data(), kCellBodyBytes), false, &recognized[i]);
    }
    batch->Run();
    for (size_t i = 0; i < kCircuits; ++i) {
      EXPECT_TRUE(recognized[i]) << i;
      Reveal(cells[i]);  // the batch leaves the bodies to its caller
      EXPECT_EQ(cells[i], sent[i]) << i;
    }
  });
}

TEST(CtCells, CgoLayersRelayAndClient) {
  ForEachTarget([] {  // its POLYVAL runs on the polyval family's path
    std::mt19937_64 rng(14);
    Circuit c = MakeCircuit(CgoCellSuite(), 3, rng);
    for (int i = 0; i < 3; ++i) RoundTrip(CgoCellSuite(), c, rng, i == 0);
    // The batch (RunMany of several directions, one cell each).
    std::unique_ptr<LayerBatch> batch = CgoCellSuite().MakeBatch();
    Bytes cells[3];
    bool recognized[3] = {};
    for (size_t h = 0; h < 3; ++h) {
      cells[h] = RelayPayload(CgoCellSuite(), rng);
      c.relays[h].backward->Apply(LayerOp::kRelayOriginate, CellBody(cells[h].data(), 509), false);
    }
    for (size_t h = 0; h < 3; ++h) {
      batch->Add(*c.client[h].backward, LayerOp::kClientDecrypt, CellBody(cells[h].data(), 509),
                 false, &recognized[h]);
    }
    batch->Run();
    for (size_t h = 0; h < 3; ++h) EXPECT_TRUE(recognized[h]) << h;
  });
}

TEST(CtCells, Tor1LayersRelayAndClient) {
  // tor1's AES-CTR and SHA-1 are ipsec-mb's and OpenSSL's (no Highway path): once is enough.
  std::mt19937_64 rng(7);
  Circuit c = MakeCircuit(Tor1CellSuite(), 3, rng);
  for (int i = 0; i < 4; ++i) RoundTrip(Tor1CellSuite(), c, rng, false);
}

// ---- KDF ----------------------------------------------------------------------------------

TEST(CtKdf, HopAndRekeyKeys) {
  std::mt19937_64 rng(8);
  Bytes seed = RandomBytes(rng, 32);
  Bytes again = seed;
  uint8_t first[kKdfOutputBytes], second[kKdfOutputBytes], rekeyed[kKdfOutputBytes];
  ASSERT_EQ(DeriveHopKeys(seed, first), KdfError::kOk);
  ASSERT_EQ(DeriveHopKeys(again, second), KdfError::kOk);
  const Bytes rekey_data = RandomBytes(rng, 32);
  ASSERT_EQ(DeriveRekeyKeys(SplitKeyMaterial(first).aez_key, rekey_data, rekeyed), KdfError::kOk);
  Reveal(first, sizeof first);
  Reveal(second, sizeof second);
  Reveal(rekeyed, sizeof rekeyed);
  EXPECT_EQ(0, std::memcmp(first, second, sizeof first));
  EXPECT_NE(0, std::memcmp(first, rekeyed, sizeof first));
}

// ---- DSKE ---------------------------------------------------------------------------------

TEST(CtDske, ShamirSplitAndCombine) {
  ForEachTarget([] {
    std::mt19937_64 rng(9);
    for (size_t length : {size_t{1}, size_t{31}, size_t{100}, size_t{4096 + 7}}) {
      const Bytes secret = RandomBytes(rng, length);
      std::vector<Bytes> shares(5, Bytes(length));
      uint8_t* outs[5];
      for (size_t i = 0; i < 5; ++i) outs[i] = shares[i].data();
      ASSERT_EQ(sss::Split(secret, 3, outs), sss::SssError::kOk);
      // Shares 1, 3 and 5 as a receiver holds them: secret too.
      const uint8_t xs[3] = {1, 3, 5};
      const uint8_t* ys[3] = {shares[0].data(), shares[2].data(), shares[4].data()};
      for (const uint8_t* y : ys) RELAYCELL_CT_SECRET(y, length);
      Bytes combined(length);
      ASSERT_EQ(sss::Combine(xs, ys, combined), sss::SssError::kOk);
      Reveal(combined);
      Reveal(secret);  // Split marked the caller's secret too
      EXPECT_EQ(combined, secret);
    }
  });
}

TEST(CtDske, AmdCheckOutvotesALiar) {
  ForEachTarget([] {
    std::mt19937_64 rng(10);
    const Bytes key = RandomBytes(rng, 32);
    const size_t encoded = amd::EncodedBytes(key.size());
    std::vector<Bytes> shares(4, Bytes(encoded));
    uint8_t* outs[4];
    for (size_t i = 0; i < 4; ++i) outs[i] = shares[i].data();
    ASSERT_EQ(amd::SplitKey(key, 3, outs), amd::AmdError::kOk);
    shares[0][5] ^= 0x40;  // hub 1 lies: the first subset fails the check, a later one passes
    std::vector<amd::ShareView> views;
    for (size_t i = 0; i < 4; ++i) views.push_back({static_cast<uint8_t>(i + 1), shares[i]});
    Bytes out(key.size());
    ASSERT_EQ(amd::CombineKey(views, 3, out), amd::AmdError::kOk);
    Reveal(out);
    EXPECT_EQ(out, key);
  });
}

TEST(CtDske, WegmanCarterMacAndVerify) {
  ForEachTarget([] {
    std::mt19937_64 rng(11);
    for (size_t length : {size_t{1}, size_t{16}, size_t{100}, size_t{498}}) {
      Bytes key = RandomBytes(rng, wc_mac::kKeyBytes);
      RELAYCELL_CT_SECRET(key.data(), key.size());  // as a PSRD read hands it over
      const Bytes header = RandomBytes(rng, 11), ciphertext = RandomBytes(rng, length);
      const auto key_view = std::span<const uint8_t, wc_mac::kKeyBytes>(key.data(), key.size());
      std::array<uint8_t, wc_mac::kTagBytes> tag;
      ASSERT_EQ(wc_mac::ComputeTag(key_view, header, ciphertext, tag), wc_mac::WcMacError::kOk);
      Reveal(tag);  // as SealLink sends it
      EXPECT_EQ(wc_mac::VerifyTag(key_view, header, ciphertext, tag), wc_mac::WcMacError::kOk);
      tag[3] ^= 1;
      EXPECT_EQ(wc_mac::VerifyTag(key_view, header, ciphertext, tag),
                wc_mac::WcMacError::kMismatch);
    }
  });
}

TEST(CtDske, PsrdPadSealAndOpen) {
  std::string pattern = (std::filesystem::temp_directory_path() / "ct_check_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path root = pattern;
  ASSERT_EQ(psrd::InitPair(root / "alice", "alice", root / "hub", "hub", 16384, 4096),
            psrd::PsrdError::kOk);
  std::unique_ptr<psrd::PsrdStore> alice, hub;
  ASSERT_EQ(psrd::PsrdStore::Open(root / "alice", alice), psrd::PsrdError::kOk);
  ASSERT_EQ(psrd::PsrdStore::Open(root / "hub", hub), psrd::PsrdError::kOk);
  const std::string pool = "alice.to.hub";
  ForEachTarget([&] {
    std::mt19937_64 rng(12);
    for (size_t length : {size_t{1}, size_t{100}, size_t{498}}) {
      const Bytes header = RandomBytes(rng, 20), plaintext = RandomBytes(rng, length);
      psrd::Allocation pad;
      ASSERT_EQ(psrd::AllocateLinkPad(*alice, pool, length, pad), psrd::PsrdError::kOk);
      Bytes ciphertext(length), opened(length);
      std::array<uint8_t, wc_mac::kTagBytes> tag;
      psrd::PsrdError error;
      ASSERT_EQ(psrd::SealLink(*alice, pool, pad, header, plaintext, ciphertext, tag, error),
                psrd::LinkError::kOk);
      // A forged ciphertext first: the verdict is public, and the pad range is burnt.
      Bytes forged = ciphertext;
      forged[0] ^= 1;
      EXPECT_EQ(psrd::OpenLink(*hub, pool, pad.view(), header, forged, tag, opened, error),
                psrd::LinkError::kBadTag);
      // The real message on a fresh pad.
      ASSERT_EQ(psrd::AllocateLinkPad(*alice, pool, length, pad), psrd::PsrdError::kOk);
      ASSERT_EQ(psrd::SealLink(*alice, pool, pad, header, plaintext, ciphertext, tag, error),
                psrd::LinkError::kOk);
      ASSERT_EQ(psrd::OpenLink(*hub, pool, pad.view(), header, ciphertext, tag, opened, error),
                psrd::LinkError::kOk);
      Reveal(opened);
      EXPECT_EQ(opened, plaintext);
    }
  });
  alice.reset();
  hub.reset();
  std::filesystem::remove_all(root);
}

// ---- Kernels beyond the above: the batch entry points -------------------------------------

TEST(CtKernels, PolyvalAndOtpBatches) {
  ForEachTarget([] {
    std::mt19937_64 rng(13);
    constexpr size_t kJobs = 3;
    Bytes keys[kJobs], messages[kJobs], pads[kJobs], outs[kJobs];
    std::array<uint8_t, 16> tags[kJobs];
    kernels::PolyvalJob polyval[kJobs];
    kernels::XorJob xors[kJobs];
    for (size_t i = 0; i < kJobs; ++i) {
      keys[i] = RandomBytes(rng, 16);
      pads[i] = RandomBytes(rng, 100 + 150 * i);
      RELAYCELL_CT_SECRET(keys[i].data(), 16);  // H and the pad, as PSRD reads hand them over
      RELAYCELL_CT_SECRET(pads[i].data(), pads[i].size());
      messages[i] = RandomBytes(rng, pads[i].size());
      outs[i].resize(pads[i].size());
      polyval[i] = {keys[i].data(), messages[i].data(), messages[i].size(), tags[i].data()};
      xors[i] = {messages[i].data(), pads[i].data(), outs[i].data(), messages[i].size()};
    }
    kernels::PolyvalBatch(polyval);
    kernels::OtpXorBatch(xors);
    for (size_t i = 0; i < kJobs; ++i) {
      Reveal(outs[i]);
      Reveal(pads[i]);
      for (size_t b = 0; b < outs[i].size(); ++b)
        ASSERT_EQ(outs[i][b] ^ pads[i][b], messages[i][b]);
    }
  });
}

}  // namespace
}  // namespace relaycell
