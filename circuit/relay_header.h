// Relay payloads (the 509 plaintext bytes once the last layer is off), in the two layouts:
//
//   aez (prop 261): zero_1 u32 | zero_2 u16 | stream_id u16 | length u16 | relay_command u8 | data[498]
//   tor1 (tor-spec): relay_command u8 | recognized u16 | stream_id u16 | digest u32 | length u16 | data[498]
//
// Parsing never allocates and never throws; the data view points into the payload.
#ifndef RELAYCELL_CIRCUIT_RELAY_HEADER_H_
#define RELAYCELL_CIRCUIT_RELAY_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/protocol_error.h"
#include "engine/suite/cell_suite.h"

namespace relaycell {

inline constexpr size_t kRelayHeaderBytes = 11;
inline constexpr size_t kRelayDataBytes = kCellBodyBytes - kRelayHeaderBytes;  // 498

enum class RelayCommand : uint8_t {
  kData = 2,
  kEnd = 3,
  kSendme = 5,
  kDrop = 10,
  kRekey = 28,  // prop 262, this protocol's number
  kDske = 29,   // this protocol's number
};
bool IsKnownRelayCommand(uint8_t command);
const char* RelayCommandName(RelayCommand command);

enum class RelayLayout : uint8_t { kAez, kTor1 };
inline RelayLayout LayoutOf(CellSuiteKind suite) {
  return suite == CellSuiteKind::kTor1 ? RelayLayout::kTor1 : RelayLayout::kAez;
}

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

// The aez recognition test (55 bits of redundancy): zero_1 == 0, zero_2 == 0, length >> 9 == 0.
bool IsAezRecognized(std::span<const uint8_t, kCellBodyBytes> payload);

// Parses a payload its layer has recognized. aez: re-checks the recognition fields
// (kUnrecognized if they fail); tor1: the recognized field must be 0 (the digest is the
// layer's business). Then length <= 498 and a known relay command.
ParsedRelay ParseRelayPayload(RelayLayout layout, std::span<const uint8_t, kCellBodyBytes> payload);

// Writes a payload: header fields, data, zeros after data (tor1: recognized and digest zero,
// the client's layer fills the digest). False if data is longer than 498 bytes.
bool BuildRelayPayload(RelayLayout layout, const RelayHeader& header, std::span<const uint8_t> data,
                       std::span<uint8_t, kCellBodyBytes> payload);

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_RELAY_HEADER_H_
