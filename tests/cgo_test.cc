// Counter Galois Onion (Tor proposal 359) without Tor's data: the primitives against a model
// built from OpenSSL's AES and the (separately tested) POLYVAL kernel, the six direction ops
// composed into circuits of 1..8 hops, tampering, the key ratchet, and the batch against single
// cells. Tor's and Arti's vectors run through `relaycell kat cgo` (tests/cgo_kat_test.cc).
#include <openssl/evp.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "engine/suite/cgo/cgo_cell_batch.h"
#include "engine/suite/cgo/cgo_direction.h"
#include "engine/suite/cgo/cgo_et.h"
#include "engine/suite/cgo/cgo_prf.h"
#include "engine/suite/cgo/cgo_uiv.h"
#include "kernels/polyval.h"

namespace relaycell {
namespace {

using Block = std::array<uint8_t, 16>;
using Body = std::array<uint8_t, kCellBodyBytes>;
using Keys = std::array<uint8_t, kCgoKeyBytes>;

template <class Array>
Array Random(std::mt19937_64& rng) {
  Array a;
  for (auto& b : a) b = uint8_t(rng());
  return a;
}

std::vector<uint8_t> Hex(const char* hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; hex[i] != 0 && hex[i + 1] != 0; i += 2) {
    out.push_back(uint8_t(std::stoi(std::string(hex + i, 2), nullptr, 16)));
  }
  return out;
}

// ---- A model of ET, the PRF and UIV+ from OpenSSL's AES and kernels::Polyval. ----

Block OpensslAes(const uint8_t key[16], const Block& in, bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Block out{};
  int len = 0;
  EXPECT_EQ(EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), nullptr, key, nullptr, encrypt ? 1 : 0), 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EXPECT_EQ(EVP_CipherUpdate(ctx, out.data(), &len, in.data(), 16), 1);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

// data ^= AES-128-CTR keystream (128-bit big-endian counter) from counter block `iv`.
void OpensslCtr(const uint8_t key[16], const Block& iv, uint8_t* data, size_t n) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, key, iv.data()), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, data, &len, data, int(n)), 1);
  EVP_CIPHER_CTX_free(ctx);
}

Block ModelPolyval(const uint8_t h[16], const uint8_t* message, size_t n) {
  Block out{};
  kernels::Polyval(std::span<const uint8_t, 16>(h, 16), std::span<const uint8_t>(message, n), out);
  return out;
}

// keys = KB | KU; tweak = H | cmd | X_R.
Block ModelEt(const uint8_t* keys, const uint8_t* tweak, Block block, bool encrypt) {
  const Block mask = ModelPolyval(keys + 16, tweak, kCgoEtTweakBytes);
  for (int i = 0; i < 16; ++i) block[i] ^= mask[i];
  block = OpensslAes(keys, block, encrypt);
  for (int i = 0; i < 16; ++i) block[i] ^= mask[i];
  return block;
}

// data ^= PRF(keys = K | B, input, t).
void ModelPrf(const uint8_t* keys, const uint8_t* input, int t, uint8_t* data, size_t n) {
  Block counter = ModelPolyval(keys + 16, input, 16);
  counter[15] = uint8_t((counter[15] & 0xC0) + (t == 0 ? 0 : 31));
  OpensslCtr(keys, counter, data, n);
}

void ModelUiv(const uint8_t* keys, const uint8_t* h, uint8_t cmd, uint8_t* body, bool encrypt) {
  auto et = [&] {
    uint8_t tweak[kCgoEtTweakBytes];
    std::memcpy(tweak, h, 16);
    tweak[16] = cmd;
    std::memcpy(tweak + 17, body + 16, kCgoRightBytes);
    Block x_l;
    std::memcpy(x_l.data(), body, 16);
    x_l = ModelEt(keys, tweak, x_l, encrypt);
    std::memcpy(body, x_l.data(), 16);
  };
  if (encrypt) et();
  ModelPrf(keys + 32, body, 0, body + 16, kCgoRightBytes);
  if (!encrypt) et();
}

// ---- The primitives ----

TEST(CgoEt, ZeroPolyvalKeyIsPlainAes) {
  // FIPS-197 appendix C.1: with KU = 0 the mask is 0 and ET is AES-128 itself.
  std::vector<uint8_t> keys = Hex("000102030405060708090a0b0c0d0e0f");
  keys.resize(kCgoEtKeyBytes, 0);
  const std::vector<uint8_t> plain = Hex("00112233445566778899aabbccddeeff");
  const std::vector<uint8_t> cipher = Hex("69c4e0d86a7b0430d8cdb78070b4c55a");
  std::mt19937_64 rng(1);
  std::array<uint8_t, kCgoEtTweakBytes> tweak = Random<std::array<uint8_t, kCgoEtTweakBytes>>(rng);
  const CgoEt et(std::span<const uint8_t, kCgoEtKeyBytes>(keys.data(), kCgoEtKeyBytes));
  Block block;
  std::memcpy(block.data(), plain.data(), 16);
  et.Encrypt(tweak, block);
  EXPECT_EQ(std::vector<uint8_t>(block.begin(), block.end()), cipher);
  et.Decrypt(tweak, block);
  EXPECT_EQ(std::vector<uint8_t>(block.begin(), block.end()), plain);
}

TEST(CgoEt, MatchesModelAndRoundTrips) {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 32; ++trial) {
    const auto keys = Random<std::array<uint8_t, kCgoEtKeyBytes>>(rng);
    const auto tweak = Random<std::array<uint8_t, kCgoEtTweakBytes>>(rng);
    const Block plain = Random<Block>(rng);
    const CgoEt et(keys);
    Block block = plain;
    et.Encrypt(tweak, block);
    EXPECT_EQ(block, ModelEt(keys.data(), tweak.data(), plain, true));
    EXPECT_NE(block, plain);
    et.Decrypt(tweak, block);
    EXPECT_EQ(block, plain);
    et.Decrypt(tweak, block);
    EXPECT_EQ(block, ModelEt(keys.data(), tweak.data(), plain, false));
    et.Encrypt(tweak, block);
    EXPECT_EQ(block, plain);
  }
}

TEST(CgoEt, ManyMatchesOneAtATime) {
  // 11 jobs: two AES-NI groups of four and a remainder of three.
  std::mt19937_64 rng(3);
  constexpr size_t kJobs = 11;
  std::vector<std::unique_ptr<CgoEt>> ets;
  std::vector<std::array<uint8_t, kCgoEtTweakBytes>> tweaks;
  std::vector<Block> blocks, want;
  std::vector<Block> masks(kJobs);
  for (size_t i = 0; i < kJobs; ++i) {
    ets.push_back(std::make_unique<CgoEt>(Random<std::array<uint8_t, kCgoEtKeyBytes>>(rng)));
    tweaks.push_back(Random<std::array<uint8_t, kCgoEtTweakBytes>>(rng));
    blocks.push_back(Random<Block>(rng));
  }
  for (bool encrypt : {true, false}) {
    want = blocks;
    std::vector<CgoEt::Job> jobs;
    for (size_t i = 0; i < kJobs; ++i) {
      encrypt ? ets[i]->Encrypt(tweaks[i], want[i]) : ets[i]->Decrypt(tweaks[i], want[i]);
      jobs.push_back({ets[i].get(), tweaks[i].data(), blocks[i].data(), masks[i].data()});
    }
    encrypt ? CgoEt::EncryptMany(jobs) : CgoEt::DecryptMany(jobs);
    EXPECT_EQ(blocks, want);
  }
}

TEST(CgoPrf, MatchesModelAtBothPositions) {
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 16; ++trial) {
    const auto keys = Random<std::array<uint8_t, kCgoPrfKeyBytes>>(rng);
    const Block input = Random<Block>(rng);
    const CgoPrf prf(keys);
    std::array<uint8_t, kCgoPrfT0Bytes> data = Random<std::array<uint8_t, kCgoPrfT0Bytes>>(rng);
    auto want = data;
    prf.XorT0(input, data);
    ModelPrf(keys.data(), input.data(), 0, want.data(), want.size());
    EXPECT_EQ(data, want);
    for (size_t n : {size_t{1}, size_t{16}, size_t{80}, size_t{81}, kCgoPrfT1MaxBytes}) {
      std::vector<uint8_t> got(n, 0xAA), expect(n, 0);
      prf.GenT1(input, got);
      ModelPrf(keys.data(), input.data(), 1, expect.data(), n);
      EXPECT_EQ(got, expect) << n;
    }
  }
}

TEST(CgoPrf, PositionOneContinuesPositionZero) {
  // The t = 1 stream starts at block 31 of the same counter window: t = 0 is 30 full blocks
  // and 13 bytes of the 31st, so t = 1's first block is the keystream's 32nd block.
  std::mt19937_64 rng(5);
  const auto keys = Random<std::array<uint8_t, kCgoPrfKeyBytes>>(rng);
  const Block input = Random<Block>(rng);
  const CgoPrf prf(keys);
  std::vector<uint8_t> window(64 * 16, 0);
  Block counter = ModelPolyval(keys.data() + 16, input.data(), 16);
  counter[15] &= 0xC0;
  OpensslCtr(keys.data(), counter, window.data(), window.size());
  std::array<uint8_t, kCgoPrfT0Bytes> t0{};
  prf.XorT0(input, t0);
  EXPECT_TRUE(std::equal(t0.begin(), t0.end(), window.begin()));
  std::vector<uint8_t> t1(kCgoPrfT1MaxBytes);
  prf.GenT1(input, t1);
  EXPECT_TRUE(std::equal(t1.begin(), t1.end(), window.begin() + 31 * 16));
}

TEST(CgoUiv, MatchesModelRoundTripsAndUpdates) {
  std::mt19937_64 rng(6);
  for (int trial = 0; trial < 16; ++trial) {
    const Keys keys = Random<Keys>(rng);
    const Block h = Random<Block>(rng);
    const uint8_t cmd = uint8_t(rng());
    const Body plain = Random<Body>(rng);
    const CgoUiv uiv(keys);
    for (bool encrypt : {true, false}) {
      Body body = plain, want = plain;
      encrypt ? uiv.Encrypt(h, cmd, body) : uiv.Decrypt(h, cmd, body);
      ModelUiv(keys.data(), h.data(), cmd, want.data(), encrypt);
      EXPECT_EQ(body, want);
      encrypt ? uiv.Decrypt(h, cmd, body) : uiv.Encrypt(h, cmd, body);
      EXPECT_EQ(body, plain);
    }
    // Update: (J', S', N') = PRF_S(N, t = 1).
    CgoUiv updated(keys);
    Block nonce = Random<Block>(rng);
    std::array<uint8_t, kCgoUpdateBytes> expect{};
    ModelPrf(keys.data() + 32, nonce.data(), 1, expect.data(), expect.size());
    updated.Update(nonce);
    EXPECT_TRUE(std::equal(updated.keys().begin(), updated.keys().end(), expect.begin()));
    EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), expect.begin() + kCgoKeyBytes));
    // ... and acts as a UIV made from those keys.
    const CgoUiv fresh(std::span<const uint8_t, kCgoKeyBytes>(expect.data(), kCgoKeyBytes));
    Body a = plain, b = plain;
    updated.Encrypt(h, cmd, a);
    fresh.Encrypt(h, cmd, b);
    EXPECT_EQ(a, b);
  }
}

// ---- Directions composed into circuits ----

struct Hop {
  CgoHopDirections client, relay;  // the same seed at both ends
};

std::vector<Hop> MakeCircuit(std::mt19937_64& rng, size_t hops) {
  std::vector<Hop> circuit(hops);
  for (Hop& hop : circuit) {
    const auto seed = Random<std::array<uint8_t, kCgoHopSeedBytes>>(rng);
    EXPECT_TRUE(MakeCgoHop(seed, hop.client));
    EXPECT_TRUE(MakeCgoHop(seed, hop.relay));
  }
  return circuit;
}

Body Message(std::mt19937_64& rng) {
  Body body = Random<Body>(rng);
  std::memset(body.data(), 0, kCgoTagBytes);
  return body;
}

uint8_t RandomCmd(std::mt19937_64& rng) {
  return rng() % 2 == 0 ? kCgoCmdRelay : kCgoCmdRelayEarly;
}

// The client sends `body` to hop `target` (0-based); returns the hop that recognized it at the
// relays (hops.size() if none).
size_t SendForward(std::vector<Hop>& circuit, size_t target, Body& body, uint8_t cmd) {
  circuit[target].client.forward->ClientOriginate(body, cmd);
  for (size_t i = target; i-- > 0;) circuit[i].client.forward->ClientForward(body, cmd);
  for (size_t i = 0; i < circuit.size(); ++i) {
    if (circuit[i].relay.forward->RelayForward(body, cmd)) return i;
  }
  return circuit.size();
}

// Hop `origin` sends `body` to the client; returns the hop the client says sent it.
size_t SendBackward(std::vector<Hop>& circuit, size_t origin, Body& body, uint8_t cmd) {
  circuit[origin].relay.backward->RelayOriginate(body, cmd);
  for (size_t i = origin; i-- > 0;) circuit[i].relay.backward->RelayBackward(body, cmd);
  for (size_t i = 0; i < circuit.size(); ++i) {
    if (circuit[i].client.backward->ClientBackward(body, cmd)) return i;
  }
  return circuit.size();
}

bool SameState(const CgoDirection& a, const CgoDirection& b) {
  return std::ranges::equal(a.keys(), b.keys()) && std::ranges::equal(a.nonce(), b.nonce()) &&
         std::ranges::equal(a.tprime(), b.tprime());
}

TEST(CgoDirection, HopSeedSplitsForwardThenBackward) {
  std::mt19937_64 rng(7);
  const auto seed = Random<std::array<uint8_t, kCgoHopSeedBytes>>(rng);
  CgoHopDirections hop;
  ASSERT_TRUE(MakeCgoHop(seed, hop));
  EXPECT_TRUE(std::equal(hop.forward->keys().begin(), hop.forward->keys().end(), seed.begin()));
  EXPECT_TRUE(std::equal(hop.forward->nonce().begin(), hop.forward->nonce().end(),
                         seed.begin() + kCgoKeyBytes));
  EXPECT_TRUE(std::equal(hop.backward->keys().begin(), hop.backward->keys().end(),
                         seed.begin() + kCgoDirectionSeedBytes));
  EXPECT_TRUE(std::equal(hop.backward->nonce().begin(), hop.backward->nonce().end(),
                         seed.begin() + kCgoDirectionSeedBytes + kCgoKeyBytes));
  EXPECT_TRUE(std::ranges::all_of(hop.forward->tprime(), [](uint8_t b) { return b == 0; }));
  EXPECT_LE(sizeof(CgoDirection), CgoDirection::Arena().slot_bytes());
}

TEST(CgoDirection, ForwardCellsAreRecognizedAtTheirTargetOnly) {
  std::mt19937_64 rng(8);
  for (size_t hops = 1; hops <= 8; ++hops) {
    SCOPED_TRACE(hops);
    std::vector<Hop> circuit = MakeCircuit(rng, hops);
    for (int cell = 0; cell < 40; ++cell) {
      const size_t target = rng() % hops;
      const uint8_t cmd = RandomCmd(rng);
      const Body message = Message(rng);
      Body body = message;
      ASSERT_EQ(SendForward(circuit, target, body, cmd), target) << "cell " << cell;
      EXPECT_TRUE(
          std::equal(body.begin() + kCgoTagBytes, body.end(), message.begin() + kCgoTagBytes));
      // Both ends hold the same SENDME tag, and every hop's two ends the same state.
      EXPECT_TRUE(std::ranges::equal(circuit[target].client.forward->sendme_tag(),
                                     circuit[target].relay.forward->sendme_tag()));
      for (size_t i = 0; i <= target; ++i) {
        EXPECT_TRUE(SameState(*circuit[i].client.forward, *circuit[i].relay.forward)) << i;
      }
    }
  }
}

TEST(CgoDirection, BackwardCellsAreTracedToTheirOrigin) {
  std::mt19937_64 rng(9);
  for (size_t hops = 1; hops <= 8; ++hops) {
    SCOPED_TRACE(hops);
    std::vector<Hop> circuit = MakeCircuit(rng, hops);
    for (int cell = 0; cell < 40; ++cell) {
      const size_t origin = rng() % hops;
      const uint8_t cmd = RandomCmd(rng);
      const Body message = Message(rng);
      Body body = message;
      ASSERT_EQ(SendBackward(circuit, origin, body, cmd), origin) << "cell " << cell;
      EXPECT_TRUE(
          std::equal(body.begin() + kCgoTagBytes, body.end(), message.begin() + kCgoTagBytes));
      EXPECT_TRUE(std::ranges::equal(circuit[origin].client.backward->sendme_tag(),
                                     circuit[origin].relay.backward->sendme_tag()));
      for (size_t i = 0; i <= origin; ++i) {
        EXPECT_TRUE(SameState(*circuit[i].client.backward, *circuit[i].relay.backward)) << i;
      }
    }
  }
}

TEST(CgoDirection, BothDirectionsInterleaved) {
  std::mt19937_64 rng(10);
  std::vector<Hop> circuit = MakeCircuit(rng, 3);
  for (int cell = 0; cell < 200; ++cell) {
    const size_t hop = rng() % 3;
    const uint8_t cmd = RandomCmd(rng);
    Body body = Message(rng);
    if (rng() % 2 == 0) {
      ASSERT_EQ(SendForward(circuit, hop, body, cmd), hop);
    } else {
      ASSERT_EQ(SendBackward(circuit, hop, body, cmd), hop);
    }
  }
}

// One random bit of T or C flipped on the wire next to the client: between the client and
// hop 1 (forward) or between hop 1 and the client (backward).
void FlipBit(std::mt19937_64& rng, bool in_tag, Body& body) {
  const size_t bit =
      in_tag ? rng() % (8 * kCgoTagBytes) : 8 * kCgoTagBytes + rng() % (8 * kCgoRightBytes);
  body[bit / 8] ^= uint8_t(1u << (bit % 8));
}

// Forward: the tampered cell is recognized nowhere, and neither is any later forward cell to
// any hop: hop 1's T' is its own output, now garbage, and it feeds every later tweak (and the
// target's keys ratcheted at the client only).
TEST(CgoDirection, ForwardTamperBreaksTheDirectionForGood) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 32; ++trial) {
    SCOPED_TRACE(trial);
    const size_t hops = 1 + rng() % 4;
    const bool in_tag = trial % 2 == 0;
    std::vector<Hop> circuit = MakeCircuit(rng, hops);
    auto send = [&](size_t target, bool tamper) {
      Body body = Message(rng);
      const uint8_t cmd = RandomCmd(rng);
      circuit[target].client.forward->ClientOriginate(body, cmd);
      for (size_t i = target; i-- > 0;) circuit[i].client.forward->ClientForward(body, cmd);
      if (tamper) FlipBit(rng, in_tag, body);
      for (size_t i = 0; i < hops; ++i) {
        if (circuit[i].relay.forward->RelayForward(body, cmd)) return i;
      }
      return hops;
    };
    for (int cell = 0; cell < 3; ++cell) {
      const size_t target = rng() % hops;
      ASSERT_EQ(send(target, false), target);
    }
    EXPECT_EQ(send(rng() % hops, true), hops) << "the tampered cell was recognized";
    for (int cell = 0; cell < 3 * int(hops); ++cell) {
      EXPECT_EQ(send(cell % hops, false), hops) << "a later cell was recognized";
    }
  }
}

// Backward: the tampered cell is recognized nowhere, and no later cell of the hop that sent it
// ever is (the relay ratcheted its keys on originating, the client did not). The client takes
// T' from the tag it receives, so the other hops' layers fall back in step within a cell or
// two: as in Tor, it is the client's reaction to an unrecognized cell (relaycell: DESTROY)
// that ends the circuit, not the crypto.
TEST(CgoDirection, BackwardTamperBreaksTheSendingHopForGood) {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 32; ++trial) {
    SCOPED_TRACE(trial);
    const size_t hops = 2 + rng() % 3;
    const bool in_tag = trial % 2 == 0;
    std::vector<Hop> circuit = MakeCircuit(rng, hops);
    auto send = [&](size_t origin, bool tamper) {
      Body body = Message(rng);
      const uint8_t cmd = RandomCmd(rng);
      circuit[origin].relay.backward->RelayOriginate(body, cmd);
      for (size_t i = origin; i-- > 0;) circuit[i].relay.backward->RelayBackward(body, cmd);
      if (tamper) FlipBit(rng, in_tag, body);
      for (size_t i = 0; i < hops; ++i) {
        if (circuit[i].client.backward->ClientBackward(body, cmd)) return i;
      }
      return hops;
    };
    for (int cell = 0; cell < 3; ++cell) {
      const size_t origin = rng() % hops;
      ASSERT_EQ(send(origin, false), origin);
    }
    const size_t broken = 1 + rng() % (hops - 1);  // not hop 1: its layer carries every cell
    EXPECT_EQ(send(broken, true), hops) << "the tampered cell was recognized";
    size_t recovered = 0;
    for (int cell = 0; cell < 12; ++cell) {
      EXPECT_EQ(send(broken, false), hops) << "a later cell of the sending hop was recognized";
      recovered += send(0, false) == 0;
    }
    EXPECT_GE(recovered, 10u) << "hop 1, its keys untouched, should be back in step";
  }
}

TEST(CgoDirection, StateChangesAsTorDoes) {
  std::mt19937_64 rng(16);
  const Keys keys = Random<Keys>(rng);
  const Block nonce = Random<Block>(rng), tprime = Random<Block>(rng);
  auto make = [&] { return std::make_unique<CgoDirection>(keys, nonce, tprime); };
  // Keys and nonce after the key ratchet on nonce `n`.
  auto ratchet = [&](const Block& n) {
    CgoUiv uiv(keys);
    Block next = n;
    uiv.Update(next);
    Keys k;
    std::ranges::copy(uiv.keys(), k.begin());
    return std::pair{k, next};
  };
  auto keys_of = [](const CgoDirection& d) {
    Keys k;
    std::ranges::copy(d.keys(), k.begin());
    return k;
  };
  auto block = [](std::span<const uint8_t, 16> s) {
    Block b;
    std::ranges::copy(s, b.begin());
    return b;
  };
  const uint8_t cmd = kCgoCmdRelay;

  {  // ClientOriginate: T = N, decrypt; T' = N; ratchet on N. Output T is the SENDME tag.
    auto d = make();
    Body body = Message(rng), want = body;
    d->ClientOriginate(body, cmd);
    std::memcpy(want.data(), nonce.data(), 16);
    ModelUiv(keys.data(), tprime.data(), cmd, want.data(), false);
    EXPECT_EQ(body, want);
    EXPECT_EQ(block(d->tprime()), nonce);
    EXPECT_EQ(keys_of(*d), ratchet(nonce).first);
    EXPECT_EQ(block(d->nonce()), ratchet(nonce).second);
    EXPECT_TRUE(std::equal(body.begin(), body.begin() + 16, d->sendme_tag().begin()));
  }
  {  // ClientForward: decrypt; T' = the incoming T; keys and N unchanged.
    auto d = make();
    Body body = Random<Body>(rng), want = body;
    const Body sent = body;
    d->ClientForward(body, cmd);
    ModelUiv(keys.data(), tprime.data(), cmd, want.data(), false);
    EXPECT_EQ(body, want);
    EXPECT_TRUE(std::equal(sent.begin(), sent.begin() + 16, d->tprime().begin()));
    EXPECT_EQ(keys_of(*d), keys);
    EXPECT_EQ(block(d->nonce()), nonce);
  }
  {  // RelayBackward: encrypt; T' = the outgoing T.
    auto d = make();
    Body body = Random<Body>(rng), want = body;
    d->RelayBackward(body, cmd);
    ModelUiv(keys.data(), tprime.data(), cmd, want.data(), true);
    EXPECT_EQ(body, want);
    EXPECT_TRUE(std::equal(body.begin(), body.begin() + 16, d->tprime().begin()));
    EXPECT_EQ(keys_of(*d), keys);
    EXPECT_EQ(block(d->nonce()), nonce);
  }
  {  // RelayForward, not for us: encrypt; T' = the outgoing T; keys and N unchanged.
    auto d = make();
    Body body = Random<Body>(rng), want = body;
    EXPECT_FALSE(d->RelayForward(body, cmd));
    ModelUiv(keys.data(), tprime.data(), cmd, want.data(), true);
    EXPECT_EQ(body, want);
    EXPECT_TRUE(std::equal(body.begin(), body.begin() + 16, d->tprime().begin()));
    EXPECT_EQ(keys_of(*d), keys);
    EXPECT_EQ(block(d->nonce()), nonce);
  }
  {  // RelayForward, for us: the outgoing T is N; ratchet on N; the SENDME tag is the T in.
    auto client = make(), relay = make();
    Body body = Message(rng);
    client->ClientOriginate(body, cmd);
    const Body sent = body;
    EXPECT_TRUE(relay->RelayForward(body, cmd));
    EXPECT_TRUE(std::equal(body.begin(), body.begin() + 16, nonce.begin()));
    EXPECT_EQ(block(relay->tprime()), nonce);
    EXPECT_EQ(keys_of(*relay), ratchet(nonce).first);
    EXPECT_TRUE(SameState(*relay, *client));
    EXPECT_TRUE(std::equal(sent.begin(), sent.begin() + 16, relay->sendme_tag().begin()));
  }
  {  // RelayOriginate: T = N, encrypt; T' = N = the outgoing T, then ratchet on that N.
    auto d = make();
    Body body = Message(rng), want = body;
    d->RelayOriginate(body, cmd);
    std::memcpy(want.data(), nonce.data(), 16);
    ModelUiv(keys.data(), tprime.data(), cmd, want.data(), true);
    EXPECT_EQ(body, want);
    Block t_out;
    std::memcpy(t_out.data(), body.data(), 16);
    EXPECT_EQ(block(d->tprime()), t_out);
    EXPECT_EQ(block(d->sendme_tag()), t_out);
    EXPECT_EQ(keys_of(*d), ratchet(t_out).first);
    EXPECT_EQ(block(d->nonce()), ratchet(t_out).second);
  }
  {  // ClientBackward: decrypt; T' = the incoming T; recognized: N = the incoming T, ratchet.
    auto relay = make(), client = make();
    Body body = Message(rng);
    relay->RelayOriginate(body, cmd);
    Block t_in;
    std::memcpy(t_in.data(), body.data(), 16);
    EXPECT_TRUE(client->ClientBackward(body, cmd));
    EXPECT_EQ(block(client->tprime()), t_in);
    EXPECT_EQ(block(client->sendme_tag()), t_in);
    EXPECT_TRUE(SameState(*relay, *client));
    // Not recognized: T' moves on, keys and N stay.
    auto other = make();
    Body noise = Random<Body>(rng);
    std::memcpy(t_in.data(), noise.data(), 16);
    EXPECT_FALSE(other->ClientBackward(noise, cmd));
    EXPECT_EQ(block(other->tprime()), t_in);
    EXPECT_EQ(keys_of(*other), keys);
    EXPECT_EQ(block(other->nonce()), nonce);
  }
}

TEST(CgoDirection, CommandIsPartOfTheTweak) {
  std::mt19937_64 rng(13);
  std::vector<Hop> circuit = MakeCircuit(rng, 1);
  Body body = Message(rng);
  circuit[0].client.forward->ClientOriginate(body, kCgoCmdRelayEarly);
  // Delivered as RELAY instead of RELAY_EARLY: not recognized.
  EXPECT_FALSE(circuit[0].relay.forward->RelayForward(body, kCgoCmdRelay));
}

// ---- The batch against single cells ----

TEST(CgoCellBatch, MatchesOneCellAtATime) {
  std::mt19937_64 rng(14);
  constexpr size_t kHops = 70;  // more than a batch holds
  // Twin circuits of one hop each: `batched` runs through CgoCellBatch, `single` through Apply.
  std::vector<Hop> batched, single;
  for (size_t i = 0; i < kHops; ++i) {
    const auto seed = Random<std::array<uint8_t, kCgoHopSeedBytes>>(rng);
    for (auto* side : {&batched, &single}) {
      side->emplace_back();
      ASSERT_TRUE(MakeCgoHop(seed, side->back().client));
      ASSERT_TRUE(MakeCgoHop(seed, side->back().relay));
    }
  }
  auto batch = std::make_unique<CgoCellBatch>();
  // Each round, per hop, one cell forward or backward in four stages: 0 the near end
  // originates; 1 the far end takes it (recognized); then noise: 2 the near end passes it on
  // (client forward, relay backward) and 3 the far end takes it (unrecognized, the two ends
  // still in step, the noise back as it was).
  for (int round = 0; round < 8; ++round) {
    std::vector<size_t> who;
    std::vector<bool> forward;
    std::vector<uint8_t> cmds;
    std::vector<Body> got;
    for (size_t i = 0; i < kHops; ++i) {
      if (rng() % 5 == 0) continue;
      who.push_back(i);
      forward.push_back(rng() % 2 == 0);
      cmds.push_back(RandomCmd(rng));
      got.push_back(Message(rng));
    }
    std::vector<Body> want = got, noise;
    for (int stage = 0; stage < 4; ++stage) {
      if (stage == 2) {
        for (Body& body : got) body = Random<Body>(rng);
        want = noise = got;
      }
      std::vector<bool> verdicts_single(who.size());
      std::unique_ptr<bool[]> verdicts_batched(new bool[who.size()]());
      for (size_t j = 0; j < who.size(); ++j) {
        // Near end: the client's forward direction, or the relay's backward one.
        const bool near = stage % 2 == 0;
        auto pick = [&](Hop& hop) {
          if (forward[j]) return near ? hop.client.forward.get() : hop.relay.forward.get();
          return near ? hop.relay.backward.get() : hop.client.backward.get();
        };
        static constexpr CgoOp kForwardOps[] = {CgoOp::kClientOriginate, CgoOp::kRelayForward,
                                                CgoOp::kClientForward, CgoOp::kRelayForward};
        static constexpr CgoOp kBackwardOps[] = {CgoOp::kRelayOriginate, CgoOp::kClientBackward,
                                                 CgoOp::kRelayBackward, CgoOp::kClientBackward};
        const CgoOp op = forward[j] ? kForwardOps[stage] : kBackwardOps[stage];
        if (batch->full()) batch->Run();
        ASSERT_TRUE(batch->Add(*pick(batched[who[j]]), got[j], cmds[j], op, &verdicts_batched[j]));
        verdicts_single[j] = pick(single[who[j]])->Apply(op, want[j], cmds[j]);
      }
      batch->Run();
      EXPECT_TRUE(batch->empty());
      for (size_t j = 0; j < who.size(); ++j) {
        SCOPED_TRACE(testing::Message()
                     << "round " << round << " stage " << stage << " cell " << j);
        EXPECT_EQ(got[j], want[j]);
        EXPECT_EQ(verdicts_batched[j], verdicts_single[j]);
        if (stage == 1) {
          EXPECT_TRUE(verdicts_batched[j]);
        }
        if (stage == 3) {
          EXPECT_FALSE(verdicts_batched[j]);
          EXPECT_EQ(got[j], noise[j]);
        }
      }
    }
  }
  for (size_t i = 0; i < kHops; ++i) {
    EXPECT_TRUE(SameState(*batched[i].client.forward, *single[i].client.forward));
    EXPECT_TRUE(SameState(*batched[i].client.backward, *single[i].client.backward));
    EXPECT_TRUE(SameState(*batched[i].relay.forward, *single[i].relay.forward));
    EXPECT_TRUE(SameState(*batched[i].relay.backward, *single[i].relay.backward));
  }
}

TEST(CgoCellBatch, RefusesPastCapacity) {
  std::mt19937_64 rng(15);
  auto batch = std::make_unique<CgoCellBatch>();
  std::vector<CgoDirectionBox> directions;
  std::vector<Body> bodies(CgoCellBatch::kCapacity + 1);
  for (size_t i = 0; i <= CgoCellBatch::kCapacity; ++i) {
    const auto seed = Random<std::array<uint8_t, kCgoDirectionSeedBytes>>(rng);
    directions.push_back(MakeCgoDirection(seed));
    ASSERT_TRUE(directions.back());
    const bool added =
        batch->Add(*directions.back(), bodies[i], kCgoCmdRelay, CgoOp::kRelayBackward);
    EXPECT_EQ(added, i < CgoCellBatch::kCapacity);
  }
  EXPECT_TRUE(batch->full());
  batch->Run();
  EXPECT_TRUE(batch->empty());
}

}  // namespace
}  // namespace relaycell
