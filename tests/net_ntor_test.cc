// The ntor handshake (net/handshake/ntor.h): the known answers of tests/vectors/ntor.json (made by
// tests/ntor_vectors.py, an implementation of its own), random handshakes against their own
// inverse for every suite, and each refusal.
#include "net/handshake/ntor.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/suite/suite_registry.h"

namespace relaycell::net {
namespace {

using Key = std::array<uint8_t, 32>;

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  size_t length = 0;
  if (hex.size() % 2 != 0 ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &length, nullptr) !=
          0 ||
      length != out.size()) {
    ADD_FAILURE() << "bad hex in the vector file: " << hex;
    return {};
  }
  return out;
}

Key Hex32(const std::string& hex) {
  Key key{};
  const std::vector<uint8_t> bytes = Hex(hex);
  EXPECT_EQ(bytes.size(), 32u) << hex;
  if (bytes.size() == 32) std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::vector<uint8_t> Vec(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// A relay's ntor keys: ID (any 32 bytes here), b and B.
struct Relay {
  Key id{}, b{}, b_public{};
  Relay() {
    randombytes_buf(id.data(), id.size());
    randombytes_buf(b.data(), b.size());
    crypto_scalarmult_base(b_public.data(), b.data());
  }
};

class NtorTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(NtorTest, SuiteTableMatchesTheSpecAndTheEngine) {
  ASSERT_EQ(AllNtorSuites().size(), 3u);
  const NtorSuite* tor1 = FindNtorSuiteByHtype(0x0101);
  const NtorSuite* aez = FindNtorSuiteByHtype(0x0102);
  const NtorSuite* cgo = FindNtorSuiteByHtype(0x0103);
  ASSERT_NE(tor1, nullptr);
  ASSERT_NE(aez, nullptr);
  ASSERT_NE(cgo, nullptr);
  EXPECT_EQ(tor1->protoid, "ntor-curve25519-sha256-relaycell-tor1");
  EXPECT_EQ(aez->protoid, "ntor-curve25519-sha256-aez-1");
  EXPECT_EQ(cgo->protoid, "ntor-curve25519-sha256-relaycell-cgo");
  EXPECT_EQ(tor1->key_material_bytes, 72u);
  EXPECT_EQ(aez->key_material_bytes, 32u);
  EXPECT_EQ(cgo->key_material_bytes, 160u);
  EXPECT_EQ(FindNtorSuiteByHtype(0x0002), nullptr);  // Tor's own ntor is not offered
  EXPECT_EQ(FindNtorSuiteByHtype(0x0104), nullptr);
  EXPECT_EQ(FindNtorSuiteBySuiteName("nope"), nullptr);
  for (const NtorSuite& suite : AllNtorSuites()) {
    EXPECT_EQ(FindNtorSuiteBySuiteName(suite.suite_name), &suite);
    EXPECT_EQ(FindNtorSuiteByHtype(suite.htype), &suite);
    // The engine takes exactly this much key material as the suite's seed.
    const CellSuite* cell_suite = FindSuite(suite.suite_name);
    ASSERT_NE(cell_suite, nullptr) << suite.suite_name;
    EXPECT_GE(suite.key_material_bytes, cell_suite->min_seed_bytes()) << suite.suite_name;
    EXPECT_LE(suite.key_material_bytes, cell_suite->max_seed_bytes()) << suite.suite_name;
  }
}

TEST_F(NtorTest, KnownAnswers) {
  std::ifstream file(std::string(RELAYCELL_VECTORS) + "/ntor.json");
  ASSERT_TRUE(file) << RELAYCELL_VECTORS "/ntor.json";
  const nlohmann::json doc = nlohmann::json::parse(file);
  const nlohmann::json& vectors = doc.at("vectors");
  ASSERT_EQ(vectors.size(), 2 * AllNtorSuites().size());
  size_t per_suite[3] = {};
  for (const nlohmann::json& v : vectors) {
    const NtorSuite* suite = FindNtorSuiteByHtype(v.at("htype").get<uint16_t>());
    ASSERT_NE(suite, nullptr);
    SCOPED_TRACE(std::string(suite->suite_name));
    EXPECT_EQ(suite->suite_name, v.at("suite").get<std::string>());
    EXPECT_EQ(suite->protoid, v.at("protoid").get<std::string>());
    ++per_suite[suite->htype - kHtypeNtorTor1];

    // The relay's keys from the fixed seeds.
    const Key seed = Hex32(v.at("identity_seed"));
    Key id{};
    std::array<uint8_t, 64> identity_secret{};
    crypto_sign_seed_keypair(id.data(), identity_secret.data(), seed.data());
    EXPECT_EQ(id, Hex32(v.at("ID")));
    const Key b = Hex32(v.at("b"));
    Key b_public{};
    crypto_scalarmult_base(b_public.data(), b.data());
    EXPECT_EQ(b_public, Hex32(v.at("B")));

    NtorClient client;
    std::array<uint8_t, kNtorClientHdataBytes> create{};
    ASSERT_EQ(client.StartWithSecret(*suite, id, b_public, Hex32(v.at("x")), create),
              NtorError::kOk);
    EXPECT_EQ(Vec(create), Hex(v.at("client_hdata")));
    EXPECT_EQ(Vec(std::span(create).subspan(64)), Hex(v.at("X")));
    EXPECT_EQ(client.suite(), suite);

    std::array<uint8_t, kNtorServerHdataBytes> created{};
    HopKeyMaterial server_keys;
    ASSERT_EQ(NtorServerRespondWithSecret(*suite, id, b_public, b, Hex32(v.at("y")), create,
                                          created, server_keys),
              NtorError::kOk);
    EXPECT_EQ(Vec(created), Hex(v.at("server_hdata")));
    EXPECT_EQ(Vec(std::span(created).first(32)), Hex(v.at("Y")));
    EXPECT_EQ(Vec(std::span(created).subspan(32)), Hex(v.at("auth")));
    EXPECT_EQ(Vec(server_keys.bytes()), Hex(v.at("key_material")));

    HopKeyMaterial client_keys;
    ASSERT_EQ(client.Finish(created, client_keys), NtorError::kOk);
    EXPECT_EQ(Vec(client_keys.bytes()), Hex(v.at("key_material")));
    EXPECT_EQ(client_keys.bytes().size(), suite->key_material_bytes);
    if (suite->key_output == NtorKeyOutput::kKeySeed) {
      EXPECT_EQ(Vec(client_keys.bytes()), Hex(v.at("key_seed")));
    } else {
      EXPECT_NE(Vec(client_keys.bytes().first(32)), Hex(v.at("key_seed")));
    }
    // One handshake per Start: a second Finish has no x.
    HopKeyMaterial again;
    EXPECT_EQ(client.Finish(created, again), NtorError::kNotStarted);
    EXPECT_TRUE(again.empty());
  }
  for (size_t count : per_suite) EXPECT_EQ(count, 2u);
}

TEST_F(NtorTest, RandomHandshakeAgreesForEverySuite) {
  for (const NtorSuite& suite : AllNtorSuites()) {
    SCOPED_TRACE(std::string(suite.suite_name));
    const Relay relay;
    std::vector<uint8_t> first_keys;
    for (int round = 0; round < 2; ++round) {
      NtorClient client;
      std::array<uint8_t, kNtorClientHdataBytes> create{};
      ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
      EXPECT_EQ(Vec(std::span(create).first(32)), Vec(relay.id));
      EXPECT_EQ(Vec(std::span(create).subspan(32, 32)), Vec(relay.b_public));
      std::array<uint8_t, kNtorServerHdataBytes> created{};
      HopKeyMaterial server_keys, client_keys;
      ASSERT_EQ(
          NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, server_keys),
          NtorError::kOk);
      ASSERT_EQ(client.Finish(created, client_keys), NtorError::kOk);
      ASSERT_EQ(client_keys.bytes().size(), suite.key_material_bytes);
      EXPECT_EQ(Vec(client_keys.bytes()), Vec(server_keys.bytes()));
      // Fresh x and y each time: fresh keys.
      if (round == 0) first_keys = Vec(client_keys.bytes());
      if (round == 1) {
        EXPECT_NE(Vec(client_keys.bytes()), first_keys);
      }

      // The engine builds the hop from either side's material.
      const CellSuite* cell_suite = FindSuite(suite.suite_name);
      ASSERT_NE(cell_suite, nullptr);
      HopLayers layers;
      EXPECT_EQ(cell_suite->MakeHop(client_keys.bytes(), layers), SuiteError::kOk);
    }
  }
}

TEST_F(NtorTest, KeyMaterialMovesAndWipes) {
  const NtorSuite& suite = *FindNtorSuiteBySuiteName("cgo");
  const Relay relay;
  NtorClient client;
  std::array<uint8_t, kNtorClientHdataBytes> create{};
  std::array<uint8_t, kNtorServerHdataBytes> created{};
  HopKeyMaterial server_keys, client_keys;
  ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
  ASSERT_EQ(
      NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, server_keys),
      NtorError::kOk);
  // A moved client still finishes; the moved-from one has nothing under way.
  NtorClient moved = std::move(client);
  EXPECT_EQ(client.suite(), nullptr);
  ASSERT_EQ(moved.Finish(created, client_keys), NtorError::kOk);

  const std::vector<uint8_t> expected = Vec(client_keys.bytes());
  HopKeyMaterial taken = std::move(client_keys);
  EXPECT_TRUE(client_keys.empty());
  EXPECT_EQ(Vec(taken.bytes()), expected);
  taken.Wipe();
  EXPECT_TRUE(taken.empty());
  EXPECT_TRUE(taken.bytes().empty());
}

TEST_F(NtorTest, ServerRefusesWrongLengthIdentityAndOnionKey) {
  const NtorSuite& suite = *FindNtorSuiteBySuiteName("aez");
  const Relay relay;
  NtorClient client;
  std::array<uint8_t, kNtorClientHdataBytes> create{};
  ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
  std::array<uint8_t, kNtorServerHdataBytes> created{};
  HopKeyMaterial keys;

  // Short (Tor's own 84-byte onionskin among them) and long.
  for (size_t length : {size_t{0}, size_t{84}, size_t{95}}) {
    EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b,
                                std::span(create).first(length), created, keys),
              NtorError::kBadLength)
        << length;
  }
  std::vector<uint8_t> longer(create.begin(), create.end());
  longer.push_back(0);
  EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b, longer, created, keys),
            NtorError::kBadLength);

  // Another relay's ID, another onion key: not ours.
  const Relay other;
  EXPECT_EQ(NtorServerRespond(suite, other.id, relay.b_public, relay.b, create, created, keys),
            NtorError::kWrongIdentity);
  EXPECT_EQ(NtorServerRespond(suite, relay.id, other.b_public, other.b, create, created, keys),
            NtorError::kWrongIdentity);
  std::array<uint8_t, kNtorClientHdataBytes> flipped = create;
  flipped[31] ^= 0x01;  // last byte of ID
  EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b, flipped, created, keys),
            NtorError::kWrongIdentity);
  flipped = create;
  flipped[32] ^= 0x80;  // first byte of B
  EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b, flipped, created, keys),
            NtorError::kWrongIdentity);
  // Nothing came out of any refusal.
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(created, (std::array<uint8_t, kNtorServerHdataBytes>{}));

  // The genuine one still works after all that.
  EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, keys),
            NtorError::kOk);
  EXPECT_FALSE(keys.empty());
}

TEST_F(NtorTest, ClientRefusesWrongLengthAndAnyFlippedBit) {
  const NtorSuite& suite = *FindNtorSuiteBySuiteName("tor1");
  const Relay relay;
  std::array<uint8_t, kNtorClientHdataBytes> create{};
  std::array<uint8_t, kNtorServerHdataBytes> created{};

  for (size_t length : {size_t{0}, size_t{63}, size_t{65}}) {
    NtorClient client;
    HopKeyMaterial server_keys, client_keys;
    ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
    ASSERT_EQ(
        NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, server_keys),
        NtorError::kOk);
    std::vector<uint8_t> reply(created.begin(), created.end());
    reply.resize(length);
    EXPECT_EQ(client.Finish(reply, client_keys), NtorError::kBadLength) << length;
    EXPECT_TRUE(client_keys.empty());
    // x is gone: the genuine reply cannot be finished afterwards.
    EXPECT_EQ(client.Finish(created, client_keys), NtorError::kNotStarted);
  }

  // Every bit of AUTH matters; a flipped bit of Y changes secret_input and so AUTH too (even
  // Y's top bit, which X25519 itself ignores).
  for (size_t bit = 0; bit < 8 * kNtorServerHdataBytes; ++bit) {
    NtorClient client;
    HopKeyMaterial server_keys, client_keys;
    ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
    ASSERT_EQ(
        NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, server_keys),
        NtorError::kOk);
    std::array<uint8_t, kNtorServerHdataBytes> bad = created;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(client.Finish(bad, client_keys), NtorError::kBadAuth) << bit;
    EXPECT_TRUE(client_keys.empty()) << bit;
  }

  // A client that started towards another onion key than the relay's gets kBadAuth too
  // (the relay itself would refuse it; here the relay answers as if it were B).
  {
    const Relay other;
    NtorClient client;
    HopKeyMaterial server_keys, client_keys;
    ASSERT_EQ(client.Start(suite, relay.id, other.b_public, create), NtorError::kOk);
    ASSERT_EQ(
        NtorServerRespond(suite, relay.id, other.b_public, relay.b, create, created, server_keys),
        NtorError::kOk);
    EXPECT_EQ(client.Finish(created, client_keys), NtorError::kBadAuth);
  }
}

TEST_F(NtorTest, LowOrderPointsGiveZeroSharedSecret) {
  // X25519 points of small order: every (clamped) scalar sends them to zero.
  const std::vector<Key> low_order = {
      Hex32("0000000000000000000000000000000000000000000000000000000000000000"),
      Hex32("0100000000000000000000000000000000000000000000000000000000000000"),
      Hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
      Hex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
  };
  for (const NtorSuite& suite : AllNtorSuites()) {
    SCOPED_TRACE(std::string(suite.suite_name));
    const Relay relay;
    for (const Key& point : low_order) {
      // The relay, given such an X.
      std::array<uint8_t, kNtorClientHdataBytes> create{};
      std::copy(relay.id.begin(), relay.id.end(), create.begin());
      std::copy(relay.b_public.begin(), relay.b_public.end(), create.begin() + 32);
      std::copy(point.begin(), point.end(), create.begin() + 64);
      std::array<uint8_t, kNtorServerHdataBytes> created{};
      created.fill(0xaa);
      HopKeyMaterial keys;
      EXPECT_EQ(NtorServerRespond(suite, relay.id, relay.b_public, relay.b, create, created, keys),
                NtorError::kZeroSharedSecret);
      EXPECT_TRUE(keys.empty());
      EXPECT_EQ(created, (std::array<uint8_t, kNtorServerHdataBytes>{}));

      // The client, given such a Y.
      NtorClient client;
      ASSERT_EQ(client.Start(suite, relay.id, relay.b_public, create), NtorError::kOk);
      std::array<uint8_t, kNtorServerHdataBytes> reply{};
      std::copy(point.begin(), point.end(), reply.begin());
      EXPECT_EQ(client.Finish(reply, keys), NtorError::kZeroSharedSecret);
      EXPECT_TRUE(keys.empty());

      // The client, given such a B (a descriptor with a bad onion key).
      NtorClient towards_bad_b;
      ASSERT_EQ(towards_bad_b.Start(suite, relay.id, point, create), NtorError::kOk);
      std::array<uint8_t, kNtorServerHdataBytes> genuine_y{};
      Key y{}, y_public{};
      randombytes_buf(y.data(), y.size());
      crypto_scalarmult_base(y_public.data(), y.data());
      std::copy(y_public.begin(), y_public.end(), genuine_y.begin());
      EXPECT_EQ(towards_bad_b.Finish(genuine_y, keys), NtorError::kZeroSharedSecret);
    }
  }
}

TEST_F(NtorTest, RefusesASuiteNotFromTheTable) {
  NtorSuite forged = *FindNtorSuiteBySuiteName("aez");
  const Relay relay;
  NtorClient client;
  std::array<uint8_t, kNtorClientHdataBytes> create{};
  EXPECT_EQ(client.Start(forged, relay.id, relay.b_public, create), NtorError::kUnknownSuite);
  std::array<uint8_t, kNtorServerHdataBytes> created{};
  HopKeyMaterial keys;
  EXPECT_EQ(NtorServerRespond(forged, relay.id, relay.b_public, relay.b, create, created, keys),
            NtorError::kUnknownSuite);
  HopKeyMaterial out;
  EXPECT_EQ(client.Finish(created, out), NtorError::kNotStarted);
}

TEST_F(NtorTest, ErrorNamesAreDistinct) {
  const NtorError all[] = {NtorError::kOk,
                           NtorError::kBadLength,
                           NtorError::kWrongIdentity,
                           NtorError::kZeroSharedSecret,
                           NtorError::kBadAuth,
                           NtorError::kNoLockedMemory,
                           NtorError::kNotStarted,
                           NtorError::kCryptoFailed,
                           NtorError::kUnknownSuite};
  for (NtorError a : all) {
    EXPECT_STRNE(NtorErrorName(a), "unknown");
    for (NtorError b : all) {
      if (a != b) {
        EXPECT_STRNE(NtorErrorName(a), NtorErrorName(b));
      }
    }
  }
}

}  // namespace
}  // namespace relaycell::net
