// Link cells (protocol §1): 514 bytes, circ_id u32 | command u8 | payload[509], big-endian.
//
// Parsing is strict and allocation-free: a cell is either a valid header or a typed
// ProtocolError, never an exception.
#ifndef RELAYCELL_CIRCUIT_CELL_H_
#define RELAYCELL_CIRCUIT_CELL_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/protocol_error.h"
#include "engine/common/byte_io.h"
#include "engine/suite/cell_suite.h"

namespace relaycell {

inline constexpr size_t kCellBytes = 514;
inline constexpr size_t kCellHeaderBytes = 5;
static_assert(kCellHeaderBytes + kCellBodyBytes == kCellBytes);

using CellBytes = std::span<uint8_t, kCellBytes>;
using ConstCellBytes = std::span<const uint8_t, kCellBytes>;

enum class CellCommand : uint8_t {
  kPadding = 0,
  kRelay = 3,
  kDestroy = 4,
  // The link layer's (network.md §2): named here for it, but ParseCell refuses it, so a
  // VERSIONS on a live circuit destroys that circuit like any unknown command.
  kVersions = 7,
  kRelayEarly = 9,
  kCreate2 = 10,
  kCreated2 = 11,
};

enum class DestroyReason : uint8_t {
  kNone = 0,
  kProtocol = 1,
  kInternal = 2,
  kRequested = 3,
  kResourceLimit = 5,
  kConnectFailed = 6,  // network.md §4: the next hop could not be reached
  kOrIdentity = 7,     // the next hop's TLS identity was not the one asked for
  kChannelClosed = 8,  // the link under the circuit went away
  kFinished = 9,
  kTimeout = 10,
  kDestroyed = 11,
};

const char* CellCommandName(CellCommand command);
const char* DestroyReasonName(DestroyReason reason);
bool IsKnownDestroyReason(uint8_t reason);

struct CellHeader {
  uint32_t circ_id = 0;
  CellCommand command = CellCommand::kPadding;
  DestroyReason destroy_reason = DestroyReason::kNone;  // meaningful for DESTROY only
};

struct ParsedCell {
  CellHeader header;
  ProtocolError error = ProtocolError::kNone;  // kNone: header is valid
  bool ok() const { return error == ProtocolError::kNone; }
};

inline std::span<uint8_t, kCellBodyBytes> CellPayload(CellBytes cell) {
  return cell.subspan<kCellHeaderBytes, kCellBodyBytes>();
}
inline std::span<const uint8_t, kCellBodyBytes> CellPayload(ConstCellBytes cell) {
  return cell.subspan<kCellHeaderBytes, kCellBodyBytes>();
}

// ParseCell's DESTROY check: a known reason (stored in `reason`) followed by zeros.
ProtocolError ParseDestroyPayload(ConstCellBytes cell, DestroyReason& reason);

// Checks the header: a known command; circ_id != 0 for every command but PADDING; a DESTROY
// carries a known reason followed by zeros. Inline, so the result stays in registers: out of
// line, GCC 12 assembled it on the stack from byte stores and reloaded it whole, a
// store-forwarding stall on every cell (13 ns of a relay's 133 at 1,000 circuits).
inline ParsedCell ParseCell(ConstCellBytes cell) {
  ParsedCell parsed;
  parsed.header.circ_id = LoadBe<uint32_t>(cell, 0);
  const uint8_t command = cell[4];
  switch (command) {
    case uint8_t(CellCommand::kPadding):
    case uint8_t(CellCommand::kRelay):
    case uint8_t(CellCommand::kDestroy):
    case uint8_t(CellCommand::kRelayEarly):
    case uint8_t(CellCommand::kCreate2):
    case uint8_t(CellCommand::kCreated2): parsed.header.command = CellCommand(command); break;
    default: parsed.error = ProtocolError::kUnknownCellCommand; return parsed;
  }
  // PADDING is link-level; everything else names a circuit, and circ_id 0 is no circuit.
  if (parsed.header.command != CellCommand::kPadding && parsed.header.circ_id == 0) {
    parsed.error = ProtocolError::kZeroCircId;
    return parsed;
  }
  if (parsed.header.command == CellCommand::kDestroy) {
    parsed.error = ParseDestroyPayload(cell, parsed.header.destroy_reason);
  }
  return parsed;
}

// Writes circ_id and command; the payload is left as is.
void WriteCellHeader(uint32_t circ_id, CellCommand command, CellBytes cell);
// A whole DESTROY cell: header, reason, zeros.
void BuildDestroyCell(uint32_t circ_id, DestroyReason reason, CellBytes cell);

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_CELL_H_
