#include "circuit/protocol_error.h"

namespace relaycell {

const char* ProtocolErrorName(ProtocolError error) {
  switch (error) {
    case ProtocolError::kNone: return "none";
    case ProtocolError::kUnknownCellCommand: return "unknown cell command";
    case ProtocolError::kZeroCircId: return "circ_id 0";
    case ProtocolError::kWrongCircId: return "circ_id of another circuit";
    case ProtocolError::kBadDestroyPayload: return "malformed DESTROY payload";
    case ProtocolError::kUnexpectedCellCommand: return "unexpected cell command";
    case ProtocolError::kEarlyBackward: return "RELAY_EARLY towards the client";
    case ProtocolError::kUnrecognized: return "cell not recognized by any layer";
    case ProtocolError::kRelayLengthTooLong: return "relay length > 498";
    case ProtocolError::kUnknownRelayCommand: return "unknown relay command";
    case ProtocolError::kRekeyUnsupported: return "RELAY_REKEY on a suite without rekeying";
    case ProtocolError::kRekeyTruncatedBody: return "REKEY body shorter than its method";
    case ProtocolError::kRekeyUnknownMethod: return "REKEY with an unknown method";
    case ProtocolError::kRekeyBadDataLength: return "REKEY method 1 without exactly 32 bytes";
    case ProtocolError::kRekeyAckWithData: return "REKEY ACK carrying data";
    case ProtocolError::kRekeyAckAtRelay: return "REKEY ACK received by a relay";
    case ProtocolError::kRekeyClientMethodAtClient: return "REKEY method 1 received by a client";
    case ProtocolError::kRekeyAckWithoutPending: return "REKEY ACK with no rekey pending";
    case ProtocolError::kRekeyNonZeroStreamId: return "REKEY with stream_id != 0";
    case ProtocolError::kRekeyTooSoon: return "REKEY sooner than min_spacing cells";
    case ProtocolError::kRekeyOverdue: return "rekey overdue (threshold + slack passed)";
    case ProtocolError::kRekeyAckOverdue: return "REKEY ACK overdue (slack old-key cells)";
    case ProtocolError::kTooManyRelayEarly: return "more than 8 RELAY_EARLY cells";
    case ProtocolError::kCount: break;
  }
  return "unknown";
}

const char* ProtocolErrorCounterName(ProtocolError error) {
  switch (error) {
    case ProtocolError::kNone: return "none";
    case ProtocolError::kUnknownCellCommand: return "unknown_cell_command";
    case ProtocolError::kZeroCircId: return "zero_circ_id";
    case ProtocolError::kWrongCircId: return "wrong_circ_id";
    case ProtocolError::kBadDestroyPayload: return "bad_destroy_payload";
    case ProtocolError::kUnexpectedCellCommand: return "unexpected_cell_command";
    case ProtocolError::kEarlyBackward: return "early_backward";
    case ProtocolError::kUnrecognized: return "unrecognized";
    case ProtocolError::kRelayLengthTooLong: return "relay_length_too_long";
    case ProtocolError::kUnknownRelayCommand: return "unknown_relay_command";
    case ProtocolError::kRekeyUnsupported: return RekeyErrorName(RekeyError::kRekeyOnTor1);
    case ProtocolError::kRekeyTruncatedBody: return RekeyErrorName(RekeyError::kTruncatedBody);
    case ProtocolError::kRekeyUnknownMethod: return RekeyErrorName(RekeyError::kUnknownMethod);
    case ProtocolError::kRekeyBadDataLength: return RekeyErrorName(RekeyError::kBadRekeyDataLength);
    case ProtocolError::kRekeyAckWithData: return RekeyErrorName(RekeyError::kAckWithData);
    case ProtocolError::kRekeyAckAtRelay: return RekeyErrorName(RekeyError::kAckAtRelay);
    case ProtocolError::kRekeyClientMethodAtClient:
      return RekeyErrorName(RekeyError::kClientMethodAtClient);
    case ProtocolError::kRekeyAckWithoutPending:
      return RekeyErrorName(RekeyError::kAckWithoutPending);
    case ProtocolError::kRekeyNonZeroStreamId: return RekeyErrorName(RekeyError::kNonZeroStreamId);
    case ProtocolError::kRekeyTooSoon: return RekeyErrorName(RekeyError::kRekeyTooSoon);
    case ProtocolError::kRekeyOverdue: return RekeyErrorName(RekeyError::kRekeyOverdue);
    case ProtocolError::kRekeyAckOverdue: return RekeyErrorName(RekeyError::kAckOverdue);
    case ProtocolError::kTooManyRelayEarly: return "too_many_relay_early";
    case ProtocolError::kCount: break;
  }
  return "unknown";
}

ProtocolError ProtocolErrorFromRekey(RekeyError error) {
  switch (error) {
    case RekeyError::kNone:
    case RekeyError::kAlreadyPending:
    case RekeyError::kNotRekeyable: return ProtocolError::kNone;
    case RekeyError::kTruncatedBody: return ProtocolError::kRekeyTruncatedBody;
    case RekeyError::kUnknownMethod: return ProtocolError::kRekeyUnknownMethod;
    case RekeyError::kBadRekeyDataLength: return ProtocolError::kRekeyBadDataLength;
    case RekeyError::kAckWithData: return ProtocolError::kRekeyAckWithData;
    case RekeyError::kAckAtRelay: return ProtocolError::kRekeyAckAtRelay;
    case RekeyError::kClientMethodAtClient: return ProtocolError::kRekeyClientMethodAtClient;
    case RekeyError::kAckWithoutPending: return ProtocolError::kRekeyAckWithoutPending;
    case RekeyError::kNonZeroStreamId: return ProtocolError::kRekeyNonZeroStreamId;
    case RekeyError::kRekeyOnTor1: return ProtocolError::kRekeyUnsupported;
    case RekeyError::kRekeyTooSoon: return ProtocolError::kRekeyTooSoon;
    case RekeyError::kRekeyOverdue: return ProtocolError::kRekeyOverdue;
    case RekeyError::kAckOverdue: return ProtocolError::kRekeyAckOverdue;
  }
  return ProtocolError::kNone;
}

}  // namespace relaycell
