// Why a RELAY_REKEY exchange failed (protocol §6–§7). One value per case, each with a stable
// name for counters and logs. Every value but kNone and the two local refusals is a protocol violation:
// the circuit is destroyed with DESTROY(PROTOCOL) and the reason counted.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_ERROR_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_ERROR_H_

#include <cstddef>
#include <cstdint>

namespace relaycell {

enum class RekeyError : uint8_t {
  kNone = 0,
  kTruncatedBody,         // body shorter than its 2-byte method field
  kUnknownMethod,         // method other than 0 (ACK) or 1 (SHAKE256_CLIENT)
  kBadRekeyDataLength,    // method 1 whose rekey_data is not exactly 32 bytes
  kAckWithData,           // method 0 carrying rekey_data
  kAckAtRelay,            // method 0 arriving at a relay (only relays send ACKs)
  kClientMethodAtClient,  // method 1 arriving at a client (only clients start a rekey)
  kAckWithoutPending,     // an ACK when this hop has no rekey pending
  kNonZeroStreamId,       // REKEY is a circuit-level message: stream_id must be 0
  kRekeyOnTor1,           // the tor1 suite has no rekey (prop 262 §2.1)
  kRekeyTooSoon,          // fewer than min_spacing cells since the previous switch
  kRekeyOverdue,          // the count passed threshold(n) + slack without the n-th rekey
  kAckOverdue,            // client: more than `slack` backward cells on old keys awaiting ACK
  kAlreadyPending,        // local refusal: a second rekey to a hop with one pending (no DESTROY)
  kNotRekeyable,          // local refusal: StartRekey on a tor1 hop (no DESTROY)
};

inline constexpr size_t kRekeyErrorCount = static_cast<size_t>(RekeyError::kNotRekeyable) + 1;

// A stable snake_case name ("rekey_too_soon"), never changed once shipped: counters key on it.
const char* RekeyErrorName(RekeyError error);

// True for the errors that close the circuit with DESTROY(PROTOCOL).
constexpr bool IsRekeyProtocolViolation(RekeyError error) {
  return error != RekeyError::kNone && error != RekeyError::kAlreadyPending &&
         error != RekeyError::kNotRekeyable;
}

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_ERROR_H_
