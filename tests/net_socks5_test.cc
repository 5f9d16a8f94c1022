// The SOCKS5 front's parser (RFC 1928, NO AUTH, CONNECT): incremental feeding, refusals and
// their reply codes, the END reason -> reply map.
#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/socks/socks5.h"

namespace relaycell::net {
namespace {

std::vector<uint8_t> Request(uint8_t command, uint8_t atyp, std::vector<uint8_t> address,
                             uint16_t port) {
  // Appended byte by byte: g++ 12's -Warray-bounds misfires on vector::insert here.
  std::vector<uint8_t> out;
  out.reserve(6 + address.size());
  for (uint8_t b : {uint8_t{5}, command, uint8_t{0}, atyp}) out.push_back(b);
  for (uint8_t b : address) out.push_back(b);
  out.push_back(uint8_t(port >> 8));
  out.push_back(uint8_t(port));
  return out;
}

std::vector<uint8_t> Domain(const std::string& name) {
  std::vector<uint8_t> out;
  out.reserve(1 + name.size());
  out.push_back(uint8_t(name.size()));
  for (char c : name) out.push_back(uint8_t(c));
  return out;
}

// Feeds `bytes` one more byte at a time: kNeedMore for every proper prefix, then the result of
// the whole (which it returns).
SocksParse FeedRequest(const std::vector<uint8_t>& bytes, SocksRequest& out, SocksReply& refusal,
                       size_t& consumed) {
  for (size_t n = 0; n < bytes.size(); ++n) {
    const SocksParse p =
        ParseSocksRequest(std::span<const uint8_t>(bytes).first(n), consumed, out, refusal);
    if (p != SocksParse::kNeedMore) {
      ADD_FAILURE() << "finished early at " << n;
      return p;
    }
    EXPECT_EQ(consumed, 0u);
  }
  return ParseSocksRequest(bytes, consumed, out, refusal);
}

TEST(SocksGreeting, ByteAtATimeAndNoAuth) {
  const std::vector<uint8_t> greeting = {5, 3, 2, 0, 1, 0xaa};  // a byte of the next message
  SocksGreeting g;
  size_t consumed = 99;
  for (size_t n = 0; n < 5; ++n) {
    EXPECT_EQ(ParseSocksGreeting(std::span<const uint8_t>(greeting).first(n), consumed, g),
              SocksParse::kNeedMore)
        << n;
    EXPECT_EQ(consumed, 0u);
  }
  ASSERT_EQ(ParseSocksGreeting(greeting, consumed, g), SocksParse::kOk);
  EXPECT_EQ(consumed, 5u);
  EXPECT_TRUE(g.offers_no_auth);

  const std::vector<uint8_t> only_password = {5, 1, 2};
  ASSERT_EQ(ParseSocksGreeting(only_password, consumed, g), SocksParse::kOk);
  EXPECT_FALSE(g.offers_no_auth);
  const std::vector<uint8_t> no_methods = {5, 0};
  ASSERT_EQ(ParseSocksGreeting(no_methods, consumed, g), SocksParse::kOk);
  EXPECT_EQ(consumed, 2u);
  EXPECT_FALSE(g.offers_no_auth);

  // SOCKS4 (and any other version) is refused at its first byte.
  const std::vector<uint8_t> socks4 = {4, 1, 0, 80, 127, 0, 0, 1, 0};
  EXPECT_EQ(ParseSocksGreeting(std::span<const uint8_t>(socks4).first(1), consumed, g),
            SocksParse::kBad);
  EXPECT_EQ(ParseSocksGreeting(socks4, consumed, g), SocksParse::kBad);

  std::array<uint8_t, 2> choice{};
  BuildSocksMethodChoice(true, choice);
  EXPECT_EQ(choice, (std::array<uint8_t, 2>{5, 0}));
  BuildSocksMethodChoice(false, choice);
  EXPECT_EQ(choice, (std::array<uint8_t, 2>{5, 0xff}));
  std::array<uint8_t, 3> client{};
  ASSERT_EQ(BuildSocksGreeting(client), 3u);
  ASSERT_EQ(ParseSocksGreeting(client, consumed, g), SocksParse::kOk);
  EXPECT_TRUE(g.offers_no_auth);
}

TEST(SocksRequest, ConnectIpv4Ipv6AndDomain) {
  SocksRequest r;
  SocksReply refusal = SocksReply::kSucceeded;
  size_t consumed = 0;
  ASSERT_EQ(FeedRequest(Request(1, 1, {127, 0, 0, 1}, 8080), r, refusal, consumed),
            SocksParse::kOk);
  EXPECT_EQ(consumed, 10u);
  EXPECT_EQ(r.command, 1);
  EXPECT_EQ(r.target, (BeginTarget{BeginTargetKind::kIpv4, "127.0.0.1", 8080}));

  std::vector<uint8_t> v6(16, 0);
  v6[15] = 1;
  ASSERT_EQ(FeedRequest(Request(1, 4, v6, 443), r, refusal, consumed), SocksParse::kOk);
  EXPECT_EQ(consumed, 22u);
  EXPECT_EQ(r.target, (BeginTarget{BeginTargetKind::kIpv6, "::1", 443}));

  ASSERT_EQ(FeedRequest(Request(1, 3, Domain("example.test"), 80), r, refusal, consumed),
            SocksParse::kOk);
  EXPECT_EQ(consumed, 4u + 1 + 12 + 2);
  EXPECT_EQ(r.target, (BeginTarget{BeginTargetKind::kHostname, "example.test", 80}));

  // Literals sent as domains are classified as literals.
  ASSERT_EQ(FeedRequest(Request(1, 3, Domain("127.0.0.1"), 80), r, refusal, consumed),
            SocksParse::kOk);
  EXPECT_EQ(r.target.kind, BeginTargetKind::kIpv4);
  ASSERT_EQ(FeedRequest(Request(1, 3, Domain("::1"), 80), r, refusal, consumed), SocksParse::kOk);
  EXPECT_EQ(r.target.kind, BeginTargetKind::kIpv6);

  // 255 bytes is the most; trailing bytes (early data) are not consumed.
  std::vector<uint8_t> longest = Request(1, 3, Domain(std::string(255, 'a')), 1);
  longest.push_back(0x42);
  ASSERT_EQ(ParseSocksRequest(longest, consumed, r, refusal), SocksParse::kOk);
  EXPECT_EQ(consumed, kMaxSocksRequestBytes);
  EXPECT_EQ(r.target.host.size(), 255u);
}

TEST(SocksRequest, Refusals) {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    SocksReply refusal;
    size_t decided_at;  // bytes needed before kBad
  };
  std::vector<uint8_t> socks4 = Request(1, 1, {127, 0, 0, 1}, 80);
  socks4[0] = 4;
  std::vector<uint8_t> reserved = Request(1, 1, {127, 0, 0, 1}, 80);
  reserved[2] = 1;
  std::vector<uint8_t> nul = Request(1, 3, Domain("ab"), 80);
  nul[6] = 0;
  const std::vector<Case> cases = {
      {"version 4", socks4, SocksReply::kGeneralFailure, 1},
      {"BIND", Request(2, 1, {127, 0, 0, 1}, 80), SocksReply::kCommandNotSupported, 2},
      {"UDP ASSOCIATE", Request(3, 1, {127, 0, 0, 1}, 80), SocksReply::kCommandNotSupported, 2},
      {"command 0", Request(0, 1, {127, 0, 0, 1}, 80), SocksReply::kCommandNotSupported, 2},
      {"reserved byte", reserved, SocksReply::kGeneralFailure, 3},
      {"ATYP 2", Request(1, 2, {127, 0, 0, 1}, 80), SocksReply::kAddressTypeNotSupported, 4},
      {"ATYP 5", Request(1, 5, {127, 0, 0, 1}, 80), SocksReply::kAddressTypeNotSupported, 4},
      {"domain length 0", Request(1, 3, {0}, 80), SocksReply::kGeneralFailure, 5},
      {"NUL in domain", nul, SocksReply::kGeneralFailure, nul.size()},
      {"bad domain chars", Request(1, 3, Domain("a_b"), 80), SocksReply::kGeneralFailure, 10},
      {"port 0", Request(1, 1, {127, 0, 0, 1}, 0), SocksReply::kGeneralFailure, 10},
  };
  for (const Case& c : cases) {
    SocksRequest r;
    r.target.host = "untouched";
    size_t consumed = 7;
    for (size_t n = 0; n < c.decided_at; ++n) {
      SocksReply refusal = SocksReply::kSucceeded;
      EXPECT_EQ(ParseSocksRequest(std::span<const uint8_t>(c.bytes).first(n), consumed, r, refusal),
                SocksParse::kNeedMore)
          << c.what << " at " << n;
    }
    for (size_t n = c.decided_at; n <= c.bytes.size(); ++n) {
      SocksReply refusal = SocksReply::kSucceeded;
      EXPECT_EQ(ParseSocksRequest(std::span<const uint8_t>(c.bytes).first(n), consumed, r, refusal),
                SocksParse::kBad)
          << c.what << " at " << n;
      EXPECT_EQ(refusal, c.refusal) << c.what;
      EXPECT_EQ(consumed, 0u);
    }
    EXPECT_EQ(r.target.host, "untouched") << c.what;
  }
}

TEST(SocksRequest, BuildParseRoundTrip) {
  const std::vector<BeginTarget> targets = {
      {BeginTargetKind::kIpv4, "127.0.0.1", 8080},
      {BeginTargetKind::kIpv6, "::1", 443},
      {BeginTargetKind::kHostname, "example.test", 1},
  };
  for (const BeginTarget& target : targets) {
    SocksRequest request;
    request.command = kSocksCommandConnect;
    request.target = target;
    std::array<uint8_t, kMaxSocksRequestBytes> out{};
    const size_t n = BuildSocksRequest(request, out);
    ASSERT_GT(n, 0u);
    SocksRequest parsed;
    SocksReply refusal;
    size_t consumed = 0;
    ASSERT_EQ(ParseSocksRequest(std::span<const uint8_t>(out).first(n), consumed, parsed, refusal),
              SocksParse::kOk);
    EXPECT_EQ(consumed, n);
    EXPECT_EQ(parsed.target, target);
  }
  SocksRequest bad;
  bad.target = {BeginTargetKind::kHostname, "a b", 80};
  std::array<uint8_t, kMaxSocksRequestBytes> out{};
  EXPECT_EQ(BuildSocksRequest(bad, out), 0u);
}

TEST(SocksReply, BuildParseAndEndReasons) {
  std::array<uint8_t, kSocksReplyBytes> out{};
  out.fill(0xee);
  ASSERT_EQ(BuildSocksReply(SocksReply::kNotAllowed, out), 10u);
  EXPECT_EQ(out, (std::array<uint8_t, 10>{5, 2, 0, 1, 0, 0, 0, 0, 0, 0}));
  uint8_t code = 0;
  size_t consumed = 0;
  for (size_t n = 0; n < out.size(); ++n) {
    EXPECT_EQ(ParseSocksReply(std::span<const uint8_t>(out).first(n), consumed, code),
              SocksParse::kNeedMore);
  }
  ASSERT_EQ(ParseSocksReply(out, consumed, code), SocksParse::kOk);
  EXPECT_EQ(consumed, 10u);
  EXPECT_EQ(code, 2);

  EXPECT_EQ(SocksReplyForEnd(EndReason::kExitPolicy), SocksReply::kNotAllowed);
  EXPECT_EQ(SocksReplyForEnd(EndReason::kResolveFailed), SocksReply::kHostUnreachable);
  EXPECT_EQ(SocksReplyForEnd(EndReason::kConnectRefused), SocksReply::kConnectionRefused);
  EXPECT_EQ(SocksReplyForEnd(EndReason::kTimeout), SocksReply::kTtlExpired);
  EXPECT_EQ(SocksReplyForEnd(EndReason::kNoRoute), SocksReply::kNetworkUnreachable);
  for (EndReason r : {EndReason::kMisc, EndReason::kDestroy, EndReason::kDone,
                      EndReason::kTorProtocol, EndReason::kResourceLimit, EndReason::kInternal}) {
    EXPECT_EQ(SocksReplyForEnd(r), SocksReply::kGeneralFailure) << EndReasonName(r);
  }
}

}  // namespace
}  // namespace relaycell::net
