// The cell-level state machine of one link (network.md §2): what to do with each 514-byte cell
// the peer sends, before any circuit is looked up. Pure: no I/O, no clock, no allocation.
//
//   kAwaitingVersions --VERSIONS with a common version--> kOpen
//   kAwaitingVersions --any other cell, bad VERSIONS-----> kClosed
//
// Once open: PADDING is dropped; VERSIONS on circ_id 0 is dropped (a second VERSIONS); any
// other cell on circ_id 0 is dropped; every cell on a circ_id != 0 goes to the circuit layer,
// unknown commands and VERSIONS included, because §2 makes their fate depend on whether the id
// names a live circuit (live: DESTROY(PROTOCOL); not: counted and dropped). Drops are counted
// here by reason; nothing dropped is ever answered.
#ifndef RELAYCELL_NET_WIRE_LINK_CELL_READER_H_
#define RELAYCELL_NET_WIRE_LINK_CELL_READER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/cell.h"

namespace relaycell::net {

// Cell command numbers on a link: PADDING 0, RELAY 3, DESTROY 4, VERSIONS 7, RELAY_EARLY 9,
// CREATE2 10, CREATED2 11 (circuit/cell.h has all but VERSIONS, which never reaches a circuit).
inline constexpr uint8_t kPaddingCommand = 0;
inline constexpr uint8_t kVersionsCommand = 7;
inline constexpr uint8_t kCreate2Command = 10;
inline constexpr uint8_t kCreated2Command = 11;

// The circ_id top bit chosen by the side that opened the TCP connection.
inline constexpr uint32_t kOpenerCircIdBit = 0x80000000u;

enum class LinkState : uint8_t { kAwaitingVersions, kOpen, kClosed };

enum class LinkCellAction : uint8_t {
  kSendNothing,  // consumed here (VERSIONS accepted)
  kCloseLink,    // close the TLS link (close_reason() says why)
  kDrop,         // counted (last_drop() says why), not answered
  kCircuitCell,  // hand to the circuit layer, which checks the circ_id and command
};

enum class LinkDropReason : uint8_t {
  kNone = 0,
  kCircIdZero,      // a cell other than PADDING or VERSIONS on circ_id 0
  kSecondVersions,  // VERSIONS on circ_id 0 after the link opened
  kPadding,         // PADDING (link-level keepalive)
  kCount,
};
inline constexpr size_t kLinkDropReasons = size_t(LinkDropReason::kCount);
const char* LinkDropReasonCounterName(LinkDropReason reason);  // "circ_id_zero", ...

enum class LinkCloseReason : uint8_t {
  kNone = 0,
  kCellBeforeVersions,  // the first cell was not VERSIONS
  kNoCommonVersion,     // VERSIONS without a version we speak
  kBadVersions,         // VERSIONS whose n does not fit, or first VERSIONS on circ_id != 0
};
const char* LinkCloseReasonName(LinkCloseReason reason);  // a sentence for logs

class LinkCellReader {
 public:
  // `we_opened`: this side opened the TCP connection, so it picks circ_ids with the top bit set
  // and the peer picks them with it clear (or the other way round).
  explicit LinkCellReader(bool we_opened);

  // One cell from the peer. After kCloseLink every further cell gets kCloseLink.
  LinkCellAction OnCell(std::span<const uint8_t, kCellBytes> cell);

  LinkState state() const { return state_; }
  uint16_t version() const { return version_; }  // 0 until open
  LinkDropReason last_drop() const { return last_drop_; }
  LinkCloseReason close_reason() const { return close_reason_; }
  uint64_t drops(LinkDropReason reason) const { return drops_[size_t(reason)]; }

  // A CREATE2 from the peer must carry a non-zero circ_id with the peer's top bit.
  bool PeerIdHasRightTopBit(uint32_t circ_id) const {
    return circ_id != 0 && (circ_id & kOpenerCircIdBit) == peer_id_high_bit();
  }
  uint32_t our_id_high_bit() const { return we_opened_ ? kOpenerCircIdBit : 0; }
  uint32_t peer_id_high_bit() const { return we_opened_ ? 0 : kOpenerCircIdBit; }

 private:
  LinkCellAction Close(LinkCloseReason reason);
  LinkCellAction Drop(LinkDropReason reason);

  bool we_opened_;
  LinkState state_ = LinkState::kAwaitingVersions;
  uint16_t version_ = 0;
  LinkDropReason last_drop_ = LinkDropReason::kNone;
  LinkCloseReason close_reason_ = LinkCloseReason::kNone;
  std::array<uint64_t, kLinkDropReasons> drops_{};
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_LINK_CELL_READER_H_
