// relay.json: the commented template parses to the defaults, every bad value is refused with
// an error naming its key, and the network's rekey slack floor holds.
#include "net/relay/relay_config.h"

#include <gtest/gtest.h>

#include <string>

namespace relaycell::net {
namespace {

Endpoint Loopback(uint16_t port) {
  Endpoint endpoint;
  endpoint.address = *IpAddress::Parse("127.0.0.1");
  endpoint.port = port;
  return endpoint;
}

TEST(RelayConfig, TemplateParsesToTheDefaults) {
  RelayConfig config;
  config.workers = 7;  // the template's value must replace it
  std::string error;
  ASSERT_TRUE(ParseRelayConfig(RelayConfigTemplate("r1", Loopback(9001), true), config, &error))
      << error;
  EXPECT_EQ(config.nickname, "r1");
  EXPECT_EQ(config.listen.port, 9001);
  EXPECT_TRUE(config.exit);
  EXPECT_EQ(config.workers, RelayConfig{}.workers);
  EXPECT_EQ(config.workers, 0u);
  EXPECT_EQ(config.limits.max_links, RelayLimits{}.max_links);
  EXPECT_EQ(config.rekey.slack, RekeyConfig{}.slack);
  EXPECT_FALSE(config.metrics_listen.has_value());
  EXPECT_TRUE(config.exit_policy.Allows(*IpAddress::Parse("127.0.0.1"), 80));
  EXPECT_FALSE(config.exit_policy.Allows(*IpAddress::Parse("10.0.0.1"), 80));
}

std::string ErrorFor(const std::string& json) {
  RelayConfig config;
  std::string error;
  EXPECT_FALSE(ParseRelayConfig(json, config, &error)) << json;
  return error;
}

TEST(RelayConfig, EveryBadValueNamesItsKey) {
  const std::string base = R"("nickname": "r", "listen": "127.0.0.1:9001")";
  EXPECT_NE(ErrorFor("{" + base + R"(, "limits": {"max_links": 0}})").find("limits.max_links"),
            std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "limits": {"bogus": 1}})").find("limits.bogus"),
            std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "workers": -1})").find("\"workers\""), std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "suites": ["aes"]})").find("suites"), std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "exit": "yes"})").find("\"exit\""), std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "exit_policy": ["10.0.0.0/33:*"]})").find("exit_policy"),
            std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "metrics_listen": "localhost:1"})").find("metrics_listen"),
            std::string::npos);
  EXPECT_NE(ErrorFor(R"({"nickname": "r", "listen": "127.0.0.1:0"})").find("listen"),
            std::string::npos);
  EXPECT_NE(ErrorFor(R"({"listen": "127.0.0.1:9001"})").find("nickname"), std::string::npos);
  EXPECT_NE(ErrorFor("{" + base + R"(, "colour": 1})").find("colour"), std::string::npos);
  EXPECT_NE(ErrorFor("{" + base).find("JSON"), std::string::npos);
}

TEST(RelayConfig, RekeySlackBelowAWindowIsRefused) {
  const std::string base = R"({"nickname": "r", "listen": "127.0.0.1:9001", "rekey": )";
  EXPECT_NE(ErrorFor(base + R"({"slack": 1099}})").find("rekey.slack"), std::string::npos);
  RelayConfig config;
  std::string error;
  EXPECT_TRUE(ParseRelayConfig(base + R"({"slack": 1100, "first": 2048, "min_spacing": 100}})",
                               config, &error))
      << error;
  EXPECT_EQ(config.rekey.first, 2048u);
  // A configuration that lets one key run past 2^38 cells is refused as a whole.
  EXPECT_NE(ErrorFor(base + R"({"interval": 274877906944}})").find("rekey"), std::string::npos);
}

}  // namespace
}  // namespace relaycell::net
