// The link's cell-level state machine (network.md §2): VERSIONS first, then what is dropped,
// what closes the link and what goes to the circuit layer; the circ_id top-bit rule.
#include <array>

#include <gtest/gtest.h>

#include "engine/common/byte_io.h"
#include "net/wire/link_cell_reader.h"
#include "net/wire/versions.h"

namespace relaycell::net {
namespace {

using Cell = std::array<uint8_t, kCellBytes>;

Cell MakeCell(uint32_t circ_id, uint8_t command) {
  Cell cell{};
  StoreBe<uint32_t>(circ_id, cell, 0);
  cell[4] = command;
  return cell;
}

Cell VersionsCell(std::initializer_list<uint16_t> versions, uint32_t circ_id = 0) {
  Cell cell = MakeCell(circ_id, kVersionsCommand);
  StoreBe<uint16_t>(uint16_t(versions.size()), cell, 5);
  size_t at = 7;
  for (uint16_t v : versions) {
    StoreBe<uint16_t>(v, cell, at);
    at += 2;
  }
  return cell;
}

Cell OurVersionsCell() {
  Cell cell = MakeCell(0, kVersionsCommand);
  BuildVersions(CellPayload(CellBytes(cell)));
  return cell;
}

TEST(LinkCellReader, VersionsOpensTheLink) {
  LinkCellReader reader(true);
  EXPECT_EQ(reader.state(), LinkState::kAwaitingVersions);
  EXPECT_EQ(reader.version(), 0);
  EXPECT_EQ(reader.OnCell(OurVersionsCell()), LinkCellAction::kSendNothing);
  EXPECT_EQ(reader.state(), LinkState::kOpen);
  EXPECT_EQ(reader.version(), kLinkProtocolVersion);
  EXPECT_EQ(reader.close_reason(), LinkCloseReason::kNone);

  LinkCellReader other(false);
  EXPECT_EQ(other.OnCell(VersionsCell({4, 3, 1, 2})), LinkCellAction::kSendNothing);
  EXPECT_EQ(other.version(), 1);
}

TEST(LinkCellReader, AnyOtherCellBeforeVersionsCloses) {
  for (uint8_t command :
       {uint8_t{0}, uint8_t{3}, uint8_t{4}, uint8_t{9}, uint8_t{10}, uint8_t{11}, uint8_t{200}}) {
    LinkCellReader reader(false);
    EXPECT_EQ(reader.OnCell(MakeCell(0x00000005, command)), LinkCellAction::kCloseLink)
        << int(command);
    EXPECT_EQ(reader.state(), LinkState::kClosed);
    EXPECT_EQ(reader.close_reason(), LinkCloseReason::kCellBeforeVersions);
    // Closed stays closed: even a good VERSIONS now gets kCloseLink.
    EXPECT_EQ(reader.OnCell(OurVersionsCell()), LinkCellAction::kCloseLink);
    EXPECT_EQ(reader.state(), LinkState::kClosed);
    EXPECT_EQ(reader.version(), 0);
  }
  LinkCellReader padding_first(true);
  EXPECT_EQ(padding_first.OnCell(MakeCell(0, 0)), LinkCellAction::kCloseLink);
}

TEST(LinkCellReader, BadVersionsCloses) {
  LinkCellReader none(true);
  EXPECT_EQ(none.OnCell(VersionsCell({2, 3})), LinkCellAction::kCloseLink);
  EXPECT_EQ(none.close_reason(), LinkCloseReason::kNoCommonVersion);

  LinkCellReader empty(true);
  EXPECT_EQ(empty.OnCell(VersionsCell({})), LinkCellAction::kCloseLink);
  EXPECT_EQ(empty.close_reason(), LinkCloseReason::kNoCommonVersion);

  LinkCellReader too_many(true);
  Cell cell = VersionsCell({1});
  StoreBe<uint16_t>(uint16_t(kMaxVersionsCount + 1), cell, 5);
  EXPECT_EQ(too_many.OnCell(cell), LinkCellAction::kCloseLink);
  EXPECT_EQ(too_many.close_reason(), LinkCloseReason::kBadVersions);

  LinkCellReader on_a_circuit(true);
  EXPECT_EQ(on_a_circuit.OnCell(VersionsCell({1}, 0x80000001)), LinkCellAction::kCloseLink);
  EXPECT_EQ(on_a_circuit.close_reason(), LinkCloseReason::kBadVersions);
}

TEST(LinkCellReader, AfterOpenDropsAndCircuitCells) {
  LinkCellReader reader(true);
  ASSERT_EQ(reader.OnCell(OurVersionsCell()), LinkCellAction::kSendNothing);

  EXPECT_EQ(reader.OnCell(OurVersionsCell()), LinkCellAction::kDrop);
  EXPECT_EQ(reader.last_drop(), LinkDropReason::kSecondVersions);
  EXPECT_EQ(reader.state(), LinkState::kOpen);
  EXPECT_EQ(reader.version(), 1);
  // Even a second VERSIONS that lists nothing common is only dropped.
  EXPECT_EQ(reader.OnCell(VersionsCell({9})), LinkCellAction::kDrop);
  EXPECT_EQ(reader.drops(LinkDropReason::kSecondVersions), 2u);

  for (uint8_t command :
       {uint8_t{3}, uint8_t{4}, uint8_t{9}, uint8_t{10}, uint8_t{11}, uint8_t{99}}) {
    EXPECT_EQ(reader.OnCell(MakeCell(0, command)), LinkCellAction::kDrop) << int(command);
    EXPECT_EQ(reader.last_drop(), LinkDropReason::kCircIdZero);
  }
  EXPECT_EQ(reader.drops(LinkDropReason::kCircIdZero), 6u);

  EXPECT_EQ(reader.OnCell(MakeCell(0, 0)), LinkCellAction::kDrop);
  EXPECT_EQ(reader.last_drop(), LinkDropReason::kPadding);
  EXPECT_EQ(reader.OnCell(MakeCell(7, 0)), LinkCellAction::kDrop);
  EXPECT_EQ(reader.drops(LinkDropReason::kPadding), 2u);

  // Everything on a non-zero circ_id goes to the circuit layer, unknown commands and VERSIONS
  // included (§2: a live circuit is destroyed, an unknown id is dropped: the host decides).
  for (uint8_t command :
       {uint8_t{3}, uint8_t{4}, uint8_t{7}, uint8_t{9}, uint8_t{10}, uint8_t{11}, uint8_t{99}}) {
    EXPECT_EQ(reader.OnCell(MakeCell(0x80000001, command)), LinkCellAction::kCircuitCell)
        << int(command);
    EXPECT_EQ(reader.OnCell(MakeCell(0x00000001, command)), LinkCellAction::kCircuitCell)
        << int(command);
  }
  EXPECT_EQ(reader.state(), LinkState::kOpen);
  EXPECT_STREQ(LinkDropReasonCounterName(LinkDropReason::kSecondVersions), "second_versions");
}

TEST(LinkCellReader, TopBitRuleBothDirections) {
  LinkCellReader opener(true);  // we opened: our ids have the top bit, the peer's do not
  EXPECT_EQ(opener.our_id_high_bit(), 0x80000000u);
  EXPECT_EQ(opener.peer_id_high_bit(), 0u);
  EXPECT_TRUE(opener.PeerIdHasRightTopBit(0x00000001));
  EXPECT_TRUE(opener.PeerIdHasRightTopBit(0x7fffffff));
  EXPECT_FALSE(opener.PeerIdHasRightTopBit(0x80000001));
  EXPECT_FALSE(opener.PeerIdHasRightTopBit(0xffffffff));
  EXPECT_FALSE(opener.PeerIdHasRightTopBit(0));

  LinkCellReader accepter(false);  // the peer opened: its ids have the top bit
  EXPECT_EQ(accepter.our_id_high_bit(), 0u);
  EXPECT_EQ(accepter.peer_id_high_bit(), 0x80000000u);
  EXPECT_TRUE(accepter.PeerIdHasRightTopBit(0x80000001));
  EXPECT_TRUE(accepter.PeerIdHasRightTopBit(0x80000000));
  EXPECT_FALSE(accepter.PeerIdHasRightTopBit(0x00000001));
  EXPECT_FALSE(accepter.PeerIdHasRightTopBit(0));
}

}  // namespace
}  // namespace relaycell::net
