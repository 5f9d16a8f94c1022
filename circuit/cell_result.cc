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

ParsedRelay CheckRecognizedPayload(RelayLayout layout, bool supports_rekey,
                                   std::span<const uint8_t, kCellBodyBytes> payload) {
  ParsedRelay parsed = ParseRelayPayload(layout, payload);
  if (parsed.ok() && parsed.header.command == RelayCommand::kRekey && !supports_rekey) {
    parsed.error = ProtocolError::kRekeyUnsupported;
    parsed.data = {};
  }
  return parsed;
}

}  // namespace relaycell
