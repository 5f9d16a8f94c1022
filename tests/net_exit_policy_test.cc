// The exit policy (network.md §5): the loopback-only default, CIDR and port-range rules, parse
// errors that name the rule, IPv4-mapped IPv6 never matched by IPv4 rules.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/exit/exit_policy.h"

namespace relaycell::net {
namespace {

IpAddress Ip(const char* text) { return IpAddress::Parse(text).value(); }

TEST(ExitPolicy, DefaultIsLoopbackOnly) {
  const ExitPolicy policy = ExitPolicy::LoopbackOnly();
  for (uint32_t port : {1u, 80u, 8080u, 65535u}) {
    EXPECT_TRUE(policy.Allows(Ip("127.0.0.1"), uint16_t(port))) << port;
    EXPECT_TRUE(policy.Allows(Ip("127.255.255.254"), uint16_t(port)));
    EXPECT_TRUE(policy.Allows(Ip("::1"), uint16_t(port)));
  }
  EXPECT_FALSE(policy.Allows(Ip("10.0.0.1"), 80));
  EXPECT_FALSE(policy.Allows(Ip("192.168.1.1"), 80));
  EXPECT_FALSE(policy.Allows(Ip("128.0.0.1"), 80));
  EXPECT_FALSE(policy.Allows(Ip("0.0.0.0"), 80));
  EXPECT_FALSE(policy.Allows(Ip("::ffff:127.0.0.1"), 80));
  EXPECT_FALSE(policy.Allows(Ip("::2"), 80));
  EXPECT_FALSE(policy.Allows(Ip("::"), 80));
  EXPECT_EQ(policy.ToStrings(), (std::vector<std::string>{"127.0.0.0/8:*", "[::1]/128:*"}));
}

TEST(ExitPolicy, ParseRulesAndPortRanges) {
  const std::vector<std::string> rules = {"10.0.0.0/8:80", "0.0.0.0/0:443",
                                          "[2001:db8::]/32:1000-2000", "192.168.1.7:22",
                                          "[::1]/128:1-65535"};
  ExitPolicy policy;
  std::string error;
  ASSERT_TRUE(ExitPolicy::Parse(rules, policy, &error)) << error;
  EXPECT_TRUE(policy.Allows(Ip("10.1.2.3"), 80));
  EXPECT_FALSE(policy.Allows(Ip("10.1.2.3"), 81));
  EXPECT_FALSE(policy.Allows(Ip("11.0.0.1"), 80));
  EXPECT_TRUE(policy.Allows(Ip("8.8.8.8"), 443));
  EXPECT_FALSE(policy.Allows(Ip("8.8.8.8"), 444));
  EXPECT_TRUE(policy.Allows(Ip("2001:db8:ffff::1"), 1000));
  EXPECT_TRUE(policy.Allows(Ip("2001:db8::1"), 2000));
  EXPECT_FALSE(policy.Allows(Ip("2001:db8::1"), 999));
  EXPECT_FALSE(policy.Allows(Ip("2001:db8::1"), 2001));
  EXPECT_FALSE(policy.Allows(Ip("2001:db9::1"), 1500));
  EXPECT_TRUE(policy.Allows(Ip("192.168.1.7"), 22));
  EXPECT_FALSE(policy.Allows(Ip("192.168.1.8"), 22));
  EXPECT_TRUE(policy.Allows(Ip("::1"), 65535));
  // 0.0.0.0/0 matches every IPv4 address but no IPv6 one, mapped ones included.
  EXPECT_FALSE(policy.Allows(Ip("::ffff:8.8.8.8"), 443));
  // 127.0.0.1 is not listed here.
  EXPECT_FALSE(policy.Allows(Ip("127.0.0.1"), 80));

  EXPECT_EQ(policy.ToStrings(),
            (std::vector<std::string>{"10.0.0.0/8:80", "0.0.0.0/0:443", "[2001:db8::]/32:1000-2000",
                                      "192.168.1.7/32:22", "[::1]/128:*"}));
  // ToStrings parses back to the same policy.
  ExitPolicy again;
  const std::vector<std::string> canonical = policy.ToStrings();
  ASSERT_TRUE(ExitPolicy::Parse(canonical, again, &error)) << error;
  ASSERT_EQ(again.rules().size(), policy.rules().size());
  for (size_t i = 0; i < policy.rules().size(); ++i) {
    EXPECT_EQ(again.rules()[i], policy.rules()[i]) << i;
  }
}

TEST(ExitPolicy, PrefixBoundaries) {
  ExitPolicy policy;
  const std::vector<std::string> rules = {"172.16.0.0/12:*", "[fe80::]/10:*"};
  ASSERT_TRUE(ExitPolicy::Parse(rules, policy, nullptr));
  EXPECT_TRUE(policy.Allows(Ip("172.16.0.0"), 1));
  EXPECT_TRUE(policy.Allows(Ip("172.31.255.255"), 1));
  EXPECT_FALSE(policy.Allows(Ip("172.32.0.0"), 1));
  EXPECT_FALSE(policy.Allows(Ip("172.15.255.255"), 1));
  EXPECT_TRUE(policy.Allows(Ip("febf::1"), 1));
  EXPECT_FALSE(policy.Allows(Ip("fec0::1"), 1));
}

TEST(ExitPolicy, ErrorsNameTheRule) {
  // One per line, each with what is wrong with it.
  const std::vector<std::string> bad = {
      "127.0.0.0/8",        // no port range
      "127.0.0.0/8:",       // empty port range
      "127.0.0.0/33:*",     // prefix longer than 32
      "[::]/129:*",         // prefix longer than 128
      "127.0.0.0/:*",       // empty prefix
      "127.0.0.0/08:*",     // prefix with a leading zero
      "127.0.0.1/8:*",      // host bits set
      "::1/128:*",          // IPv6 without brackets
      "[127.0.0.1]/32:*",   // IPv4 in brackets
      "localhost:*",        // a hostname
      "127.0.0.0/8:0",      // port 0
      "127.0.0.0/8:0-10",   // port 0 in a range
      "127.0.0.0/8:65536",  // port past 65535
      "127.0.0.0/8:20-10",  // range backwards
      "127.0.0.0/8:1-",     // range without its end
      "127.0.0.0/8:-5",     // range without its start
      "127.0.0.0/8:a",      // not a number
      "127.0.0.0/8:1-2-3",  // two dashes
      "[::1]",              // no port range after the brackets
      "",                   // empty
  };
  for (const std::string& rule : bad) {
    const std::vector<std::string> rules = {"127.0.0.0/8:*", rule};
    ExitPolicy policy = ExitPolicy::LoopbackOnly();
    std::string error;
    EXPECT_FALSE(ExitPolicy::Parse(rules, policy, &error)) << rule;
    EXPECT_NE(error.find("\"" + rule + "\""), std::string::npos) << rule << " -> " << error;
    // Untouched on failure.
    EXPECT_EQ(policy.ToStrings(), ExitPolicy::LoopbackOnly().ToStrings()) << rule;
    ExitPolicy::Rule r;
    EXPECT_FALSE(ExitPolicy::ParseRule(rule, r, nullptr)) << rule;
  }
}

TEST(ExitPolicy, EmptyPolicyAcceptsNothing) {
  ExitPolicy policy = ExitPolicy::LoopbackOnly();
  ASSERT_TRUE(ExitPolicy::Parse({}, policy, nullptr));
  EXPECT_FALSE(policy.Allows(Ip("127.0.0.1"), 80));
  EXPECT_TRUE(policy.ToStrings().empty());
  EXPECT_FALSE(ExitPolicy().Allows(Ip("::1"), 80));
}

}  // namespace
}  // namespace relaycell::net
