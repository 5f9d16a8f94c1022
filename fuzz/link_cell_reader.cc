// Fuzzes the link's cell-level state machine (network.md §2) over a sequence of cells. Input:
// one byte (bit 0: we opened the link), then records circ_id u32 | command u8 | n u8 |
// payload[n] (the rest of the payload zero). Invariants: the state only moves forward
// (awaiting -> open -> closed); the link opens only on a first VERSIONS at version 1; once open,
// no cell on circ_id 0 and no PADDING reaches the circuit layer, and every drop is counted;
// once closed, every cell gets kCloseLink.
#include <array>
#include <cstdint>
#include <cstring>

#include "engine/common/byte_io.h"
#include "net/wire/link_cell_reader.h"
#include "net/wire/versions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell;
  using namespace relaycell::net;
  if (size < 1) return 0;
  LinkCellReader reader(data[0] & 1);
  if (reader.our_id_high_bit() == reader.peer_id_high_bit()) __builtin_trap();
  size_t at = 1;
  bool first = true;
  uint64_t drops_seen = 0;
  while (size - at >= 6) {
    std::array<uint8_t, kCellBytes> cell{};
    std::memcpy(cell.data(), data + at, 5);
    const size_t n = std::min<size_t>(data[at + 5], size - at - 6);
    std::memcpy(cell.data() + kCellHeaderBytes, data + at + 6, n);
    at += 6 + n;

    const uint32_t circ_id = LoadBe<uint32_t>(cell, 0);
    const uint8_t command = cell[4];
    const LinkState before = reader.state();
    const LinkCellAction action = reader.OnCell(cell);
    const LinkState after = reader.state();
    if (static_cast<int>(after) < static_cast<int>(before)) __builtin_trap();
    switch (before) {
      case LinkState::kAwaitingVersions:
        if (!first) __builtin_trap();  // the first cell always decides
        if (action == LinkCellAction::kSendNothing) {
          if (after != LinkState::kOpen || command != kVersionsCommand || circ_id != 0 ||
              reader.version() != kLinkProtocolVersion) {
            __builtin_trap();
          }
        } else if (action != LinkCellAction::kCloseLink || after != LinkState::kClosed ||
                   reader.close_reason() == LinkCloseReason::kNone) {
          __builtin_trap();
        }
        break;
      case LinkState::kOpen:
        if (after != LinkState::kOpen || reader.version() != kLinkProtocolVersion) __builtin_trap();
        if (action == LinkCellAction::kCircuitCell && (circ_id == 0 || command == 0)) {
          __builtin_trap();
        }
        if (action == LinkCellAction::kDrop) {
          ++drops_seen;
          if (reader.last_drop() == LinkDropReason::kNone) __builtin_trap();
        }
        if (action == LinkCellAction::kSendNothing || action == LinkCellAction::kCloseLink) {
          __builtin_trap();
        }
        break;
      case LinkState::kClosed:
        if (action != LinkCellAction::kCloseLink) __builtin_trap();
        break;
    }
    first = false;
  }
  uint64_t counted = 0;
  for (size_t r = 0; r < kLinkDropReasons; ++r) counted += reader.drops(LinkDropReason(r));
  if (counted != drops_seen) __builtin_trap();
  return 0;
}
