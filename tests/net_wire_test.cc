// The network floor's wire formats (network.md §2-§5): IP literals, CREATE2/CREATED2, VERSIONS,
// EXTEND2, BEGIN. Every refusal the spec names, and build -> parse round trips.
#include <algorithm>
#include <array>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "net/wire/begin.h"
#include "net/wire/create2.h"
#include "net/wire/extend2.h"
#include "net/wire/ip_address.h"
#include "net/wire/versions.h"

namespace relaycell::net {
namespace {

using Payload = std::array<uint8_t, kCellBodyBytes>;

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> WithNul(std::string_view text) {
  std::vector<uint8_t> out = Bytes(text);
  out.push_back(0);
  return out;
}

TEST(WireError, EveryKindHasDistinctNames) {
  std::set<std::string> sentences, counters;
  for (size_t i = 0; i < kWireErrorKinds; ++i) {
    const WireError e = static_cast<WireError>(i);
    EXPECT_STRNE(WireErrorName(e), "unknown") << i;
    EXPECT_STRNE(WireErrorCounterName(e), "unknown") << i;
    sentences.insert(WireErrorName(e));
    counters.insert(WireErrorCounterName(e));
  }
  EXPECT_EQ(sentences.size(), kWireErrorKinds);
  EXPECT_EQ(counters.size(), kWireErrorKinds);
  EXPECT_STREQ(WireErrorCounterName(WireError::kBadHlen), "bad_hlen");
}

TEST(IpAddress, ParsesLiteralsAndRefusesTheRest) {
  const auto v4 = IpAddress::Parse("127.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->bytes[0], 127);
  EXPECT_EQ(v4->bytes[3], 1);
  EXPECT_EQ(v4->ToString(), "127.0.0.1");
  EXPECT_TRUE(v4->IsLoopback());

  const auto v6 = IpAddress::Parse("[::1]");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->bytes[15], 1);
  EXPECT_EQ(v6->ToString(), "::1");
  EXPECT_TRUE(v6->IsLoopback());
  EXPECT_EQ(IpAddress::Parse("::1"), v6);
  EXPECT_EQ(IpAddress::Parse("0:0:0:0:0:0:0:1"), v6);

  const auto mapped = IpAddress::Parse("::ffff:127.0.0.1");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->v6);
  EXPECT_FALSE(mapped->IsLoopback());
  EXPECT_TRUE(IpAddress::Parse("127.255.3.4")->IsLoopback());
  EXPECT_FALSE(IpAddress::Parse("128.0.0.1")->IsLoopback());
  EXPECT_FALSE(IpAddress::Parse("::2")->IsLoopback());

  for (const char* bad :
       {"", "[]", "[127.0.0.1]", "127.1", "127.0.0.01", "1.2.3.256", "::1]", "[::1", "fe80::1%eth0",
        "localhost", " 1.2.3.4", "1.2.3.4 ", "0x7f.0.0.1", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(IpAddress::Parse(bad)) << bad;
  }
  EXPECT_FALSE(IpAddress::Parse(std::string_view("1.2.3.4\0", 8)));
  EXPECT_FALSE(IpAddress::Parse(std::string(100, '1')));
}

TEST(IpAddress, FormatToChecksRoom) {
  const IpAddress a = *IpAddress::Parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
  std::array<char, kMaxAddressText> room{};
  const size_t n = a.FormatTo(room);
  ASSERT_GT(n, 0u);
  std::array<char, 4> small{};
  EXPECT_EQ(a.FormatTo(small), 0u);
  EXPECT_EQ(IpAddress::Parse(std::string_view(room.data(), n)), a);
}

// CREATE2 / CREATED2 --------------------------------------------------------------------------

TEST(Create2, RoundTripAndZeroFill) {
  std::array<uint8_t, 96> hdata{};
  for (size_t i = 0; i < hdata.size(); ++i) hdata[i] = uint8_t(i + 1);
  Payload payload;
  payload.fill(0xee);
  ASSERT_TRUE(BuildCreate2(0x0102, hdata, payload));
  EXPECT_EQ(payload[0], 0x01);
  EXPECT_EQ(payload[1], 0x02);
  EXPECT_EQ(payload[2], 0x00);
  EXPECT_EQ(payload[3], 96);
  EXPECT_TRUE(std::all_of(payload.begin() + 4 + 96, payload.end(), [](uint8_t b) { return !b; }));

  Create2Body body;
  ASSERT_EQ(ParseCreate2(payload, body), WireError::kNone);
  EXPECT_EQ(body.htype, 0x0102);
  ASSERT_EQ(body.hdata.size(), 96u);
  EXPECT_EQ(body.hdata.data(), payload.data() + 4);
  EXPECT_TRUE(std::equal(body.hdata.begin(), body.hdata.end(), hdata.begin()));
}

TEST(Create2, HlenMustFitThePayload) {
  std::vector<uint8_t> big(kMaxCreate2Hdata, 7);
  Payload payload{};
  ASSERT_TRUE(BuildCreate2(0x0101, big, payload));
  Create2Body body;
  EXPECT_EQ(ParseCreate2(payload, body), WireError::kNone);
  EXPECT_EQ(body.hdata.size(), kMaxCreate2Hdata);

  big.push_back(7);
  payload.fill(0x55);
  EXPECT_FALSE(BuildCreate2(0x0101, big, payload));
  EXPECT_EQ(payload[0], 0x55);  // untouched

  payload = {};
  payload[2] = uint8_t((kMaxCreate2Hdata + 1) >> 8);
  payload[3] = uint8_t(kMaxCreate2Hdata + 1);
  EXPECT_EQ(ParseCreate2(payload, body), WireError::kBadHlen);
  payload[2] = 0xff;
  payload[3] = 0xff;
  EXPECT_EQ(ParseCreate2(payload, body), WireError::kBadHlen);
}

TEST(Created2, RoundTripTruncationAndRoom) {
  std::array<uint8_t, 64> hdata{};
  hdata.fill(0xab);
  std::array<uint8_t, 66> out{};
  ASSERT_EQ(BuildCreated2(hdata, out), 66u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 64);
  std::span<const uint8_t> parsed;
  ASSERT_EQ(ParseCreated2(out, parsed), WireError::kNone);
  EXPECT_EQ(parsed.size(), 64u);
  EXPECT_EQ(parsed.data(), out.data() + 2);

  std::array<uint8_t, 65> small{};
  EXPECT_EQ(BuildCreated2(hdata, small), 0u);

  // Cut short at every offset: HLEN itself, then HDATA.
  for (size_t n = 0; n < out.size(); ++n) {
    const WireError e = ParseCreated2(std::span<const uint8_t>(out).first(n), parsed);
    EXPECT_EQ(e, n < 2 ? WireError::kTruncated : WireError::kBadHlen) << n;
  }
  // Bytes after HDATA are ignored (a CREATED2 payload is zero-padded).
  Payload payload{};
  std::copy(out.begin(), out.end(), payload.begin());
  ASSERT_EQ(ParseCreated2(payload, parsed), WireError::kNone);
  EXPECT_EQ(parsed.size(), 64u);
}

// VERSIONS ------------------------------------------------------------------------------------

void WriteVersions(std::initializer_list<uint16_t> versions, Payload& payload,
                   int n_override = -1) {
  payload = {};
  const size_t n = n_override >= 0 ? size_t(n_override) : versions.size();
  payload[0] = uint8_t(n >> 8);
  payload[1] = uint8_t(n);
  size_t at = 2;
  for (uint16_t v : versions) {
    payload[at++] = uint8_t(v >> 8);
    payload[at++] = uint8_t(v);
  }
}

TEST(Versions, BuildIsNOneAndVersionOne) {
  Payload payload;
  payload.fill(0xff);
  BuildVersions(payload);
  EXPECT_EQ(payload[0], 0);
  EXPECT_EQ(payload[1], 1);
  EXPECT_EQ(payload[2], 0);
  EXPECT_EQ(payload[3], kLinkProtocolVersion);
  EXPECT_TRUE(std::all_of(payload.begin() + 4, payload.end(), [](uint8_t b) { return !b; }));
  uint16_t chosen = 0;
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNone);
  EXPECT_EQ(chosen, 1);
}

TEST(Versions, HighestCommonNoneAndCountTooLarge) {
  Payload payload;
  uint16_t chosen = 0;
  WriteVersions({5, 1, 3, 4}, payload);
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNone);
  EXPECT_EQ(chosen, 1);

  chosen = 77;
  WriteVersions({2, 3, 4, 0}, payload);
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNoCommonVersion);
  EXPECT_EQ(chosen, 77);  // untouched
  WriteVersions({}, payload);
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNoCommonVersion);
  // n counts only the first entries: a 1 after them is not listed.
  WriteVersions({2, 1}, payload, 1);
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNoCommonVersion);

  // n = 253 fills the payload exactly; 254 does not fit.
  WriteVersions({1}, payload, int(kMaxVersionsCount));
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNone);
  WriteVersions({1}, payload, int(kMaxVersionsCount + 1));
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kBadVersionsCount);
  WriteVersions({1}, payload, 0xffff);
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kBadVersionsCount);
  // Version 1 as the last of 253 entries is found.
  payload = {};
  payload[0] = 0;
  payload[1] = uint8_t(kMaxVersionsCount);
  payload[kCellBodyBytes - 1] = 1;  // the odd byte after the 253rd entry is no entry
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNoCommonVersion);
  payload[kCellBodyBytes - 2] = 0;
  payload[kCellBodyBytes - 1] = 0;
  payload[2 + 2 * (kMaxVersionsCount - 1) + 1] = 1;
  EXPECT_EQ(ParseVersions(payload, chosen), WireError::kNone);
}

// EXTEND2 -------------------------------------------------------------------------------------

struct SpecBuilder {
  std::vector<uint8_t> bytes{0};
  SpecBuilder& Spec(uint8_t type, std::vector<uint8_t> spec) {
    ++bytes[0];
    bytes.push_back(type);
    bytes.push_back(uint8_t(spec.size()));
    bytes.insert(bytes.end(), spec.begin(), spec.end());
    return *this;
  }
  SpecBuilder& V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    return Spec(0, {a, b, c, d, uint8_t(port >> 8), uint8_t(port)});
  }
  SpecBuilder& V6Loopback(uint16_t port) {
    std::vector<uint8_t> s(16, 0);
    s[15] = 1;
    s.push_back(uint8_t(port >> 8));
    s.push_back(uint8_t(port));
    return Spec(1, s);
  }
  SpecBuilder& Id(uint8_t fill) { return Spec(3, std::vector<uint8_t>(32, fill)); }
  std::vector<uint8_t> Tail(uint16_t htype, std::vector<uint8_t> hdata) {
    std::vector<uint8_t> out = bytes;
    out.push_back(uint8_t(htype >> 8));
    out.push_back(uint8_t(htype));
    out.push_back(uint8_t(hdata.size() >> 8));
    out.push_back(uint8_t(hdata.size()));
    out.insert(out.end(), hdata.begin(), hdata.end());
    return out;
  }
};

Extend2Request SampleRequest() {
  Extend2Request r;
  for (size_t i = 0; i < r.identity.size(); ++i) r.identity[i] = uint8_t(0x40 + i);
  r.addresses[0] = {*IpAddress::Parse("127.0.0.1"), 9001};
  r.addresses[1] = {*IpAddress::Parse("::1"), 9002};
  r.address_count = 2;
  r.htype = 0x0102;
  return r;
}

TEST(Extend2, BuildParseRoundTrip) {
  std::array<uint8_t, 96> hdata{};
  for (size_t i = 0; i < hdata.size(); ++i) hdata[i] = uint8_t(i * 3);
  Extend2Request request = SampleRequest();
  request.hdata = hdata;
  std::array<uint8_t, 498> out{};
  const size_t n = BuildExtend2(request, out);
  // NSPEC, 2+6, 2+18, 2+32, HTYPE, HLEN, HDATA
  ASSERT_EQ(n, 1u + 8 + 20 + 34 + 4 + 96);
  EXPECT_EQ(out[0], 3);

  Extend2Request parsed;
  ASSERT_EQ(ParseExtend2(std::span<const uint8_t>(out).first(n), parsed), WireError::kNone);
  EXPECT_EQ(parsed.identity, request.identity);
  ASSERT_EQ(parsed.address_count, 2u);
  EXPECT_EQ(parsed.addresses[0], request.addresses[0]);
  EXPECT_EQ(parsed.addresses[1], request.addresses[1]);
  EXPECT_EQ(parsed.htype, 0x0102);
  ASSERT_EQ(parsed.hdata.size(), 96u);
  EXPECT_EQ(parsed.hdata.data(), out.data() + n - 96);
  EXPECT_TRUE(std::equal(parsed.hdata.begin(), parsed.hdata.end(), hdata.begin()));

  // Bytes after HDATA are ignored.
  ASSERT_EQ(ParseExtend2(out, parsed), WireError::kNone);
  EXPECT_EQ(parsed.hdata.size(), 96u);

  // Too small an output: 0.
  std::vector<uint8_t> small(n - 1);
  EXPECT_EQ(BuildExtend2(request, small), 0u);
}

TEST(Extend2, BuildRefusesWhatParseRefuses) {
  std::array<uint8_t, 498> out{};
  Extend2Request request = SampleRequest();
  request.address_count = 0;
  EXPECT_EQ(BuildExtend2(request, out), 0u);
  request.address_count = kMaxExtendAddresses + 1;
  EXPECT_EQ(BuildExtend2(request, out), 0u);
  request = SampleRequest();
  request.addresses[1].port = 0;
  EXPECT_EQ(BuildExtend2(request, out), 0u);
}

TEST(Extend2, CutShortAtEveryOffset) {
  std::array<uint8_t, 8> hdata{1, 2, 3, 4, 5, 6, 7, 8};
  Extend2Request request = SampleRequest();
  request.hdata = hdata;
  std::array<uint8_t, 498> out{};
  const size_t n = BuildExtend2(request, out);
  ASSERT_GT(n, 0u);
  const size_t hdata_at = n - hdata.size();
  Extend2Request parsed;
  for (size_t cut = 0; cut < n; ++cut) {
    const WireError e = ParseExtend2(std::span<const uint8_t>(out).first(cut), parsed);
    EXPECT_EQ(e, cut < hdata_at ? WireError::kTruncated : WireError::kBadHlen) << cut;
  }
}

TEST(Extend2, KnownTypeOfWrongLength) {
  Extend2Request parsed;
  // IPv4 with 5 and 7 bytes, IPv6 with 17, ID with 31 and 33.
  for (auto [type, length] : std::vector<std::pair<uint8_t, size_t>>{
           {0, 5}, {0, 7}, {1, 17}, {1, 19}, {3, 31}, {3, 33}, {0, 0}, {3, 0}}) {
    SpecBuilder b;
    b.Id(1).V4(127, 0, 0, 1, 80).Spec(type, std::vector<uint8_t>(length, 9));
    EXPECT_EQ(ParseExtend2(b.Tail(0x0102, {}), parsed), WireError::kBadLinkSpecifier)
        << int(type) << " " << length;
  }
}

TEST(Extend2, PortZero) {
  Extend2Request parsed;
  EXPECT_EQ(ParseExtend2(SpecBuilder().Id(1).V4(127, 0, 0, 1, 0).Tail(1, {}), parsed),
            WireError::kZeroPort);
  EXPECT_EQ(ParseExtend2(SpecBuilder().Id(1).V6Loopback(0).Tail(1, {}), parsed),
            WireError::kZeroPort);
  // Even past the addresses kept.
  SpecBuilder b;
  b.Id(1);
  for (int i = 0; i < 5; ++i) b.V4(127, 0, 0, uint8_t(i + 1), 80);
  b.V4(127, 0, 0, 9, 0);
  EXPECT_EQ(ParseExtend2(b.Tail(1, {}), parsed), WireError::kZeroPort);
}

TEST(Extend2, ExactlyOneIdentityAndAnAddress) {
  Extend2Request parsed;
  EXPECT_EQ(ParseExtend2(SpecBuilder().V4(127, 0, 0, 1, 80).Tail(1, {}), parsed),
            WireError::kNoIdentity);
  EXPECT_EQ(ParseExtend2(SpecBuilder().Id(1).V4(127, 0, 0, 1, 80).Id(2).Tail(1, {}), parsed),
            WireError::kTwoIdentities);
  EXPECT_EQ(ParseExtend2(SpecBuilder().Id(1).Id(1).V4(127, 0, 0, 1, 80).Tail(1, {}), parsed),
            WireError::kTwoIdentities);
  EXPECT_EQ(ParseExtend2(SpecBuilder().Id(1).Tail(1, {}), parsed), WireError::kNoAddress);
  // A legacy ID is no address and no identity.
  EXPECT_EQ(ParseExtend2(
                SpecBuilder().Spec(2, std::vector<uint8_t>(20, 1)).V4(127, 0, 0, 1, 80).Tail(1, {}),
                parsed),
            WireError::kNoIdentity);
  EXPECT_EQ(ParseExtend2(SpecBuilder().Tail(1, {}), parsed), WireError::kNoIdentity);
  EXPECT_EQ(ParseExtend2({}, parsed), WireError::kTruncated);
}

TEST(Extend2, UnknownTypesSkippedExtraAddressesIgnored) {
  Extend2Request parsed;
  SpecBuilder b;
  b.Spec(2, std::vector<uint8_t>(20, 0xaa))  // Tor's legacy ID
      .Spec(200, {1, 2, 3})
      .Spec(4, {})
      .V4(127, 0, 0, 1, 1)
      .Id(0x33)
      .V6Loopback(2)
      .V4(127, 0, 0, 3, 3)
      .V4(127, 0, 0, 4, 4)
      .V4(127, 0, 0, 5, 5);  // the fifth address: checked, then ignored
  const std::vector<uint8_t> data = b.Tail(0x0101, {9, 9, 9});
  ASSERT_EQ(ParseExtend2(data, parsed), WireError::kNone);
  EXPECT_EQ(parsed.identity, (std::array<uint8_t, 32>{
                                 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
                                 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
                                 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33}));
  ASSERT_EQ(parsed.address_count, kMaxExtendAddresses);
  EXPECT_EQ(parsed.addresses[0].port, 1);
  EXPECT_TRUE(parsed.addresses[1].address.v6);
  EXPECT_EQ(parsed.addresses[1].port, 2);
  EXPECT_EQ(parsed.addresses[3].port, 4);
  EXPECT_EQ(parsed.htype, 0x0101);
  EXPECT_EQ(parsed.hdata.size(), 3u);

  // A reused request is reset: no stale addresses survive.
  ASSERT_EQ(ParseExtend2(SpecBuilder().Id(1).V4(10, 0, 0, 1, 7).Tail(1, {}), parsed),
            WireError::kNone);
  EXPECT_EQ(parsed.address_count, 1u);
  EXPECT_EQ(parsed.endpoints().size(), 1u);
}

TEST(Extend2, HlenPastTheEnd) {
  Extend2Request parsed;
  std::vector<uint8_t> data = SpecBuilder().Id(1).V4(127, 0, 0, 1, 80).Tail(1, {1, 2, 3, 4});
  ASSERT_EQ(ParseExtend2(data, parsed), WireError::kNone);
  data[data.size() - 5] = 5;  // HLEN 5 over 4 bytes
  EXPECT_EQ(ParseExtend2(data, parsed), WireError::kBadHlen);
}

// BEGIN ---------------------------------------------------------------------------------------

TEST(Begin, ParsesTheThreeKinds) {
  BeginTarget t;
  ASSERT_EQ(ParseBegin(WithNul("127.0.0.1:8080"), t), WireError::kNone);
  EXPECT_EQ(t.kind, BeginTargetKind::kIpv4);
  EXPECT_EQ(t.host, "127.0.0.1");
  EXPECT_EQ(t.port, 8080);

  ASSERT_EQ(ParseBegin(WithNul("[::1]:80"), t), WireError::kNone);
  EXPECT_EQ(t.kind, BeginTargetKind::kIpv6);
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 80);

  ASSERT_EQ(ParseBegin(WithNul("Example-1.test.:65535"), t), WireError::kNone);
  EXPECT_EQ(t.kind, BeginTargetKind::kHostname);
  EXPECT_EQ(t.host, "Example-1.test.");
  EXPECT_EQ(t.port, 65535);

  ASSERT_EQ(ParseBegin(WithNul("[::ffff:127.0.0.1]:1"), t), WireError::kNone);
  EXPECT_EQ(t.kind, BeginTargetKind::kIpv6);
  EXPECT_EQ(t.port, 1);

  // flags u32 after the NUL, and anything else there, are not read.
  std::vector<uint8_t> flagged = WithNul("localhost:22");
  flagged.insert(flagged.end(), {0, 0, 0, 5});
  ASSERT_EQ(ParseBegin(flagged, t), WireError::kNone);
  EXPECT_EQ(t.host, "localhost");
  flagged.push_back(1);
  EXPECT_EQ(ParseBegin(flagged, t), WireError::kNone);
}

TEST(Begin, Refusals) {
  BeginTarget t;
  t.host = "kept";
  EXPECT_EQ(ParseBegin(Bytes("127.0.0.1:80"), t), WireError::kMissingNul);
  EXPECT_EQ(ParseBegin({}, t), WireError::kMissingNul);
  EXPECT_EQ(t.host, "kept");
  const std::vector<std::pair<std::string, WireError>> cases = {
      {"127.0.0.1", WireError::kBadTarget},   // no port
      {"127.0.0.1:", WireError::kBadTarget},  // empty port
      {"127.0.0.1:0", WireError::kZeroPort},
      {"127.0.0.1:65536", WireError::kBadTarget},
      {"127.0.0.1:99999", WireError::kBadTarget},
      {"127.0.0.1:123456", WireError::kBadTarget},
      {"127.0.0.1:080", WireError::kBadTarget},  // leading zero
      {"127.0.0.1:+80", WireError::kBadTarget},
      {"127.0.0.1:-1", WireError::kBadTarget},
      {"127.0.0.1:8 0", WireError::kBadTarget},
      {":80", WireError::kBadTarget},  // no host
      {"[]:80", WireError::kBadTarget},
      {"::1:80", WireError::kBadTarget},  // IPv6 without brackets
      {"[::1:80", WireError::kBadTarget},
      {"[::1]80", WireError::kBadTarget},
      {"[127.0.0.1]:80", WireError::kBadTarget},  // brackets around IPv4
      {"[localhost]:80", WireError::kBadTarget},
      {"local_host:80", WireError::kBadTarget},  // bad host characters
      {"local host:80", WireError::kBadTarget},
      {"h\xc3\xa9:80", WireError::kBadTarget},
      {"host/x:80", WireError::kBadTarget},
      {"127.1:80", WireError::kBadTarget},  // inet_aton shorthand
      {"1.2.3.256:80", WireError::kBadTarget},
      {"127.0.0.1.:80", WireError::kBadTarget},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(ParseBegin(WithNul(text), t), want) << text;
  }
  EXPECT_EQ(ParseBegin(WithNul(std::string(255, 'a') + ":80"), t), WireError::kNone);
  EXPECT_EQ(ParseBegin(WithNul(std::string(256, 'a') + ":80"), t), WireError::kTooLong);
  // A NUL inside the host ends the text early: what precedes it has no port.
  std::vector<uint8_t> early = WithNul("localhost:80");
  early[4] = 0;
  EXPECT_EQ(ParseBegin(early, t), WireError::kBadTarget);
}

TEST(Begin, BuildParseRoundTrip) {
  const std::vector<BeginTarget> targets = {
      {BeginTargetKind::kIpv4, "127.0.0.1", 8080},
      {BeginTargetKind::kIpv6, "::1", 1},
      {BeginTargetKind::kIpv6, "2001:db8::42", 443},
      {BeginTargetKind::kHostname, "example.test", 65535},
      {BeginTargetKind::kHostname, std::string(255, 'z'), 10},
  };
  for (const BeginTarget& target : targets) {
    std::array<uint8_t, 498> out{};
    const size_t n = BuildBegin(target, out);
    ASSERT_GT(n, 0u) << target.host;
    EXPECT_EQ(out[n - 1], 0);
    BeginTarget parsed;
    ASSERT_EQ(ParseBegin(std::span<const uint8_t>(out).first(n), parsed), WireError::kNone)
        << target.host;
    EXPECT_EQ(parsed, target);
    std::vector<uint8_t> small(n - 1);
    EXPECT_EQ(BuildBegin(target, small), 0u);
  }
  std::array<uint8_t, 64> out{};
  ASSERT_EQ(BuildBegin({BeginTargetKind::kIpv6, "::1", 80}, out), 9u);
  EXPECT_EQ(std::memcmp(out.data(), "[::1]:80", 9), 0);
  EXPECT_EQ(BuildBegin({BeginTargetKind::kIpv4, "127.0.0.1", 0}, out), 0u);
  EXPECT_EQ(BuildBegin({BeginTargetKind::kIpv4, "::1", 80}, out), 0u);    // kind mismatch
  EXPECT_EQ(BuildBegin({BeginTargetKind::kIpv6, "[::1]", 80}, out), 0u);  // brackets are ours
  EXPECT_EQ(BuildBegin({BeginTargetKind::kHostname, "a b", 80}, out), 0u);
  EXPECT_EQ(BuildBegin({BeginTargetKind::kHostname, "", 80}, out), 0u);
}

TEST(Begin, EndReasonNames) {
  EXPECT_STREQ(EndReasonName(EndReason::kExitPolicy), "EXITPOLICY");
  EXPECT_STREQ(EndReasonName(EndReason::kTorProtocol), "TORPROTOCOL");
  EXPECT_STREQ(EndReasonName(EndReason(0)), "unknown");
  EXPECT_TRUE(IsKnownEndReason(13));
  EXPECT_FALSE(IsKnownEndReason(0));
  EXPECT_FALSE(IsKnownEndReason(15));
  for (uint8_t r = 1; r <= 14; ++r) EXPECT_STRNE(EndReasonName(EndReason(r)), "unknown") << int(r);
}

}  // namespace
}  // namespace relaycell::net
