#include "circuit/cell.h"

#include <cstring>
#include "engine/common/byte_io.h"

namespace relaycell {

const char* CellCommandName(CellCommand command) {
  switch (command) {
    case CellCommand::kPadding: return "PADDING";
    case CellCommand::kRelay: return "RELAY";
    case CellCommand::kDestroy: return "DESTROY";
    case CellCommand::kVersions: return "VERSIONS";
    case CellCommand::kRelayEarly: return "RELAY_EARLY";
    case CellCommand::kCreate2: return "CREATE2";
    case CellCommand::kCreated2: return "CREATED2";
  }
  return "unknown";
}

const char* DestroyReasonName(DestroyReason reason) {
  switch (reason) {
    case DestroyReason::kNone: return "NONE";
    case DestroyReason::kProtocol: return "PROTOCOL";
    case DestroyReason::kInternal: return "INTERNAL";
    case DestroyReason::kRequested: return "REQUESTED";
    case DestroyReason::kResourceLimit: return "RESOURCELIMIT";
    case DestroyReason::kConnectFailed: return "CONNECTFAILED";
    case DestroyReason::kOrIdentity: return "OR_IDENTITY";
    case DestroyReason::kChannelClosed: return "CHANNEL_CLOSED";
    case DestroyReason::kFinished: return "FINISHED";
    case DestroyReason::kTimeout: return "TIMEOUT";
    case DestroyReason::kDestroyed: return "DESTROYED";
  }
  return "unknown";
}

bool IsKnownDestroyReason(uint8_t reason) {
  switch (DestroyReason(reason)) {
    case DestroyReason::kNone:
    case DestroyReason::kProtocol:
    case DestroyReason::kInternal:
    case DestroyReason::kRequested:
    case DestroyReason::kResourceLimit:
    case DestroyReason::kConnectFailed:
    case DestroyReason::kOrIdentity:
    case DestroyReason::kChannelClosed:
    case DestroyReason::kFinished:
    case DestroyReason::kTimeout:
    case DestroyReason::kDestroyed: return true;
  }
  return false;
}

ProtocolError ParseDestroyPayload(ConstCellBytes cell, DestroyReason& reason) {
  const auto payload = CellPayload(cell);
  uint8_t rest = 0;
  for (size_t i = 1; i < payload.size(); ++i) rest |= payload[i];
  if (!IsKnownDestroyReason(payload[0]) || rest != 0) return ProtocolError::kBadDestroyPayload;
  reason = DestroyReason(payload[0]);
  return ProtocolError::kNone;
}

void WriteCellHeader(uint32_t circ_id, CellCommand command, CellBytes cell) {
  StoreBe<uint32_t>(circ_id, cell, 0);
  cell[4] = uint8_t(command);
}

void BuildDestroyCell(uint32_t circ_id, DestroyReason reason, CellBytes cell) {
  std::memset(cell.data(), 0, cell.size());
  WriteCellHeader(circ_id, CellCommand::kDestroy, cell);
  cell[kCellHeaderBytes] = uint8_t(reason);
}

}  // namespace relaycell
