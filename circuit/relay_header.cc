#include "circuit/relay_header.h"

#include <cstring>

namespace relaycell {
namespace {

uint16_t Be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void PutBe16(uint16_t v, uint8_t* p) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

}  // namespace

bool IsKnownRelayCommand(uint8_t command) {
  switch (command) {
    case 2: case 3: case 5: case 10: case 28: case 29: return true;
    default: return false;
  }
}

const char* RelayCommandName(RelayCommand command) {
  switch (command) {
    case RelayCommand::kData: return "DATA";
    case RelayCommand::kEnd: return "END";
    case RelayCommand::kSendme: return "SENDME";
    case RelayCommand::kDrop: return "DROP";
    case RelayCommand::kRekey: return "REKEY";
    case RelayCommand::kDske: return "DSKE";
  }
  return "unknown";
}

ParsedRelay ParseRelayPayload(const RelayFormat& format,
                              std::span<const uint8_t, kCellBodyBytes> payload) {
  ParsedRelay parsed;
  if (!format.RedundancyHolds(payload)) {
    parsed.error = ProtocolError::kUnrecognized;
    return parsed;
  }
  const uint8_t command = payload[format.command_at];
  if (!IsKnownRelayCommand(command)) {
    parsed.error = ProtocolError::kUnknownRelayCommand;
    return parsed;
  }
  const uint16_t length = Be16(&payload[format.length_at]);
  if (length > format.max_data(command)) {
    parsed.error = ProtocolError::kRelayLengthTooLong;
    return parsed;
  }
  parsed.header.command = RelayCommand(command);
  parsed.header.stream_id =
      format.has_stream_id(command) ? Be16(&payload[format.stream_id_at]) : uint16_t{0};
  parsed.header.length = length;
  parsed.data = payload.subspan(format.data_offset(command), length);
  return parsed;
}

bool BuildRelayPayload(const RelayFormat& format, const RelayHeader& header,
                       std::span<const uint8_t> data, std::span<uint8_t, kCellBodyBytes> payload) {
  const uint8_t command = uint8_t(header.command);
  if (data.size() > format.max_data(command) || header.length != data.size()) return false;
  const bool has_stream_id = format.has_stream_id(command);
  if (!has_stream_id && header.stream_id != 0) return false;
  std::memset(payload.data(), 0, payload.size());
  payload[format.command_at] = command;
  if (has_stream_id) PutBe16(header.stream_id, &payload[format.stream_id_at]);
  PutBe16(header.length, &payload[format.length_at]);
  if (!data.empty()) std::memcpy(&payload[format.data_offset(command)], data.data(), data.size());
  return true;
}

}  // namespace relaycell
