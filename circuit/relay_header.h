// Relay payloads: the 509 plaintext bytes once the last layer is off, laid out as the circuit's
// suite says (engine/suite/relay_format.h). One parser and one builder serve every suite.
//
// Parsing never allocates and never throws; the data view points into the payload.
#ifndef RELAYCELL_CIRCUIT_RELAY_HEADER_H_
#define RELAYCELL_CIRCUIT_RELAY_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/protocol_error.h"
#include "engine/suite/relay_format.h"

namespace relaycell {

// The aez and tor1 header is 11 bytes, so a cell carries up to 498 bytes of data; other formats
// carry less (RelayFormat::max_data).
inline constexpr size_t kRelayHeaderBytes = 11;
inline constexpr size_t kRelayDataBytes = kCellBodyBytes - kRelayHeaderBytes;  // 498

// Tor's numbers, but for REKEY and DSKE. The circuit itself acts only on REKEY; the others are
// delivered to the host (network.md §4–§5 say what it does with them).
enum class RelayCommand : uint8_t {
  kBegin = 1,
  kData = 2,
  kEnd = 3,
  kConnected = 4,
  kSendme = 5,
  kTruncated = 9,
  kDrop = 10,
  kExtend2 = 14,
  kExtended2 = 15,
  kRekey = 28,  // prop 262, this protocol's number
  kDske = 29,   // this protocol's number
};
bool IsKnownRelayCommand(uint8_t command);
const char* RelayCommandName(RelayCommand command);

struct RelayHeader {
  RelayCommand command = RelayCommand::kData;
  uint16_t stream_id = 0;
  uint16_t length = 0;
};

struct ParsedRelay {
  RelayHeader header;
  std::span<const uint8_t> data;  // `length` bytes
  ProtocolError error = ProtocolError::kNone;
  bool ok() const { return error == ProtocolError::kNone; }
};

// Parses a payload its layer has recognized: the format's zero fields must be zero
// (kUnrecognized otherwise: the redundancy a layer's verdict rests on), the relay command
// known, the length within the format's room for that command.
ParsedRelay ParseRelayPayload(const RelayFormat& format,
                              std::span<const uint8_t, kCellBodyBytes> payload);

// Writes a payload: header fields, data, zeros elsewhere (the layer fills what it owns, e.g.
// tor1's digest). False if data does not fit, or a stream id is given for a command whose
// format has no stream id field.
bool BuildRelayPayload(const RelayFormat& format, const RelayHeader& header,
                       std::span<const uint8_t> data, std::span<uint8_t, kCellBodyBytes> payload);

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_RELAY_HEADER_H_
