// Why a cell or circuit was refused: one typed reason per kind of malformed input, and
// per-reason counters (every protocol error is counted, then the circuit is destroyed).
#ifndef RELAYCELL_CIRCUIT_PROTOCOL_ERROR_H_
#define RELAYCELL_CIRCUIT_PROTOCOL_ERROR_H_

#include <array>
#include <limits>
#include <cstddef>
#include <cstdint>

#include "engine/rekey/rekey_error.h"

namespace relaycell {

enum class ProtocolError : uint8_t {
  kNone = 0,
  kUnknownCellCommand,     // a cell command this engine does not know
  kZeroCircId,             // circ_id 0 on a circuit cell
  kWrongCircId,            // a cell handed to a circuit it does not name
  kBadDestroyPayload,      // DESTROY with an unknown reason or non-zero padding
  kUnexpectedCellCommand,  // a known command that has no place here (CREATE2 on a live circuit)
  kEarlyBackward,          // RELAY_EARLY travelling towards the client
  kUnrecognized,           // no layer recognized a cell that had to end here
  kRelayLengthTooLong,     // recognized, but length > 498
  kUnknownRelayCommand,    // recognized, but the relay command is not one we know
  kRekeyUnsupported,       // RELAY_REKEY on a suite without rekeying (tor1); "rekey_on_tor1"
  // RELAY_REKEY violations (protocol §6–§7), one per engine/rekey_error.h case:
  kRekeyTruncatedBody,         // body shorter than its 2-byte method
  kRekeyUnknownMethod,         // method not 0 or 1
  kRekeyBadDataLength,         // method 1 whose rekey_data is not 32 bytes
  kRekeyAckWithData,           // method 0 carrying rekey_data
  kRekeyAckAtRelay,            // method 0 received by a relay
  kRekeyClientMethodAtClient,  // method 1 received by a client
  kRekeyAckWithoutPending,     // an ACK with no rekey pending
  kRekeyNonZeroStreamId,       // REKEY with stream_id != 0
  kRekeyTooSoon,               // fewer than min_spacing cells since the last switch, or a REKEY
                               // before the host took our ACK for the previous one
  kRekeyOverdue,               // the count passed threshold(n) + slack
  kRekeyAckOverdue,            // client: more than `slack` old-key backward cells awaiting the ACK
  kTooManyRelayEarly,          // relay: a 9th RELAY_EARLY from the client side (network.md §4)
  kCount,
};
inline constexpr size_t kProtocolErrorKinds = size_t(ProtocolError::kCount);

// A sentence for logs ("relay length > 498").
const char* ProtocolErrorName(ProtocolError error);
// A stable snake_case counter name ("relay_length_too_long", "rekey_too_soon"); never changed
// once shipped. The rekey ones equal RekeyErrorName() of the matching RekeyError.
const char* ProtocolErrorCounterName(ProtocolError error);
// The circuit-level reason for a rekey protocol violation; kNone for kNone and the local
// refusals (kAlreadyPending, kNotRekeyable), which close nothing.
ProtocolError ProtocolErrorFromRekey(RekeyError error);

// Counts per reason, summed by the host as it likes. A circuit closes at its first protocol
// error, so its own counts stay tiny: CircuitErrorCounters keeps them in 32 bits (saturating),
// which matters at 100,000 circuits; hosts and engines sum into 64-bit ProtocolErrorCounters.
template <class Counter>
struct BasicProtocolErrorCounters {
  std::array<Counter, kProtocolErrorKinds> by_reason{};

  void Count(ProtocolError error) {
    Counter& c = by_reason[size_t(error)];
    if (c != std::numeric_limits<Counter>::max()) ++c;
  }
  uint64_t operator[](ProtocolError error) const { return by_reason[size_t(error)]; }
  uint64_t Total() const {
    uint64_t total = 0;
    for (size_t i = 1; i < by_reason.size(); ++i) total += by_reason[i];
    return total;
  }
  template <class Other>
  BasicProtocolErrorCounters& operator+=(const BasicProtocolErrorCounters<Other>& other) {
    for (size_t i = 0; i < by_reason.size(); ++i) by_reason[i] += Counter(other.by_reason[i]);
    return *this;
  }
};

using ProtocolErrorCounters = BasicProtocolErrorCounters<uint64_t>;
using CircuitErrorCounters = BasicProtocolErrorCounters<uint32_t>;

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PROTOCOL_ERROR_H_
