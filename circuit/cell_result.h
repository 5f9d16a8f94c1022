// What a circuit did with one cell: the outcome the host acts on.
#ifndef RELAYCELL_CIRCUIT_CELL_RESULT_H_
#define RELAYCELL_CIRCUIT_CELL_RESULT_H_

#include <cstdint>
#include <span>

#include "circuit/cell.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"

namespace relaycell {

inline constexpr int kMaxHops = 8;

enum class CellOutcome : uint8_t {
  kDelivered,  // recognized here: `header` and `data` (a view into the cell) are valid
  kForward,    // relay only: send the transformed cell on (its circ_id already rewritten)
  kIgnored,    // PADDING: nothing to do
  kDestroyed,  // the circuit is now destroyed: send DESTROY(destroy_reason) to the other side(s)
  kClosed,     // the circuit was already destroyed: the cell was dropped
  // relay only: the next hop sent DESTROY(destroy_reason). The circuit lost its next side and
  // is the last hop again, still open: send TRUNCATED(destroy_reason) towards the client
  // (network.md §4), nothing to the next hop.
  kNextDestroyed,
};

struct CellResult {
  CellOutcome outcome = CellOutcome::kClosed;
  ProtocolError error = ProtocolError::kNone;           // why, when a protocol error destroyed it
  DestroyReason destroy_reason = DestroyReason::kNone;  // for kDestroyed and kNextDestroyed
  int hop = 0;         // client: the hop (1-based) a delivered cell came from
  bool early = false;  // a delivered forward cell was RELAY_EARLY
  RelayHeader header;
  std::span<const uint8_t> data;
};

enum class OriginateError : uint8_t {
  kOk = 0,
  kClosed,      // the circuit is destroyed
  kNoSuchHop,   // hop outside 1..hops()
  kBadPayload,  // data longer than the suite's format holds, or header.length != data size
};
const char* OriginateErrorName(OriginateError error);

// The checks every recognized payload passes before delivery: the suite's header rules, and
// no REKEY on a suite that cannot rekey.
ParsedRelay CheckRecognizedPayload(const CellSuite& suite,
                                   std::span<const uint8_t, kCellBodyBytes> payload);

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_CELL_RESULT_H_
