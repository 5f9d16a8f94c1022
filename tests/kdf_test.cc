// SHAKE256 against FIPS 202 values, and the hop / rekey KDF layouts of protocol §3.
#include "engine/common/kdf.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace relaycell {
namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  std::string s;
  char buf[3];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    s += buf;
  }
  return s;
}

TEST(Shake256, Fips202Vectors) {
  std::ifstream in(std::string(RELAYCELL_VECTORS) + "/shake256.json");
  ASSERT_TRUE(in) << "cannot open shake256.json";
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_TRUE(doc.is_array());
  ASSERT_GE(doc.size(), 2u);
  for (const auto& v : doc) {
    const auto msg = FromHex(v.at("msg").get<std::string>());
    std::vector<uint8_t> out(v.at("out_len").get<size_t>());
    ASSERT_TRUE(Shake256({msg}, out));
    EXPECT_EQ(ToHex(out), v.at("out").get<std::string>());
  }
}

TEST(Shake256, PartsAreConcatenated) {
  std::vector<uint8_t> whole(200, 0xa3), a(whole.begin(), whole.begin() + 7),
      b(whole.begin() + 7, whole.end());
  uint8_t one[64], two[64];
  ASSERT_TRUE(Shake256({whole}, one));
  ASSERT_TRUE(Shake256({a, {}, b}, two));
  EXPECT_EQ(ToHex(one), ToHex(two));
}

TEST(Kdf, HopKeysAreShakeOfEncapsulatedLabelAndSeed) {
  std::vector<uint8_t> seed(32);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = uint8_t(i);
  uint8_t out[kKdfOutputBytes];
  ASSERT_EQ(DeriveHopKeys(seed, out), KdfError::kOk);
  // Built independently: the 8-byte big-endian length 19, the label, the seed.
  std::vector<uint8_t> input = {0, 0, 0, 0, 0, 0, 0, 19};
  const std::string label = "relaycell-aez-1:kdf";
  input.insert(input.end(), label.begin(), label.end());
  input.insert(input.end(), seed.begin(), seed.end());
  uint8_t expect[kKdfOutputBytes];
  ASSERT_TRUE(Shake256({input}, expect));
  EXPECT_EQ(ToHex(out), ToHex(expect));
  const auto view = SplitKeyMaterial(out);
  EXPECT_EQ(view.aez_key.data(), out);
  EXPECT_EQ(view.chain_key.data(), out + 48);
  EXPECT_EQ(view.chain_fwd.data(), out + 80);
  EXPECT_EQ(view.chain_bwd.data(), out + 96);
}

TEST(Kdf, ShortSeedIsRefusedAndOutputWiped) {
  std::vector<uint8_t> seed(31, 7);
  uint8_t out[kKdfOutputBytes];
  std::fill(std::begin(out), std::end(out), 0xff);
  EXPECT_EQ(DeriveHopKeys(seed, out), KdfError::kSeedTooShort);
  for (uint8_t b : out) ASSERT_EQ(b, 0);
}

TEST(Kdf, RekeyIsShakeOfKeyAndData) {
  uint8_t key[48], data[32];
  for (int i = 0; i < 48; ++i) key[i] = uint8_t(0x40 + i);
  for (int i = 0; i < 32; ++i) data[i] = uint8_t(0x90 + i);
  uint8_t out[kKdfOutputBytes], expect[kKdfOutputBytes];
  ASSERT_EQ(DeriveRekeyKeys(key, data, out), KdfError::kOk);
  std::vector<uint8_t> input(key, key + 48);
  input.insert(input.end(), data, data + 32);
  ASSERT_TRUE(Shake256({input}, expect));
  EXPECT_EQ(ToHex(out), ToHex(expect));
}

// The command line prints the same bytes and refuses bad input with exit status 2.
std::string RunCapture(const std::string& args, int& status) {
  std::string command = std::string(RELAYCELL_BINARY) + " kdf " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buf[512];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  status = pipe == nullptr ? -1 : pclose(pipe);
  return output;
}

TEST(KdfCommand, SeedAndRekeyOutputsAndErrors) {
  std::string seed_hex;
  std::vector<uint8_t> seed(40);
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = uint8_t(3 * i + 1);
  seed_hex = ToHex(seed);
  uint8_t expect[kKdfOutputBytes];
  ASSERT_EQ(DeriveHopKeys(seed, expect), KdfError::kOk);
  int status = 0;
  EXPECT_EQ(RunCapture("--seed " + seed_hex, status), ToHex(expect) + "\n");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  const std::string key_hex = ToHex(std::span<const uint8_t>(expect, 48));
  uint8_t rekeyed[kKdfOutputBytes];
  ASSERT_EQ(DeriveRekeyKeys(std::span<const uint8_t, 48>(expect, 48),
                            std::span<const uint8_t>(seed), rekeyed),
            KdfError::kOk);
  EXPECT_EQ(RunCapture("--rekey " + key_hex + " " + seed_hex, status), ToHex(rekeyed) + "\n");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  for (const std::string& bad : std::vector<std::string>{
           "--seed 00ff", "--seed zz" + seed_hex, "--seed abc", "--rekey 00 " + seed_hex,
           "--rekey " + key_hex + " 0g", "", "--bogus"}) {
    EXPECT_EQ(RunCapture(bad, status), "") << bad;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << bad;
  }
}

}  // namespace
}  // namespace relaycell
