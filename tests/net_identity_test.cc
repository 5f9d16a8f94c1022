// A relay's keys and descriptors (net/identity/): generate / write / load, the key files'
// permission, size and consistency checks, onion_cert, descriptor JSON and every malformed
// field, and the network file's writing and reading rules.
#include "net/identity/descriptor.h"
#include "net/identity/relay_keys.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace relaycell::net {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<uint8_t> Vec(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

std::vector<uint8_t> Hex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  size_t length = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &length, nullptr) !=
          0 ||
      length != out.size()) {
    ADD_FAILURE() << "bad hex: " << hex;
  }
  return out;
}

// A fresh directory under the test's temporary directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "relaycell_keys_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

class IdentityTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(IdentityTest, GeneratedKeysAreConsistent) {
  RelayKeys keys;
  EXPECT_FALSE(keys.has_secrets());
  ASSERT_TRUE(GenerateRelayKeys(keys));
  ASSERT_TRUE(keys.has_secrets());
  // identity_secret is libsodium's seed | pk, and pk is the ID.
  std::array<uint8_t, 32> pk{};
  std::array<uint8_t, 64> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), keys.identity_seed().data());
  EXPECT_EQ(pk, keys.identity);
  EXPECT_EQ(Vec(sk), Vec(keys.identity_secret()));
  std::array<uint8_t, 32> onion_public{};
  crypto_scalarmult_base(onion_public.data(), keys.onion_secret().data());
  EXPECT_EQ(onion_public, keys.onion_public);
  EXPECT_TRUE(VerifyOnionCert(keys.identity, keys.onion_public, keys.onion_cert));

  RelayKeys other;
  ASSERT_TRUE(GenerateRelayKeys(other));
  EXPECT_NE(other.identity, keys.identity);
  EXPECT_NE(other.onion_public, keys.onion_public);

  // Moving takes the secrets along; Wipe leaves nothing.
  const auto identity = keys.identity;
  RelayKeys moved = std::move(keys);
  EXPECT_FALSE(keys.has_secrets());
  EXPECT_EQ(keys.identity, (std::array<uint8_t, 32>{}));
  EXPECT_EQ(moved.identity, identity);
  EXPECT_TRUE(moved.has_secrets());
  moved.Wipe();
  EXPECT_FALSE(moved.has_secrets());
  EXPECT_EQ(moved.identity, (std::array<uint8_t, 32>{}));
}

TEST_F(IdentityTest, OnionCertVerifiesAndEveryFlippedBitFails) {
  RelayKeys keys, other;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  ASSERT_TRUE(GenerateRelayKeys(other));
  ASSERT_TRUE(VerifyOnionCert(keys.identity, keys.onion_public, keys.onion_cert));
  for (size_t bit = 0; bit < 8 * kOnionCertBytes; ++bit) {
    auto cert = keys.onion_cert;
    cert[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(VerifyOnionCert(keys.identity, keys.onion_public, cert)) << bit;
  }
  auto onion = keys.onion_public;
  onion[0] ^= 1;
  EXPECT_FALSE(VerifyOnionCert(keys.identity, onion, keys.onion_cert));
  // Another relay's cert, or this cert under another identity.
  EXPECT_FALSE(VerifyOnionCert(keys.identity, keys.onion_public, other.onion_cert));
  EXPECT_FALSE(VerifyOnionCert(other.identity, keys.onion_public, keys.onion_cert));
  // The label is part of what is signed: a bare signature over the key does not pass.
  std::array<uint8_t, 64> bare{};
  crypto_sign_detached(bare.data(), nullptr, keys.onion_public.data(), 32,
                       keys.identity_secret().data());
  EXPECT_FALSE(VerifyOnionCert(keys.identity, keys.onion_public, bare));
}

TEST_F(IdentityTest, OnionCertMatchesTheIndependentVectors) {
  // tests/ntor_vectors.py signs "relaycell-onion-key-v1" || B with python3-cryptography.
  std::ifstream file(std::string(RELAYCELL_VECTORS) + "/ntor.json");
  ASSERT_TRUE(file);
  const Json doc = Json::parse(file);
  ASSERT_FALSE(doc.at("vectors").empty());
  for (const Json& v : doc.at("vectors")) {
    const std::vector<uint8_t> seed = Hex(v.at("identity_seed"));
    ASSERT_EQ(seed.size(), 32u);
    std::array<uint8_t, 32> pk{};
    std::array<uint8_t, 64> sk{};
    crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
    std::array<uint8_t, 32> onion{};
    const std::vector<uint8_t> b = Hex(v.at("B"));
    std::copy(b.begin(), b.end(), onion.begin());
    std::array<uint8_t, 64> cert{};
    ASSERT_TRUE(SignOnionCert(sk, onion, cert));
    EXPECT_EQ(Vec(cert), Hex(v.at("onion_cert")));
    EXPECT_TRUE(VerifyOnionCert(pk, onion, cert));
  }
}

TEST_F(IdentityTest, WriteLoadRoundTrip) {
  TempDir dir;
  const std::string data = dir.path() + "/data";  // created by WriteRelayKeys
  RelayKeys keys;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  std::string error;
  ASSERT_TRUE(WriteRelayKeys(data, keys, &error)) << error;
  struct stat st;
  ASSERT_EQ(stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* name : {"identity_key", "onion_key"}) {
    const std::string path = data + "/" + name;
    ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << path;
    EXPECT_EQ(st.st_size, 64) << path;
  }
  // The documented layouts.
  EXPECT_EQ(ReadFile(data + "/identity_key"), Vec(keys.identity_secret()));
  std::vector<uint8_t> onion_file = Vec(keys.onion_secret());
  onion_file.insert(onion_file.end(), keys.onion_public.begin(), keys.onion_public.end());
  EXPECT_EQ(ReadFile(data + "/onion_key"), onion_file);

  RelayKeys loaded;
  ASSERT_TRUE(LoadRelayKeys(data, loaded, &error)) << error;
  EXPECT_EQ(loaded.identity, keys.identity);
  EXPECT_EQ(loaded.onion_public, keys.onion_public);
  EXPECT_EQ(loaded.onion_cert, keys.onion_cert);  // recomputed; Ed25519 is deterministic
  EXPECT_EQ(Vec(loaded.identity_secret()), Vec(keys.identity_secret()));
  EXPECT_EQ(Vec(loaded.onion_secret()), Vec(keys.onion_secret()));
  // A trailing slash names the same directory.
  RelayKeys again;
  EXPECT_TRUE(LoadRelayKeys(data + "/", again, &error)) << error;
  EXPECT_EQ(again.identity, keys.identity);
}

TEST_F(IdentityTest, WriteRefusesToOverwrite) {
  TempDir dir;
  RelayKeys keys, other;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  ASSERT_TRUE(GenerateRelayKeys(other));
  std::string error;
  ASSERT_TRUE(WriteRelayKeys(dir.path(), keys, &error)) << error;
  const std::vector<uint8_t> before = ReadFile(dir.File("identity_key"));
  EXPECT_FALSE(WriteRelayKeys(dir.path(), other, &error));
  EXPECT_TRUE(Contains(error, dir.File("identity_key")));
  EXPECT_EQ(ReadFile(dir.File("identity_key")), before);

  // Only onion_key there: refused naming it, and no identity_key is left behind.
  TempDir half;
  WriteFile(half.File("onion_key"), std::vector<uint8_t>(64, 7));
  EXPECT_FALSE(WriteRelayKeys(half.path(), keys, &error));
  EXPECT_TRUE(Contains(error, half.File("onion_key")));
  EXPECT_FALSE(fs::exists(half.File("identity_key")));

  RelayKeys empty;
  EXPECT_FALSE(WriteRelayKeys(dir.path() + "/empty", empty, &error));
}

TEST_F(IdentityTest, LoadRefusesGroupOrOtherPermission) {
  RelayKeys keys;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  for (const char* name : {"identity_key", "onion_key"}) {
    for (mode_t mode : {mode_t{0640}, mode_t{0604}, mode_t{0610}, mode_t{0601}}) {
      TempDir dir;
      std::string error;
      ASSERT_TRUE(WriteRelayKeys(dir.path(), keys, &error)) << error;
      ASSERT_EQ(chmod(dir.File(name).c_str(), mode), 0);
      RelayKeys loaded;
      EXPECT_FALSE(LoadRelayKeys(dir.path(), loaded, &error)) << name << " " << mode;
      EXPECT_TRUE(Contains(error, dir.File(name)));
      char mode_text[8];
      std::snprintf(mode_text, sizeof mode_text, "%04o", static_cast<unsigned>(mode));
      EXPECT_TRUE(Contains(error, mode_text));
      EXPECT_FALSE(loaded.has_secrets());
      EXPECT_EQ(loaded.identity, (std::array<uint8_t, 32>{}));
      // 0400 is fine.
      ASSERT_EQ(chmod(dir.File(name).c_str(), 0400), 0);
      EXPECT_TRUE(LoadRelayKeys(dir.path(), loaded, &error)) << error;
    }
  }
}

TEST_F(IdentityTest, LoadRefusesWrongSizeMissingAndMismatchedFiles) {
  RelayKeys keys;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  std::string error;
  RelayKeys loaded;
  for (const char* name : {"identity_key", "onion_key"}) {
    for (size_t size : {size_t{0}, size_t{32}, size_t{63}, size_t{65}}) {
      TempDir dir;
      ASSERT_TRUE(WriteRelayKeys(dir.path(), keys, &error)) << error;
      std::vector<uint8_t> bytes = ReadFile(dir.File(name));
      bytes.resize(size, 0);
      WriteFile(dir.File(name), bytes);
      ASSERT_EQ(chmod(dir.File(name).c_str(), 0600), 0);
      EXPECT_FALSE(LoadRelayKeys(dir.path(), loaded, &error)) << name << " " << size;
      EXPECT_TRUE(Contains(error, dir.File(name)));
      EXPECT_TRUE(Contains(error, std::to_string(size) + " bytes"));
    }
    {
      TempDir dir;
      ASSERT_TRUE(WriteRelayKeys(dir.path(), keys, &error)) << error;
      ASSERT_EQ(unlink(dir.File(name).c_str()), 0);
      EXPECT_FALSE(LoadRelayKeys(dir.path(), loaded, &error));
      EXPECT_TRUE(Contains(error, dir.File(name)));
    }
    {
      // The public half does not match the secret half (a byte of each flipped in turn).
      for (size_t at : {size_t{5}, size_t{40}}) {
        TempDir dir;
        ASSERT_TRUE(WriteRelayKeys(dir.path(), keys, &error)) << error;
        std::vector<uint8_t> bytes = ReadFile(dir.File(name));
        bytes[at] ^= 0x10;
        WriteFile(dir.File(name), bytes);
        EXPECT_FALSE(LoadRelayKeys(dir.path(), loaded, &error)) << name << " " << at;
        EXPECT_TRUE(Contains(error, dir.File(name)));
        EXPECT_TRUE(Contains(error, "does not match"));
        EXPECT_FALSE(loaded.has_secrets());
      }
    }
  }
  // Another relay's onion key with this identity: each file is whole, so the load succeeds and
  // signs that onion key afresh.
  RelayKeys other;
  ASSERT_TRUE(GenerateRelayKeys(other));
  TempDir a, b;
  ASSERT_TRUE(WriteRelayKeys(a.path(), keys, &error));
  ASSERT_TRUE(WriteRelayKeys(b.path(), other, &error));
  fs::copy_file(b.File("onion_key"), a.File("onion_key"), fs::copy_options::overwrite_existing);
  ASSERT_TRUE(LoadRelayKeys(a.path(), loaded, &error)) << error;
  EXPECT_EQ(loaded.identity, keys.identity);
  EXPECT_EQ(loaded.onion_public, other.onion_public);
  EXPECT_TRUE(VerifyOnionCert(loaded.identity, loaded.onion_public, loaded.onion_cert));
}

// --- descriptors ---

std::vector<std::string> AllSuites() { return {"aez", "tor1", "cgo"}; }

RelayDescriptor Descriptor(const RelayKeys& keys, const std::string& nickname,
                           const std::string& address = "127.0.0.1", uint16_t port = 9001) {
  return MakeDescriptor(keys, nickname, address, port, false, AllSuites());
}

void ExpectSame(const RelayDescriptor& a, const RelayDescriptor& b) {
  EXPECT_EQ(a.nickname, b.nickname);
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.identity, b.identity);
  EXPECT_EQ(a.onion_key, b.onion_key);
  EXPECT_EQ(a.onion_cert, b.onion_cert);
  EXPECT_EQ(a.exit, b.exit);
  EXPECT_EQ(a.suites, b.suites);
}

TEST_F(IdentityTest, DescriptorJsonRoundTrip) {
  RelayKeys keys;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  for (const char* address : {"127.0.0.1", "::1", "2001:db8::7"}) {
    RelayDescriptor d = MakeDescriptor(keys, "relay1", address, 443, true, {"tor1", "aez"});
    EXPECT_EQ(d.identity, keys.identity);
    EXPECT_EQ(d.onion_key, keys.onion_public);
    EXPECT_TRUE(DescriptorCertValid(d));
    const std::string text = DescriptorToJson(d);
    // Pretty, the keys in the spec's order.
    EXPECT_TRUE(Contains(text, "\n  \"nickname\": \"relay1\""));
    EXPECT_LT(text.find("\"nickname\""), text.find("\"suites\""));
    RelayDescriptor back;
    std::string error;
    ASSERT_TRUE(ParseDescriptor(Json::parse(text), back, &error)) << error;
    ExpectSame(d, back);
    EXPECT_TRUE(DescriptorCertValid(back));
  }
  // Upper-case hex is read too; unknown keys are ignored.
  RelayDescriptor d = Descriptor(keys, "relay1");
  Json json = Json::parse(DescriptorToJson(d));
  std::string identity = json["identity"];
  for (char& c : identity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  json["identity"] = identity;
  json["comment"] = "a later version's key";
  RelayDescriptor back;
  std::string error;
  ASSERT_TRUE(ParseDescriptor(json, back, &error)) << error;
  EXPECT_EQ(back.identity, keys.identity);
}

struct BadField {
  const char* key;
  Json value;  // null: the key removed
  const char* problem;
};

TEST_F(IdentityTest, EachMalformedFieldIsRefusedNamingTheKey) {
  RelayKeys keys;
  ASSERT_TRUE(GenerateRelayKeys(keys));
  const Json good = Json::parse(DescriptorToJson(Descriptor(keys, "relay2")));
  const std::string hex64(64, 'a');
  const std::vector<BadField> cases = {
      {"identity", "zz" + hex64.substr(2), "hex digits"},
      {"identity", hex64.substr(2), "hex digits"},
      {"identity", hex64 + "aa", "hex digits"},
      {"identity", 12, "hex digits"},
      {"onion_key", hex64.substr(1), "hex digits"},
      {"onion_key", "g" + hex64.substr(1), "hex digits"},
      {"onion_cert", hex64, "128 hex digits"},
      {"onion_cert", hex64 + hex64.substr(1) + "x", "128 hex digits"},
      {"port", 0, "1..65535"},
      {"port", 70000, "1..65535"},
      {"port", -1, "1..65535"},
      {"port", "9001", "integer"},
      {"port", 9001.5, "integer"},
      {"address", "localhost", "literal IPv4 or IPv6"},
      {"address", "[::1]", "literal IPv4 or IPv6"},
      {"address", "1.2.3", "literal IPv4 or IPv6"},
      {"address", "127.0.0.1:80", "literal IPv4 or IPv6"},
      {"address", 2130706433, "string"},
      {"suites", Json::array({"aez", "rot13"}), "unknown suite \"rot13\""},
      {"suites", Json::array(), "non-empty"},
      {"suites", Json::array({"aez", "aez"}), "twice"},
      {"suites", "aez", "array"},
      {"suites", Json::array({1}), "array"},
      {"exit", "yes", "true or false"},
      {"exit", 1, "true or false"},
      {"nickname", "", "characters"},
      {"nickname", "two words", "characters"},
      {"nickname", std::string(33, 'n'), "characters"},
      {"nickname", 5, "string"},
  };
  for (const BadField& c : cases) {
    Json bad = good;
    bad[c.key] = c.value;
    RelayDescriptor out;
    std::string error;
    EXPECT_FALSE(ParseDescriptor(bad, out, &error)) << c.key << " = " << c.value.dump();
    EXPECT_TRUE(Contains(error, std::string("key \"") + c.key + "\"")) << c.value.dump();
    EXPECT_TRUE(Contains(error, c.problem)) << c.key << " = " << c.value.dump();
    if (std::string(c.key) != "nickname") {
      EXPECT_TRUE(Contains(error, "descriptor \"relay2\"")) << error;
    }
  }
  // The spec's own example.
  {
    Json bad = good;
    bad["port"] = 0;
    RelayDescriptor out;
    std::string error;
    ASSERT_FALSE(ParseDescriptor(bad, out, &error));
    EXPECT_EQ(error, "descriptor \"relay2\": key \"port\": must be 1..65535");
  }
  for (const char* key :
       {"nickname", "address", "port", "identity", "onion_key", "onion_cert", "exit", "suites"}) {
    Json bad = good;
    bad.erase(key);
    RelayDescriptor out;
    std::string error;
    EXPECT_FALSE(ParseDescriptor(bad, out, &error)) << key;
    EXPECT_TRUE(Contains(error, std::string("key \"") + key + "\": missing"));
  }
  RelayDescriptor out;
  std::string error;
  EXPECT_FALSE(ParseDescriptor(Json::array(), out, &error));
  EXPECT_TRUE(Contains(error, "object"));
}

// --- the network file ---

struct Network {
  std::vector<RelayKeys> keys;
  std::vector<RelayDescriptor> relays;
  explicit Network(size_t n) : keys(n) {
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(GenerateRelayKeys(keys[i]));
      relays.push_back(Descriptor(keys[i], "relay" + std::to_string(i + 1), "127.0.0.1",
                                  static_cast<uint16_t>(9001 + i)));
    }
  }
};

TEST_F(IdentityTest, NetworkFileRoundTrip) {
  Network net(3);
  net.relays[2].exit = true;
  net.relays[1].address = "::1";
  std::string text, error;
  ASSERT_TRUE(BuildNetworkFile(net.relays, text, &error)) << error;
  NetworkFile file;
  std::vector<std::string> left_out = {"stale"};
  ASSERT_TRUE(ParseNetworkFile(text, file, &left_out, &error)) << error;
  EXPECT_TRUE(left_out.empty());
  ASSERT_EQ(file.relays.size(), 3u);
  for (size_t i = 0; i < 3; ++i) ExpectSame(file.relays[i], net.relays[i]);

  // An empty network is a network file too.
  ASSERT_TRUE(BuildNetworkFile({}, text, &error)) << error;
  ASSERT_TRUE(ParseNetworkFile(text, file, nullptr, &error)) << error;
  EXPECT_TRUE(file.relays.empty());
}

TEST_F(IdentityTest, BuildingRefusesABadCertADuplicateAndAMalformedDescriptor) {
  std::string text = "untouched", error;
  {
    Network net(3);
    net.relays[1].onion_cert[10] ^= 0x04;
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_EQ(error, "descriptor \"relay2\": onion_cert does not verify");
  }
  {
    // A cert made by another identity for this onion key.
    Network net(2);
    net.relays[0].onion_key = net.relays[1].onion_key;
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_TRUE(Contains(error, "descriptor \"relay1\": onion_cert does not verify"));
  }
  {
    Network net(3);
    net.relays[2] = Descriptor(net.keys[0], "relay3");
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_TRUE(Contains(error, "descriptor \"relay3\": key \"identity\""));
    EXPECT_TRUE(Contains(error, "\"relay1\""));
  }
  {
    Network net(2);
    net.relays[1].port = 0;
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_EQ(error, "descriptor \"relay2\": key \"port\": must be 1..65535");
    net.relays[1].port = 9002;
    net.relays[1].suites = {"aez", "nope"};
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_TRUE(Contains(error, "key \"suites\""));
  }
  {
    // Bytes that are not UTF-8 neither throw nor get through.
    Network net(1);
    net.relays[0].nickname = "relay\xff";
    EXPECT_NO_THROW(DescriptorToJson(net.relays[0]));
    EXPECT_FALSE(BuildNetworkFile(net.relays, text, &error));
    EXPECT_TRUE(Contains(error, "key \"nickname\""));
  }
  EXPECT_EQ(text, "untouched");
}

// The network file of `relays`, written without BuildNetworkFile's checks.
std::string RawNetworkFile(const std::vector<RelayDescriptor>& relays) {
  Json list = Json::array();
  for (const RelayDescriptor& d : relays) list.push_back(Json::parse(DescriptorToJson(d)));
  return Json{{"relays", list}}.dump();
}

TEST_F(IdentityTest, ReadingLeavesOutABadCertAndSaysSo) {
  Network net(4);
  net.relays[1].onion_cert[0] ^= 0x80;
  net.relays[3].onion_cert[63] ^= 0x01;
  NetworkFile file;
  std::vector<std::string> left_out;
  std::string error;
  ASSERT_TRUE(ParseNetworkFile(RawNetworkFile(net.relays), file, &left_out, &error)) << error;
  ASSERT_EQ(file.relays.size(), 2u);
  EXPECT_EQ(file.relays[0].nickname, "relay1");
  EXPECT_EQ(file.relays[1].nickname, "relay3");
  EXPECT_EQ(left_out, (std::vector<std::string>{"relay2: onion_cert does not verify",
                                                "relay4: onion_cert does not verify"}));
}

TEST_F(IdentityTest, ReadingFailsTheWholeFileOnAnythingElse) {
  Network net(3);
  NetworkFile file;
  file.relays.push_back(net.relays[0]);  // must be cleared by a failed read
  std::vector<std::string> left_out;
  std::string error;

  // Two descriptors with one identity.
  std::vector<RelayDescriptor> dup = net.relays;
  dup[2] = Descriptor(net.keys[0], "relay3");
  EXPECT_FALSE(ParseNetworkFile(RawNetworkFile(dup), file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "relays[2]: descriptor \"relay3\": key \"identity\""));
  EXPECT_TRUE(file.relays.empty());

  // A malformed descriptor anywhere.
  Json doc = Json::parse(RawNetworkFile(net.relays));
  doc["relays"][1]["port"] = 70000;
  EXPECT_FALSE(ParseNetworkFile(doc.dump(), file, &left_out, &error));
  EXPECT_EQ(error, "relays[1]: descriptor \"relay2\": key \"port\": must be 1..65535");
  doc = Json::parse(RawNetworkFile(net.relays));
  doc["relays"][2].erase("onion_key");
  EXPECT_FALSE(ParseNetworkFile(doc.dump(), file, &left_out, &error));
  EXPECT_EQ(error, "relays[2]: descriptor \"relay3\": key \"onion_key\": missing");
  doc = Json::parse(RawNetworkFile(net.relays));
  doc["relays"][0] = "relay1";
  EXPECT_FALSE(ParseNetworkFile(doc.dump(), file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "relays[0]"));

  // Not a network file at all.
  EXPECT_FALSE(ParseNetworkFile("{\"relays\": [", file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "not JSON"));
  EXPECT_FALSE(ParseNetworkFile("[]", file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "object"));
  EXPECT_FALSE(ParseNetworkFile("{}", file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "key \"relays\": missing"));
  EXPECT_FALSE(ParseNetworkFile("{\"relays\": {}}", file, &left_out, &error));
  EXPECT_TRUE(Contains(error, "key \"relays\": must be an array"));
  EXPECT_TRUE(file.relays.empty());
}

}  // namespace
}  // namespace relaycell::net
