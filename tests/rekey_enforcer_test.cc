#include "engine/rekey/rekey_enforcer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_error.h"

namespace relaycell {
namespace {

RekeyConfig Small() {
  RekeyConfig config;
  config.first = 64;
  config.interval = 256;
  config.slack = 16;
  config.min_spacing = 8;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  return config;
}

// Counts `n` cells, all of which must be allowed.
void CountAllowed(RekeyEnforcer& enforcer, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(enforcer.CountCell(), RekeyError::kNone) << i;
}

TEST(RekeyEnforcer, FirstRekeyDueByFirstPlusSlack) {
  RekeyEnforcer enforcer(Small());
  EXPECT_EQ(enforcer.deadline(), 80u);
  CountAllowed(enforcer, 80);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kRekeyOverdue);
}

TEST(RekeyEnforcer, LaterRekeysDueByIntervalPlusSlack) {
  RekeyEnforcer enforcer(Small());
  CountAllowed(enforcer, 70);
  ASSERT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
  enforcer.OnSwitch();
  EXPECT_EQ(enforcer.cells(), 0u);
  EXPECT_EQ(enforcer.deadline(), 272u);
  CountAllowed(enforcer, 272);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kRekeyOverdue);
}

TEST(RekeyEnforcer, TooSoonAfterCreation) {
  RekeyEnforcer enforcer(Small());
  // The REKEY is itself counted: 7 cells before it, then the REKEY -> too soon.
  CountAllowed(enforcer, 8);
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kRekeyTooSoon);
  CountAllowed(enforcer, 1);  // 8 before it
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
}

TEST(RekeyEnforcer, TooSoonAfterASwitch) {
  RekeyEnforcer enforcer(Small());
  CountAllowed(enforcer, 64);
  enforcer.OnSwitch();
  CountAllowed(enforcer, 1);  // a REKEY straight after the switch
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kRekeyTooSoon);
  CountAllowed(enforcer, 8);
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
}

TEST(RekeyEnforcer, MinSpacingZeroDisablesTheSpacingCheck) {
  RekeyConfig config = Small();
  config.min_spacing = 0;
  RekeyEnforcer enforcer(config);
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
  CountAllowed(enforcer, 1);
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
}

TEST(RekeyEnforcer, ProductionDefaultsFirstDeadline) {
  RekeyEnforcer enforcer{RekeyConfig{}};
  const uint64_t deadline = (uint64_t{1} << 15) + (uint64_t{1} << 12);
  EXPECT_EQ(enforcer.deadline(), deadline);
  enforcer.PresetCountForTesting(deadline - 1);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kNone);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kRekeyOverdue);
}

TEST(RekeyEnforcer, ProductionDefaultsIntervalDeadline) {
  RekeyEnforcer enforcer{RekeyConfig{}};
  enforcer.PresetCountForTesting(uint64_t{1} << 15);
  ASSERT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
  enforcer.OnSwitch();
  const uint64_t deadline = (uint64_t{1} << 32) + (uint64_t{1} << 12);
  EXPECT_EQ(enforcer.deadline(), deadline);
  enforcer.PresetCountForTesting((uint64_t{1} << 32) - 1);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kNone);
  enforcer.PresetCountForTesting(deadline - 1);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kNone);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kRekeyOverdue);
}

TEST(RekeyEnforcer, ProductionDefaultsMinSpacing) {
  RekeyEnforcer enforcer{RekeyConfig{}};
  enforcer.PresetCountForTesting(1024);  // 1023 cells, then the REKEY
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kRekeyTooSoon);
  enforcer.PresetCountForTesting(1025);
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
}

TEST(RekeyEnforcer, DisabledModeNeverFiresOnTheSamePath) {
  RekeyEnforcer enforcer(Small(), RekeyEnforcer::Mode::kDisabled);
  EXPECT_EQ(enforcer.deadline(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(enforcer.CheckRekeyAllowed(), RekeyError::kNone);
  enforcer.PresetCountForTesting(uint64_t{1} << 50);
  EXPECT_EQ(enforcer.CountCell(), RekeyError::kNone);
  enforcer.OnSwitch();
  EXPECT_EQ(enforcer.deadline(), std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace relaycell
