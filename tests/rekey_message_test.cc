#include "engine/rekey/rekey_message.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "engine/rekey/rekey_error.h"

namespace relaycell {
namespace {

std::vector<uint8_t> Shake256ClientBytes() {  // method 1, rekey_data 0x00..0x1f
  std::vector<uint8_t> body = {0x00, 0x01};
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i));
  return body;
}

TEST(RekeyBody, DefaultIsAnEmptyAck) {
  const RekeyBody body;
  EXPECT_EQ(body.method(), RekeyMethod::kAck);
  EXPECT_EQ(body.encoded_length(), 2u);
  for (uint8_t b : body.rekey_data()) EXPECT_EQ(b, 0);
}

TEST(RekeyBody, FreshClientBodyHas32CsprngBytes) {
  RekeyBody a, b;
  a.SetFreshShake256Client();
  b.SetFreshShake256Client();
  EXPECT_EQ(a.method(), RekeyMethod::kShake256Client);
  EXPECT_EQ(a.encoded_length(), 34u);
  // Two 256-bit draws agree with probability 2^-256.
  EXPECT_NE(std::vector<uint8_t>(a.rekey_data().begin(), a.rekey_data().end()),
            std::vector<uint8_t>(b.rekey_data().begin(), b.rekey_data().end()));
  a.SetAck();
  for (uint8_t x : a.rekey_data()) EXPECT_EQ(x, 0) << "SetAck wipes the old rekey_data";
}

TEST(RekeyBody, BuildsTheWireLayoutBigEndian) {
  std::array<uint8_t, 32> data;
  for (int i = 0; i < 32; ++i) data[i] = static_cast<uint8_t>(i);
  RekeyBody body;
  body.SetShake256Client(data);
  std::array<uint8_t, 498> cell_data{};
  ASSERT_EQ(BuildRekeyBody(body, cell_data), 34u);
  EXPECT_EQ(std::vector<uint8_t>(cell_data.begin(), cell_data.begin() + 34), Shake256ClientBytes());
  EXPECT_EQ(cell_data[34], 0);

  body.SetAck();
  std::array<uint8_t, 2> small{0xff, 0xff};
  ASSERT_EQ(BuildRekeyBody(body, small), 2u);
  EXPECT_EQ(small[0], 0x00);
  EXPECT_EQ(small[1], 0x00);
}

TEST(RekeyBody, BuildRefusesATooSmallBuffer) {
  RekeyBody body;
  body.SetFreshShake256Client();
  std::array<uint8_t, 33> out{};
  EXPECT_EQ(BuildRekeyBody(body, out), 0u);
  for (uint8_t b : out) EXPECT_EQ(b, 0) << "nothing written";
  std::array<uint8_t, 1> tiny{};
  body.SetAck();
  EXPECT_EQ(BuildRekeyBody(body, tiny), 0u);
}

TEST(RekeyParse, AcceptsMethod1WithExactly32Bytes) {
  const auto wire = Shake256ClientBytes();
  RekeyBody body;
  ASSERT_EQ(ParseRekeyBody(0, wire, body), RekeyError::kNone);
  EXPECT_EQ(body.method(), RekeyMethod::kShake256Client);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(body.rekey_data()[i], i);
}

TEST(RekeyParse, AcceptsAnEmptyAck) {
  const uint8_t wire[] = {0x00, 0x00};
  RekeyBody body;
  body.SetFreshShake256Client();
  ASSERT_EQ(ParseRekeyBody(0, wire, body), RekeyError::kNone);
  EXPECT_EQ(body.method(), RekeyMethod::kAck);
  for (uint8_t b : body.rekey_data()) EXPECT_EQ(b, 0);
}

TEST(RekeyParse, RoundTripsWhatItBuilds) {
  RekeyBody sent, received;
  sent.SetFreshShake256Client();
  std::array<uint8_t, 498> cell_data{};
  const size_t length = BuildRekeyBody(sent, cell_data);
  ASSERT_EQ(ParseRekeyBody(0, std::span(cell_data).first(length), received), RekeyError::kNone);
  EXPECT_EQ(received.method(), sent.method());
  EXPECT_TRUE(std::equal(sent.rekey_data().begin(), sent.rekey_data().end(),
                         received.rekey_data().begin()));
}

struct BadBody {
  const char* name;
  uint16_t stream_id;
  std::vector<uint8_t> data;
  RekeyError error;
};

class RekeyParseError : public testing::TestWithParam<BadBody> {};

TEST_P(RekeyParseError, IsTypedAndCarriesNoKeyMaterial) {
  RekeyBody body;
  body.SetFreshShake256Client();  // stale material that must not survive a failed parse
  EXPECT_EQ(ParseRekeyBody(GetParam().stream_id, GetParam().data, body), GetParam().error);
  EXPECT_EQ(body.method(), RekeyMethod::kAck);
  for (uint8_t b : body.rekey_data()) EXPECT_EQ(b, 0);
}

std::vector<uint8_t> WithLength(std::vector<uint8_t> v, size_t n) {
  v.resize(n, 0xAB);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    All, RekeyParseError,
    testing::Values(
        BadBody{"Empty", 0, {}, RekeyError::kTruncatedBody},
        BadBody{"OneByte", 0, {0x00}, RekeyError::kTruncatedBody},
        BadBody{"UnknownMethod2", 0, {0x00, 0x02}, RekeyError::kUnknownMethod},
        BadBody{"UnknownMethod256", 0, WithLength({0x01, 0x00}, 34), RekeyError::kUnknownMethod},
        BadBody{"UnknownMethodFFFF", 0, {0xff, 0xff}, RekeyError::kUnknownMethod},
        BadBody{"Method1NoData", 0, {0x00, 0x01}, RekeyError::kBadRekeyDataLength},
        BadBody{"Method1Short", 0, WithLength({0x00, 0x01}, 33), RekeyError::kBadRekeyDataLength},
        BadBody{"Method1Long", 0, WithLength({0x00, 0x01}, 35), RekeyError::kBadRekeyDataLength},
        BadBody{"Method1Max", 0, WithLength({0x00, 0x01}, 498), RekeyError::kBadRekeyDataLength},
        BadBody{"AckWithData", 0, {0x00, 0x00, 0x00}, RekeyError::kAckWithData},
        BadBody{"AckWith32Bytes", 0, WithLength({0x00, 0x00}, 34), RekeyError::kAckWithData},
        BadBody{"StreamId1", 1, WithLength({0x00, 0x01}, 34), RekeyError::kNonZeroStreamId},
        BadBody{"StreamIdFFFF", 0xffff, {0x00, 0x00}, RekeyError::kNonZeroStreamId}),
    [](const testing::TestParamInfo<BadBody>& p) { return p.param.name; });

TEST(RekeyError, EveryErrorHasAStableDistinctName) {
  std::set<std::string> seen;
  for (size_t e = 0; e < kRekeyErrorCount; ++e) {
    const std::string name = RekeyErrorName(static_cast<RekeyError>(e));
    EXPECT_EQ(name.rfind("rekey_", 0), 0u) << name;
    EXPECT_TRUE(seen.insert(name).second) << name;
  }
  // Counters key on these: spot-check that they do not drift.
  EXPECT_STREQ(RekeyErrorName(RekeyError::kRekeyTooSoon), "rekey_too_soon");
  EXPECT_STREQ(RekeyErrorName(RekeyError::kRekeyOverdue), "rekey_overdue");
  EXPECT_STREQ(RekeyErrorName(RekeyError::kRekeyOnTor1), "rekey_on_tor1");
}

TEST(RekeyError, OnlyLocalRefusalsAreNotProtocolViolations) {
  for (size_t e = 0; e < kRekeyErrorCount; ++e) {
    const auto error = static_cast<RekeyError>(e);
    const bool local = error == RekeyError::kNone || error == RekeyError::kAlreadyPending ||
                       error == RekeyError::kNotRekeyable;
    EXPECT_EQ(IsRekeyProtocolViolation(error), !local) << RekeyErrorName(error);
  }
}

}  // namespace
}  // namespace relaycell
