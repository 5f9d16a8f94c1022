#include "engine/rekey/rekey_config.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/rekey/rekey_limits.h"

namespace relaycell {
namespace {

TEST(RekeyLimits, NumbersAreTheProtocolOnes) {
  EXPECT_EQ(kMaxCellsPerKey, uint64_t{1} << 38);
  EXPECT_EQ(kDefaultFirstRekeyCells, 32768u);
  EXPECT_EQ(kDefaultRekeyIntervalCells, uint64_t{4294967296});
  EXPECT_EQ(kDefaultRekeySlackCells, 4096u);
  EXPECT_EQ(kDefaultRekeyMinSpacingCells, 1024u);
  EXPECT_EQ(kRekeyDataBytes, 32u);
  // 2^44 AEZ blocks over at least 32 blocks a 509-byte cell: the cap stays below the claim.
  EXPECT_LE(kMaxCellsPerKey * ((509 + 15) / 16), uint64_t{1} << 44);
}

TEST(RekeyConfig, DefaultsAreValidAndMatchTheLimits) {
  const RekeyConfig config;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  EXPECT_EQ(config.first, kDefaultFirstRekeyCells);
  EXPECT_EQ(config.interval, kDefaultRekeyIntervalCells);
  EXPECT_FALSE(config.randomize);
  EXPECT_EQ(config.slack, kDefaultRekeySlackCells);
  EXPECT_EQ(config.min_spacing, kDefaultRekeyMinSpacingCells);
  EXPECT_EQ(config.Threshold(0), config.first);
  EXPECT_EQ(config.Threshold(1), config.interval);
  EXPECT_EQ(config.Threshold(1000), config.interval);
}

TEST(RekeyConfig, RefusesZeroFirst) {
  RekeyConfig config;
  config.first = 0;
  config.min_spacing = 0;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kFirstZero);
}

TEST(RekeyConfig, RefusesZeroInterval) {
  RekeyConfig config;
  config.interval = 0;
  config.min_spacing = 0;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kIntervalZero);
}

TEST(RekeyConfig, RefusesZeroSlack) {
  RekeyConfig config;
  config.slack = 0;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kSlackZero);
}

TEST(RekeyConfig, CapIsThresholdPlusSlackAtMost2To38) {
  RekeyConfig config;
  config.interval = kMaxCellsPerKey - config.slack;  // exactly at the cap: allowed
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  config.interval += 1;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kExceedsKeyCap);

  config = RekeyConfig{};
  config.first = kMaxCellsPerKey + 1;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kExceedsKeyCap);

  config = RekeyConfig{};  // slack alone breaking the cap
  config.slack = kMaxCellsPerKey;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kExceedsKeyCap);

  config = RekeyConfig{};  // values that would overflow a naive sum
  config.interval = UINT64_MAX;
  config.slack = UINT64_MAX;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kExceedsKeyCap);
}

TEST(RekeyConfig, MinSpacingMustLetAClientComply) {
  RekeyConfig config;
  config.first = 64;
  config.interval = 256;
  config.slack = 16;
  config.min_spacing = 63;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  config.min_spacing = 64;  // == first
  EXPECT_EQ(config.Validate(), RekeyConfigError::kMinSpacingNotBelowFirst);
  config.min_spacing = 0;  // disabled
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);

  config.first = 1024;
  config.min_spacing = 256;  // == interval: allowed
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  config.min_spacing = 257;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kMinSpacingAboveInterval);
}

TEST(RekeyConfig, RandomizationLowersTheThresholdsMinSpacingMustClear) {
  RekeyConfig config;
  config.first = 100;
  config.interval = 1000;
  config.slack = 16;
  config.min_spacing = 80;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  config.randomize = true;  // lowest first = 75
  EXPECT_EQ(config.LowestThreshold(0), 75u);
  EXPECT_EQ(config.LowestThreshold(1), 750u);
  EXPECT_EQ(config.Validate(), RekeyConfigError::kMinSpacingNotBelowFirst);
  config.min_spacing = 74;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  config.first = 10000;
  config.min_spacing = 751;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kMinSpacingAboveInterval);
}

TEST(RekeyConfig, MaxRandomReductionIsAQuarterWithoutOverflow) {
  EXPECT_EQ(RekeyConfig::MaxRandomReduction(100), 25u);
  EXPECT_EQ(RekeyConfig::MaxRandomReduction(3), 0u);
  EXPECT_EQ(RekeyConfig::MaxRandomReduction(uint64_t{1} << 32), uint64_t{1} << 30);
  EXPECT_EQ(RekeyConfig::MaxRandomReduction(UINT64_MAX), UINT64_MAX / 4);
}

TEST(RekeyConfig, EveryErrorHasADistinctMessage) {
  std::set<std::string> seen;
  for (int e = 0; e <= static_cast<int>(RekeyConfigError::kBadBool); ++e) {
    const std::string message = RekeyConfigErrorMessage(static_cast<RekeyConfigError>(e));
    EXPECT_FALSE(message.empty());
    EXPECT_TRUE(seen.insert(message).second) << message;
  }
}

TEST(RekeyConfigParse, ReadsEveryKeyCommentsAndPowers) {
  RekeyConfig config;
  const auto result = ParseRekeyConfig(
      "# relay rekey limits\n"
      "first = 64\n"
      "\n"
      "interval=2^8   # 256\n"
      "  randomize = on\r\n"
      "slack = 16\n"
      "min_spacing = 0\n",
      config);
  ASSERT_TRUE(result.ok()) << RekeyConfigErrorMessage(result.error) << " line " << result.line;
  EXPECT_EQ(config.first, 64u);
  EXPECT_EQ(config.interval, 256u);
  EXPECT_TRUE(config.randomize);
  EXPECT_EQ(config.slack, 16u);
  EXPECT_EQ(config.min_spacing, 0u);
}

TEST(RekeyConfigParse, EmptyTextGivesTheDefaults) {
  RekeyConfig config;
  config.first = 7;
  ASSERT_TRUE(ParseRekeyConfig("", config).ok());
  EXPECT_EQ(config.first, kDefaultFirstRekeyCells);
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
}

struct BadText {
  const char* text;
  RekeyConfigError error;
  size_t line;
};

class RekeyConfigParseError : public testing::TestWithParam<BadText> {};

TEST_P(RekeyConfigParseError, IsTypedWithItsLineAndLeavesOutAlone) {
  RekeyConfig config;
  config.first = 12345;
  const auto result = ParseRekeyConfig(GetParam().text, config);
  EXPECT_EQ(result.error, GetParam().error) << RekeyConfigErrorMessage(result.error);
  EXPECT_EQ(result.line, GetParam().line);
  EXPECT_EQ(config.first, 12345u);
}

INSTANTIATE_TEST_SUITE_P(
    All, RekeyConfigParseError,
    testing::Values(BadText{"first 64\n", RekeyConfigError::kSyntax, 1},
                    BadText{"\nfrist = 64\n", RekeyConfigError::kUnknownKey, 2},
                    BadText{"first = 64\nfirst = 65\n", RekeyConfigError::kDuplicateKey, 2},
                    BadText{"first = -1\n", RekeyConfigError::kBadNumber, 1},
                    BadText{"first = 0x40\n", RekeyConfigError::kBadNumber, 1},
                    BadText{"first =\n", RekeyConfigError::kBadNumber, 1},
                    BadText{"first = 2^64\n", RekeyConfigError::kBadNumber, 1},
                    BadText{"first = 18446744073709551616\n", RekeyConfigError::kBadNumber, 1},
                    BadText{"randomize = maybe\n", RekeyConfigError::kBadBool, 1},
                    // Parsed fine, refused as a whole (line 0).
                    BadText{"first = 0\n", RekeyConfigError::kFirstZero, 0},
                    BadText{"interval = 2^39\n", RekeyConfigError::kExceedsKeyCap, 0},
                    BadText{"first = 1024\n", RekeyConfigError::kMinSpacingNotBelowFirst, 0}));

}  // namespace
}  // namespace relaycell
