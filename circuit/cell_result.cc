#include "circuit/cell_result.h"

namespace relaycell {

const char* OriginateErrorName(OriginateError error) {
  switch (error) {
    case OriginateError::kOk: return "ok";
    case OriginateError::kClosed: return "circuit destroyed";
    case OriginateError::kNoSuchHop: return "no such hop";
    case OriginateError::kBadPayload: return "bad relay payload";
  }
  return "unknown";
}

ParsedRelay CheckRecognizedPayload(const CellSuite& suite,
                                   std::span<const uint8_t, kCellBodyBytes> payload) {
  ParsedRelay parsed = ParseRelayPayload(suite.relay_format(), payload);
  if (parsed.ok() && parsed.header.command == RelayCommand::kRekey && !suite.supports_rekey()) {
    parsed.error = ProtocolError::kRekeyUnsupported;
    parsed.data = {};
  }
  return parsed;
}

}  // namespace relaycell
