#include "engine/rekey/rekey_schedule.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>

#include "engine/rekey/rekey_config.h"

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

// Counts cells until Due(); returns how many were counted.
uint64_t CellsUntilDue(RekeySchedule& schedule) {
  uint64_t n = 0;
  while (!schedule.Due()) {
    EXPECT_TRUE(schedule.CountCell());
    ++n;
  }
  return n;
}

TEST(RekeySchedule, FirstThresholdThenInterval) {
  RekeySchedule schedule(Small());
  EXPECT_FALSE(schedule.Due());
  EXPECT_EQ(CellsUntilDue(schedule), 64u);
  for (int round = 0; round < 5; ++round) {
    schedule.OnRekeySent();
    EXPECT_EQ(schedule.cells(), 0u);
    EXPECT_FALSE(schedule.Due());
    EXPECT_EQ(CellsUntilDue(schedule), 256u) << "round " << round;
  }
  EXPECT_EQ(schedule.rekeys_sent(), 5u);
}

TEST(RekeySchedule, DeadlineIsNominalThresholdPlusSlack) {
  RekeySchedule schedule(Small());
  EXPECT_EQ(schedule.deadline(), 64u + 16u);
  schedule.PresetCountForTesting(64 + 15);
  EXPECT_TRUE(schedule.CountCell());   // 80 == deadline: still allowed
  EXPECT_FALSE(schedule.CountCell());  // 81: past it
  schedule.OnRekeySent();
  EXPECT_EQ(schedule.deadline(), 256u + 16u);
}

TEST(RekeySchedule, ProductionDefaultsFirstAt2To15) {
  RekeySchedule schedule{RekeyConfig{}};
  schedule.PresetCountForTesting((uint64_t{1} << 15) - 2);
  EXPECT_TRUE(schedule.CountCell());
  EXPECT_FALSE(schedule.Due());
  EXPECT_TRUE(schedule.CountCell());
  EXPECT_TRUE(schedule.Due());
  EXPECT_EQ(schedule.cells(), uint64_t{1} << 15);
}

TEST(RekeySchedule, ProductionDefaultsThenEvery2To32) {
  RekeySchedule schedule{RekeyConfig{}};
  schedule.PresetCountForTesting(uint64_t{1} << 15);
  ASSERT_TRUE(schedule.Due());
  schedule.OnRekeySent();
  schedule.PresetCountForTesting((uint64_t{1} << 32) - 1);
  EXPECT_FALSE(schedule.Due());
  EXPECT_TRUE(schedule.CountCell());
  EXPECT_TRUE(schedule.Due());
  EXPECT_EQ(schedule.deadline(), (uint64_t{1} << 32) + 4096);
  schedule.PresetCountForTesting((uint64_t{1} << 32) + 4096);
  EXPECT_FALSE(schedule.CountCell());
}

TEST(RekeySchedule, RequestedRekeyWaitsForMinSpacing) {
  RekeySchedule schedule(Small());
  schedule.RequestRekey();
  EXPECT_FALSE(schedule.Due()) << "0 cells: the relay would refuse it as too soon";
  EXPECT_EQ(CellsUntilDue(schedule), 8u);
  schedule.OnRekeySent();
  EXPECT_EQ(CellsUntilDue(schedule), 256u) << "a forced rekey does not shift later ones";
}

TEST(RekeySchedule, RequestedRekeyPastMinSpacingIsDueAtOnce) {
  RekeySchedule schedule(Small());
  schedule.PresetCountForTesting(30);
  EXPECT_FALSE(schedule.Due());
  schedule.RequestRekey();
  EXPECT_TRUE(schedule.Due());
}

TEST(RekeySchedule, RequestWithMinSpacingDisabledIsDueImmediately) {
  RekeyConfig config = Small();
  config.min_spacing = 0;
  RekeySchedule schedule(config);
  schedule.RequestRekey();
  EXPECT_TRUE(schedule.Due());
}

TEST(RekeySchedule, DisabledIsNeverDueAndHasNoDeadline) {
  RekeySchedule schedule(Small());
  schedule.Disable();
  schedule.RequestRekey();
  schedule.PresetCountForTesting(uint64_t{1} << 40);
  EXPECT_FALSE(schedule.Due());
  EXPECT_TRUE(schedule.CountCell());
}

TEST(RekeySchedule, RandomizedThresholdsStayWithinTheQuarterBelow) {
  RekeyConfig config = Small();
  config.first = 1000;
  config.interval = 4000;
  config.min_spacing = 100;
  config.randomize = true;
  ASSERT_EQ(config.Validate(), RekeyConfigError::kOk);
  std::set<uint64_t> firsts, intervals;
  for (int i = 0; i < 300; ++i) {
    RekeySchedule schedule(config);
    EXPECT_GE(schedule.due_at(), 750u);
    EXPECT_LE(schedule.due_at(), 1000u);
    EXPECT_EQ(schedule.deadline(), 1000u + 16u) << "the relay's deadline is not randomized";
    firsts.insert(schedule.due_at());
    schedule.OnRekeySent();
    EXPECT_GE(schedule.due_at(), 3000u);
    EXPECT_LE(schedule.due_at(), 4000u);
    intervals.insert(schedule.due_at());
  }
  // 300 draws from 251 values: P(fewer than 100 distinct) is negligible.
  EXPECT_GT(firsts.size(), 100u);
  EXPECT_GT(intervals.size(), 100u);
}

TEST(RekeySchedule, RandomizedProductionIntervalUses64BitDraws) {
  RekeyConfig config;
  config.randomize = true;
  ASSERT_EQ(config.Validate(), RekeyConfigError::kOk);
  RekeySchedule schedule(config);
  schedule.OnRekeySent();
  const uint64_t interval = uint64_t{1} << 32;
  EXPECT_GE(schedule.due_at(), interval - interval / 4);
  EXPECT_LE(schedule.due_at(), interval);
}

TEST(RekeySchedule, SeededDrawsAreReproducibleAndSeedDependent) {
  RekeyConfig config = Small();
  config.first = 1 << 20;
  config.interval = 1 << 24;
  config.randomize = true;
  ASSERT_EQ(config.Validate(), RekeyConfigError::kOk);
  std::array<uint8_t, kRekeyScheduleSeedBytes> seed{};
  seed[0] = 1;
  RekeySchedule a(config, seed), b(config, seed);
  seed[0] = 2;
  RekeySchedule c(config, seed);
  bool any_differs = false;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(a.due_at(), b.due_at());
    any_differs |= a.due_at() != c.due_at();
    a.OnRekeySent();
    b.OnRekeySent();
    c.OnRekeySent();
  }
  EXPECT_TRUE(any_differs);
}

}  // namespace
}  // namespace relaycell
