// Tampering: with aez and cgo (wide-block layers) any flipped bit anywhere on the path kills the
// cell and the circuit; with tor1 (AES-CTR, digest checked only at the end) a tag can be added
// and removed unseen.
#include <gtest/gtest.h>

#include "tests/circuit_test_util.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using testing::Cell;
using testing::Path;

constexpr int kHops = 3;

// Sends `warmup` good cells each way first, so the chained state is not the initial one.
void Warm(Path& path, int warmup) {
  Cell cell{};
  for (int k = 0; k < warmup; ++k) {
    const auto data = testing::TestData(100, uint32_t(k));
    ASSERT_EQ(path.client.Originate(kHops, {RelayCommand::kData, 1, 100}, data, false, cell),
              OriginateError::kOk);
    for (int i = 0; i < kHops; ++i) path.relays[size_t(i)].HandleForward(cell);
    ASSERT_EQ(path.relays[kHops - 1].Originate({RelayCommand::kData, 1, 100}, data, cell),
              OriginateError::kOk);
    for (int i = kHops - 2; i >= 0; --i) path.relays[size_t(i)].HandleBackward(cell);
    ASSERT_EQ(path.client.Receive(cell).outcome, CellOutcome::kDelivered);
  }
}

// The bit positions to try: header-field bytes, block boundaries, the AEZ fragment, the end.
const size_t kBits[] = {0,      7,           8 * 4,   8 * 8 + 1,   8 * 10 + 3, 8 * 31 + 7,
                        8 * 32, 8 * 200 + 5, 8 * 447, 8 * 476 + 2, 8 * 492,    8 * 508 + 7};

// The suites whose layers resist tagging: every test below runs on each.
class Tamper : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
};

// Forward: flip one bit on link `link` (0 = client→hop 1, i = hop i→hop i+1) of a cell to hop 3.
TEST_P(Tamper, AnyForwardBitFlipIsNeverDeliveredAndKillsTheCircuit) {
  for (int link = 0; link < kHops; ++link) {
    for (size_t bit : kBits) {
      Path path;
      path.Build(suite(), kHops);
      Warm(path, 2);
      Cell cell{};
      const auto data = testing::TestData(300, 99);
      ASSERT_EQ(path.client.Originate(kHops, {RelayCommand::kData, 5, 300}, data, false, cell),
                OriginateError::kOk);
      bool delivered = false, destroyed = false;
      for (int i = 0; i < kHops; ++i) {
        if (i == link) CellPayload(CellBytes(cell))[bit / 8] ^= uint8_t(1u << (bit % 8));
        const CellResult r = path.relays[size_t(i)].HandleForward(cell);
        delivered |= r.outcome == CellOutcome::kDelivered;
        if (r.outcome == CellOutcome::kDestroyed) {
          destroyed = true;
          EXPECT_EQ(r.destroy_reason, DestroyReason::kProtocol);
          EXPECT_EQ(path.relays[size_t(i)].errors().Total(), 1u);
          break;
        }
      }
      EXPECT_FALSE(delivered) << "link " << link << " bit " << bit;
      EXPECT_TRUE(destroyed) << "link " << link << " bit " << bit;
      // Nothing more passes: the last relay is destroyed, so later cells are dropped.
      ASSERT_EQ(path.client.Originate(kHops, {RelayCommand::kData, 5, 300}, data, false, cell),
                OriginateError::kOk);
      bool later_delivered = false;
      for (int i = 0; i < kHops; ++i) {
        const CellResult r = path.relays[size_t(i)].HandleForward(cell);
        later_delivered |= r.outcome == CellOutcome::kDelivered;
        if (r.outcome != CellOutcome::kForward) break;
      }
      EXPECT_FALSE(later_delivered) << "link " << link << " bit " << bit;
    }
  }
}

// Backward: flip one bit on link `link` (0 = hop 1→client, i = hop i+1→hop i) of a cell from hop 3.
TEST_P(Tamper, AnyBackwardBitFlipIsNeverDeliveredAndKillsTheCircuit) {
  for (int link = 0; link < kHops; ++link) {
    for (size_t bit : kBits) {
      Path path;
      path.Build(suite(), kHops);
      Warm(path, 1);
      Cell cell{};
      const auto data = testing::TestData(400, 7);
      ASSERT_EQ(path.relays[kHops - 1].Originate({RelayCommand::kData, 9, 400}, data, cell),
                OriginateError::kOk);
      for (int i = kHops - 2; i >= -1; --i) {
        if (i + 1 == link) CellPayload(CellBytes(cell))[bit / 8] ^= uint8_t(1u << (bit % 8));
        if (i >= 0) {
          ASSERT_EQ(path.relays[size_t(i)].HandleBackward(cell).outcome, CellOutcome::kForward);
        }
      }
      const CellResult r = path.client.Receive(cell);
      EXPECT_EQ(r.outcome, CellOutcome::kDestroyed) << "link " << link << " bit " << bit;
      EXPECT_EQ(r.error, ProtocolError::kUnrecognized);
      EXPECT_TRUE(r.data.empty());
      // The failed payload is wiped, never left as partially decrypted bytes.
      for (size_t i = 0; i < kCellBodyBytes; ++i) ASSERT_EQ(CellPayload(CellBytes(cell))[i], 0);
      EXPECT_EQ(path.client.errors()[ProtocolError::kUnrecognized], 1u);
      // A later, untouched cell is not delivered either.
      ASSERT_EQ(path.relays[kHops - 1].Originate({RelayCommand::kData, 9, 10},
                                                 std::span(data).first(10), cell),
                OriginateError::kOk);
      for (int i = kHops - 2; i >= 0; --i) path.relays[size_t(i)].HandleBackward(cell);
      EXPECT_EQ(path.client.Receive(cell).outcome, CellOutcome::kClosed);
    }
  }
}

// Tor's tagging attack. A malicious guard XORs a pattern into a forward cell before peeling
// its layer; a colluding middle-to-exit link XORs the same pattern back after hop 1. CTR
// commutes with XOR, so the cell arrives at the exit bit-for-bit intact and the digest (only
// checked there) is happy: the colluders marked the cell and removed the mark without any
// honest party noticing. (Left in place, the mark makes the exit's digest check fail — the
// signal the attack uses to link the guard's and exit's views of one circuit.) With aez, the
// guard's wide-block decipher spreads the flipped bits over the whole cell, so XORing the
// pattern back restores nothing and the cell dies at the next hop.
void TagAndUntag(const CellSuite& suite, CellOutcome& exit_outcome, bool& intact) {
  Path path;
  path.Build(suite, kHops);
  Cell cell{};
  const auto data = testing::TestData(400, 3);
  ASSERT_EQ(path.client.Originate(kHops, {RelayCommand::kData, 2, 400}, data, false, cell),
            OriginateError::kOk);
  uint8_t pattern[kCellBodyBytes] = {};
  for (size_t i = 40; i < 60; ++i) pattern[i] = 0xa5;  // inside the data, away from header fields
  auto body = CellPayload(CellBytes(cell));
  for (size_t i = 0; i < kCellBodyBytes; ++i) body[i] ^= pattern[i];  // tag at hop 1's input
  CellResult r = path.relays[0].HandleForward(cell);
  exit_outcome = r.outcome;
  intact = false;
  if (r.outcome != CellOutcome::kForward) return;
  for (size_t i = 0; i < kCellBodyBytes; ++i) body[i] ^= pattern[i];  // untag after hop 1
  for (int i = 1; i < kHops; ++i) {
    r = path.relays[size_t(i)].HandleForward(cell);
    exit_outcome = r.outcome;
    if (r.outcome != CellOutcome::kForward) break;
  }
  intact = exit_outcome == CellOutcome::kDelivered && r.data.size() == data.size() &&
           std::equal(data.begin(), data.end(), r.data.begin());
}

INSTANTIATE_TEST_SUITE_P(WideBlock, Tamper, ::testing::Values(kAezSuiteId, kCgoSuiteId),
                         testing::SuiteParamName);

TEST(TaggingAttack, Tor1IsMalleableAezAndCgoAreNot) {
  CellOutcome outcome;
  bool intact = false;
  TagAndUntag(Tor1CellSuite(), outcome, intact);
  EXPECT_EQ(outcome, CellOutcome::kDelivered);
  EXPECT_TRUE(intact) << "tor1: a tag added before hop 1 and removed after it goes unseen";

  TagAndUntag(AezCellSuite(), outcome, intact);
  EXPECT_EQ(outcome, CellOutcome::kDestroyed) << "aez: the cell dies at the exit";
  EXPECT_FALSE(intact);

  TagAndUntag(CgoCellSuite(), outcome, intact);
  EXPECT_EQ(outcome, CellOutcome::kDestroyed) << "cgo: the cell dies at the exit";
  EXPECT_FALSE(intact);
}

}  // namespace
}  // namespace relaycell
