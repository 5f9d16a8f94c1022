#include "net/wire/link_cell_reader.h"

#include "engine/common/byte_io.h"
#include "net/wire/versions.h"

namespace relaycell::net {

const char* LinkDropReasonCounterName(LinkDropReason reason) {
  switch (reason) {
    case LinkDropReason::kNone: return "none";
    case LinkDropReason::kCircIdZero: return "circ_id_zero";
    case LinkDropReason::kSecondVersions: return "second_versions";
    case LinkDropReason::kPadding: return "padding";
    case LinkDropReason::kCount: break;
  }
  return "unknown";
}

const char* LinkCloseReasonName(LinkCloseReason reason) {
  switch (reason) {
    case LinkCloseReason::kNone: return "none";
    case LinkCloseReason::kCellBeforeVersions: return "a cell before VERSIONS";
    case LinkCloseReason::kNoCommonVersion: return "no common link protocol version";
    case LinkCloseReason::kBadVersions: return "malformed VERSIONS";
  }
  return "unknown";
}

LinkCellReader::LinkCellReader(bool we_opened) : we_opened_(we_opened) {}

LinkCellAction LinkCellReader::Close(LinkCloseReason reason) {
  state_ = LinkState::kClosed;
  close_reason_ = reason;
  return LinkCellAction::kCloseLink;
}

LinkCellAction LinkCellReader::Drop(LinkDropReason reason) {
  last_drop_ = reason;
  ++drops_[size_t(reason)];
  return LinkCellAction::kDrop;
}

LinkCellAction LinkCellReader::OnCell(std::span<const uint8_t, kCellBytes> cell) {
  const uint32_t circ_id = LoadBe<uint32_t>(cell, 0);
  const uint8_t command = cell[4];
  switch (state_) {
    case LinkState::kClosed: return LinkCellAction::kCloseLink;
    case LinkState::kAwaitingVersions: {
      if (command != kVersionsCommand) return Close(LinkCloseReason::kCellBeforeVersions);
      if (circ_id != 0) return Close(LinkCloseReason::kBadVersions);
      uint16_t chosen = 0;
      switch (ParseVersions(CellPayload(cell), chosen)) {
        case WireError::kNone: break;
        case WireError::kNoCommonVersion: return Close(LinkCloseReason::kNoCommonVersion);
        default: return Close(LinkCloseReason::kBadVersions);
      }
      version_ = chosen;
      state_ = LinkState::kOpen;
      return LinkCellAction::kSendNothing;
    }
    case LinkState::kOpen: break;
  }
  if (command == kPaddingCommand) return Drop(LinkDropReason::kPadding);
  if (circ_id == 0) {
    return Drop(command == kVersionsCommand ? LinkDropReason::kSecondVersions
                                            : LinkDropReason::kCircIdZero);
  }
  return LinkCellAction::kCircuitCell;
}

}  // namespace relaycell::net
