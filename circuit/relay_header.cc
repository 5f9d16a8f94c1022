#include "engine/common/byte_io.h"
#include "circuit/relay_header.h"

#include <cstring>

namespace relaycell {

// The enum is the list: -Wswitch makes a new command show up here and in the names at once.
bool IsKnownRelayCommand(uint8_t command) {
  switch (RelayCommand(command)) {
    case RelayCommand::kBegin:
    case RelayCommand::kData:
    case RelayCommand::kEnd:
    case RelayCommand::kConnected:
    case RelayCommand::kSendme:
    case RelayCommand::kTruncated:
    case RelayCommand::kDrop:
    case RelayCommand::kExtend2:
    case RelayCommand::kExtended2:
    case RelayCommand::kRekey:
    case RelayCommand::kDske: return true;
  }
  return false;
}

const char* RelayCommandName(RelayCommand command) {
  switch (command) {
    case RelayCommand::kBegin: return "BEGIN";
    case RelayCommand::kData: return "DATA";
    case RelayCommand::kEnd: return "END";
    case RelayCommand::kConnected: return "CONNECTED";
    case RelayCommand::kSendme: return "SENDME";
    case RelayCommand::kTruncated: return "TRUNCATED";
    case RelayCommand::kDrop: return "DROP";
    case RelayCommand::kExtend2: return "EXTEND2";
    case RelayCommand::kExtended2: return "EXTENDED2";
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
  const uint16_t length = LoadBe<uint16_t>(payload, format.length_at);
  if (length > format.max_data(command)) {
    parsed.error = ProtocolError::kRelayLengthTooLong;
    return parsed;
  }
  parsed.header.command = RelayCommand(command);
  parsed.header.stream_id =
      format.has_stream_id(command) ? LoadBe<uint16_t>(payload, format.stream_id_at) : uint16_t{0};
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
  if (has_stream_id) StoreBe<uint16_t>(header.stream_id, payload, format.stream_id_at);
  StoreBe<uint16_t>(header.length, payload, format.length_at);
  if (!data.empty()) std::memcpy(&payload[format.data_offset(command)], data.data(), data.size());
  return true;
}

}  // namespace relaycell
