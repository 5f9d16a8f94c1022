// Every hop of 1..8-hop circuits, both directions, both suites, many cells in one circuit.
#include <gtest/gtest.h>

#include "tests/circuit_test_util.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using testing::AllSuiteIds;
using testing::Cell;
using testing::Path;
using testing::SuiteParamName;

class RoundTrip : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
};

TEST_P(RoundTrip, EveryHopBothDirectionsOneToEightHops) {
  for (int n = 1; n <= kMaxHops; ++n) {
    Path path;
    path.Build(suite(), n);
    for (int round = 0; round < 6; ++round) {
      for (int hop = 1; hop <= n; ++hop) {
        const auto data =
            testing::TestData(size_t((round * 97 + hop * 31) % 499), uint32_t(round * 10 + hop));
        const RelayHeader header{RelayCommand::kData, uint16_t(hop), uint16_t(data.size())};
        // Forward: client to `hop`.
        Cell cell{};
        const bool early = round == 0;
        ASSERT_EQ(path.client.Originate(hop, header, data, early, cell), OriginateError::kOk);
        for (int i = 0; i < hop; ++i) {
          const CellResult r = path.relays[size_t(i)].HandleForward(cell);
          if (i + 1 < hop) {
            ASSERT_EQ(r.outcome, CellOutcome::kForward)
                << "n=" << n << " hop=" << hop << " relay " << i + 1;
          } else {
            ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << "n=" << n << " hop=" << hop;
            EXPECT_EQ(r.early, early);
            EXPECT_EQ(r.header.stream_id, hop);
            ASSERT_EQ(r.data.size(), data.size());
            EXPECT_TRUE(std::equal(data.begin(), data.end(), r.data.begin()));
          }
        }
        // Backward: `hop` to the client.
        ASSERT_EQ(path.relays[size_t(hop - 1)].Originate(header, data, cell), OriginateError::kOk);
        for (int i = hop - 2; i >= 0; --i) {
          ASSERT_EQ(path.relays[size_t(i)].HandleBackward(cell).outcome, CellOutcome::kForward);
        }
        const CellResult r = path.client.Receive(cell);
        ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << "n=" << n << " hop=" << hop;
        EXPECT_EQ(r.hop, hop);
        ASSERT_EQ(r.data.size(), data.size());
        EXPECT_TRUE(std::equal(data.begin(), data.end(), r.data.begin()));
      }
    }
    EXPECT_TRUE(path.client.is_open());
    EXPECT_EQ(path.client.errors().Total(), 0u);
  }
}

TEST_P(RoundTrip, OriginateRefusesBadArguments) {
  Path path;
  path.Build(suite(), 3);
  Cell cell{};
  const auto data = testing::TestData(499, 1);
  EXPECT_EQ(path.client.Originate(0, {RelayCommand::kData, 1, 10}, std::span(data).first(10), false,
                                  cell),
            OriginateError::kNoSuchHop);
  EXPECT_EQ(path.client.Originate(4, {RelayCommand::kData, 1, 10}, std::span(data).first(10), false,
                                  cell),
            OriginateError::kNoSuchHop);
  EXPECT_EQ(path.client.Originate(1, {RelayCommand::kData, 1, 499}, data, false, cell),
            OriginateError::kBadPayload);
  EXPECT_EQ(
      path.client.Originate(1, {RelayCommand::kData, 1, 5}, std::span(data).first(10), false, cell),
      OriginateError::kBadPayload);
}

TEST_P(RoundTrip, DestroyStopsEverything) {
  Path path;
  path.Build(suite(), 2);
  Cell cell{};
  BuildDestroyCell(Path::kBaseId, DestroyReason::kFinished, cell);
  const CellResult r = path.relays[0].HandleForward(cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.destroy_reason, DestroyReason::kDestroyed);  // what we tell the next hop
  EXPECT_EQ(path.relays[0].destroy_reason(), DestroyReason::kFinished);
  EXPECT_FALSE(path.relays[0].is_open());
  EXPECT_EQ(path.relays[0].errors().Total(), 0u);
  ASSERT_EQ(path.client.Originate(1, {RelayCommand::kData, 1, 0}, {}, false, cell),
            OriginateError::kOk);
  EXPECT_EQ(path.relays[0].HandleForward(cell).outcome, CellOutcome::kClosed);

  BuildDestroyCell(Path::kBaseId, DestroyReason::kRequested, cell);
  EXPECT_EQ(path.client.Receive(cell).outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(path.client.destroy_reason(), DestroyReason::kRequested);
  EXPECT_EQ(path.client.Originate(1, {RelayCommand::kData, 1, 0}, {}, false, cell),
            OriginateError::kClosed);
}

TEST_P(RoundTrip, HostCannotOriginateRekeyAndRelaysPoliceIt) {
  Path path;
  path.Build(suite(), 1);
  Cell cell{};
  const uint8_t body[34] = {0, 1};
  // The circuit runs RELAY_REKEY itself (both sides must switch in step): a host may not.
  EXPECT_EQ(path.client.Originate(1, {RelayCommand::kRekey, 0, 34}, body, false, cell),
            OriginateError::kBadPayload);
  // A REKEY smuggled in as a ready payload still reaches the relay's rules.
  uint8_t payload[kCellBodyBytes];
  ASSERT_TRUE(
      BuildRelayPayload(suite().relay_format(), {RelayCommand::kRekey, 0, 34}, body, payload));
  ASSERT_EQ(path.client.OriginatePayload(1, payload, false, cell), OriginateError::kOk);
  const CellResult r = path.relays[0].HandleForward(cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_TRUE(r.data.empty());
  // aez: the first cell of a circuit is below min_spacing; tor1 cannot rekey at all.
  const ProtocolError expected =
      suite().supports_rekey() ? ProtocolError::kRekeyTooSoon : ProtocolError::kRekeyUnsupported;
  EXPECT_EQ(r.error, expected);
  EXPECT_EQ(path.relays[0].errors()[expected], 1u);
}

INSTANTIATE_TEST_SUITE_P(Suites, RoundTrip, ::testing::ValuesIn(AllSuiteIds()), SuiteParamName);

}  // namespace
}  // namespace relaycell
