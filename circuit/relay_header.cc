#include "circuit/relay_header.h"

#include <cstring>

namespace relaycell {
namespace {

uint16_t Be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void PutBe16(uint16_t v, uint8_t* p) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

// Field offsets of each layout.
struct Offsets {
  size_t command, stream_id, length;
};
constexpr Offsets kAezOffsets{10, 6, 8};
constexpr Offsets kTor1Offsets{0, 3, 9};

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

bool IsAezRecognized(std::span<const uint8_t, kCellBodyBytes> payload) {
  // Branch-free over the seven bytes: the answer is public, the bytes may not be.
  const uint8_t fields = payload[0] | payload[1] | payload[2] | payload[3] | payload[4] |
                         payload[5] | (payload[8] & 0xfe);
  return fields == 0;
}

ParsedRelay ParseRelayPayload(RelayLayout layout, std::span<const uint8_t, kCellBodyBytes> payload) {
  ParsedRelay parsed;
  const Offsets& at = layout == RelayLayout::kAez ? kAezOffsets : kTor1Offsets;
  const bool recognized =
      layout == RelayLayout::kAez ? IsAezRecognized(payload) : (payload[1] | payload[2]) == 0;
  if (!recognized) {
    parsed.error = ProtocolError::kUnrecognized;
    return parsed;
  }
  const uint16_t length = Be16(&payload[at.length]);
  if (length > kRelayDataBytes) {
    parsed.error = ProtocolError::kRelayLengthTooLong;
    return parsed;
  }
  const uint8_t command = payload[at.command];
  if (!IsKnownRelayCommand(command)) {
    parsed.error = ProtocolError::kUnknownRelayCommand;
    return parsed;
  }
  parsed.header.command = RelayCommand(command);
  parsed.header.stream_id = Be16(&payload[at.stream_id]);
  parsed.header.length = length;
  parsed.data = payload.subspan(kRelayHeaderBytes, length);
  return parsed;
}

bool BuildRelayPayload(RelayLayout layout, const RelayHeader& header, std::span<const uint8_t> data,
                       std::span<uint8_t, kCellBodyBytes> payload) {
  if (data.size() > kRelayDataBytes || header.length != data.size()) return false;
  const Offsets& at = layout == RelayLayout::kAez ? kAezOffsets : kTor1Offsets;
  std::memset(payload.data(), 0, payload.size());
  payload[at.command] = uint8_t(header.command);
  PutBe16(header.stream_id, &payload[at.stream_id]);
  PutBe16(header.length, &payload[at.length]);
  if (!data.empty()) std::memcpy(&payload[kRelayHeaderBytes], data.data(), data.size());
  return true;
}

}  // namespace relaycell
