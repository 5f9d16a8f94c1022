#include "engine/rekey/rekey_error.h"

namespace relaycell {

const char* RekeyErrorName(RekeyError error) {
  switch (error) {
    case RekeyError::kNone: return "rekey_ok";
    case RekeyError::kTruncatedBody: return "rekey_truncated_body";
    case RekeyError::kUnknownMethod: return "rekey_unknown_method";
    case RekeyError::kBadRekeyDataLength: return "rekey_bad_data_length";
    case RekeyError::kAckWithData: return "rekey_ack_with_data";
    case RekeyError::kAckAtRelay: return "rekey_ack_at_relay";
    case RekeyError::kClientMethodAtClient: return "rekey_client_method_at_client";
    case RekeyError::kAckWithoutPending: return "rekey_ack_without_pending";
    case RekeyError::kNonZeroStreamId: return "rekey_nonzero_stream_id";
    case RekeyError::kRekeyOnTor1: return "rekey_on_tor1";
    case RekeyError::kRekeyTooSoon: return "rekey_too_soon";
    case RekeyError::kRekeyOverdue: return "rekey_overdue";
    case RekeyError::kAckOverdue: return "rekey_ack_overdue";
    case RekeyError::kAlreadyPending: return "rekey_already_pending";
    case RekeyError::kNotRekeyable: return "rekey_not_rekeyable";
  }
  return "rekey_invalid_error";
}

}  // namespace relaycell
