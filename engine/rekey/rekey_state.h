// RELAY_REKEY as named states and one function per transition (protocol §6, Tor proposal 262).
// The functions decide; they return the action the circuit must take with its keys, so the
// logic is testable without a cipher and the circuit code only applies keys.
//
//   client hop                                    relay hop
//   ----------                                    ---------
//   kIdle --StartRekey--> kPending                kReady --OnRekeyCell(valid REKEY(1))--> kReady
//     action kSendRekeyThenSwitchForward            action kSendAckThenSwitchBoth
//   kPending --OnRekeyCell(ACK)--> kIdle
//     action kSwitchBackward
//   any protocol error --> kClosed                any protocol error --> kClosed
//     action kDestroyProtocol (sticky)              action kDestroyProtocol (sticky)
//   tor1 hop: kUnsupported; any REKEY -> kClosed  tor1 hop: kUnsupported; any REKEY -> kClosed
//
// Keys (the circuit's job, with engine/kdf.h): new shake_output (112 bytes:
// aez_key 48 | chain_key 32 | chain_fwd 16 | chain_bwd 16) =
// DeriveRekeyKeys(aez_key before the switch, body.rekey_data()). A switch replaces aez_key,
// chain_key and the chain of that direction; cell_number and prev carry on.
//
// Counting (protocol §7) rides along: each hop object owns its schedule (client) or enforcer
// (relay). Every cell the circuit processes at a hop is counted through the hop object, the
// REKEY/ACK cells included, in the order the circuit processes them:
//   client: StartRekey restarts the count, then the REKEY(1) cell is counted (under the new
//           count); backward cells while kPending run on the old keys and count toward
//           kAckOverdue only.
//   relay:  the REKEY(1) is counted (old count) when deciphered, before it is recognized;
//           OnRekeyCell restarts the count, then the ACK is counted (new count).
// So the relay's count is never below the client's, and a client that follows its schedule
// never trips the relay's kRekeyTooSoon; in-flight backward cells are what `slack` covers.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_STATE_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_STATE_H_

#include <cstdint>
#include <span>

#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_enforcer.h"
#include "engine/rekey/rekey_error.h"
#include "engine/rekey/rekey_message.h"
#include "engine/rekey/rekey_schedule.h"

namespace relaycell {

// Whether the hop's cell suite can rekey at all: "aez" can, "tor1" cannot (prop 262 §2.1).
enum class RekeyCapability : uint8_t { kRekeyable, kNotRekeyable };

enum class RekeyAction : uint8_t {
  kNone,
  // Client: originate the REKEY(1) in `body` to this hop under the OLD keys; derive the new
  // keys from (old aez_key, rekey_data); switch the FORWARD direction now; keep the new
  // backward keys aside (KeyArena) and the old backward keys in use until the ACK.
  kSendRekeyThenSwitchForward,
  // Client: the ACK arrived (deciphered with the old backward keys). Switch the BACKWARD
  // direction to the kept keys and wipe the old ones.
  kSwitchBackward,
  // Relay: derive the new keys from (old aez_key, rekey_data), originate REKEY(0) backward
  // under the OLD keys, then switch BOTH directions and wipe the old keys.
  kSendAckThenSwitchBoth,
  // Destroy the circuit with DESTROY(PROTOCOL), counting `error`.
  kDestroyProtocol,
};

const char* RekeyActionName(RekeyAction action);

// What one transition decided. `error` is kNone unless the action is kDestroyProtocol, or for
// the local refusals (kAlreadyPending, kNotRekeyable), where the action is kNone and nothing changed.
struct RekeyStep {
  RekeyAction action = RekeyAction::kNone;
  RekeyError error = RekeyError::kNone;
};

enum class ClientRekeyState : uint8_t {
  kUnsupported,  // tor1 hop: never rekeys; a REKEY from it is a violation
  kIdle,         // one set of keys, both directions
  kPending,      // REKEY(1) sent: forward on new keys, backward on old until the ACK
  kClosed,       // a protocol error happened; the circuit is being destroyed
};
const char* ClientRekeyStateName(ClientRekeyState state);

class ClientHopRekey {
 public:
  // `config` must have passed Validate().
  ClientHopRekey(const RekeyConfig& config, RekeyCapability capability);
  // Reproducible randomized thresholds (see RekeySchedule).
  ClientHopRekey(const RekeyConfig& config, RekeyCapability capability,
                 std::span<const uint8_t, kRekeyScheduleSeedBytes> seed);

  // Hot path: a forward cell through this hop (originated at or past it).
  [[nodiscard]] RekeyError CountForwardCell() {
    if (!schedule_.CountCell()) [[unlikely]]
      return Close(RekeyError::kRekeyOverdue).error;
    return RekeyError::kNone;
  }
  // Hot path: a backward cell that passed this hop's layer.
  [[nodiscard]] RekeyError CountBackwardCell() {
    if (state_ == ClientRekeyState::kPending) [[unlikely]]
      return CountOldBackwardCell();
    return CountForwardCell();  // same count: cells under the current keys, both directions
  }

  // A rekey should be started now: kIdle and the count has reached the threshold (or a
  // requested rekey may go). Never true with a rekey pending.
  bool Due() const { return state_ == ClientRekeyState::kIdle && schedule_.Due(); }
  // The host wants a rekey as soon as the relay's min_spacing allows.
  void RequestRekey() { schedule_.RequestRekey(); }

  // kIdle -> kPending. Fills `body` with a fresh REKEY(1) (32 CSPRNG bytes) and restarts the
  // count for the new keys. In kPending: {kNone, kAlreadyPending}, nothing changes (never two
  // rekeys pending to one hop). kUnsupported: {kNone, kNotRekeyable}. kClosed: the sticky
  // {kDestroyProtocol, close_reason()}.
  RekeyStep StartRekey(RekeyBody& body);

  // A recognized REKEY cell from this hop: its stream_id and its data[0:length].
  // kPending + valid ACK -> kIdle, kSwitchBackward. Anything else: kClosed, kDestroyProtocol.
  RekeyStep OnRekeyCell(uint16_t stream_id, std::span<const uint8_t> data);

  ClientRekeyState state() const { return state_; }
  RekeyError close_reason() const { return close_reason_; }
  const RekeySchedule& schedule() const { return schedule_; }
  uint64_t old_backward_cells() const { return old_backward_cells_; }
  void PresetCountForTesting(uint64_t cells) { schedule_.PresetCountForTesting(cells); }

 private:
  RekeyError CountOldBackwardCell();
  RekeyStep Close(RekeyError error);

  RekeySchedule schedule_;
  uint64_t old_backward_cells_ = 0;
  uint64_t old_backward_limit_;
  ClientRekeyState state_;
  RekeyError close_reason_ = RekeyError::kNone;
};

enum class RelayRekeyState : uint8_t {
  kUnsupported,  // tor1 hop: any REKEY is a violation
  kReady,        // accepts a REKEY(1) within the limits
  kClosed,       // a protocol error happened; the circuit is being destroyed
};
const char* RelayRekeyStateName(RelayRekeyState state);

class RelayHopRekey {
 public:
  // `config` must have passed Validate().
  RelayHopRekey(const RekeyConfig& config, RekeyCapability capability,
                RekeyEnforcer::Mode mode = RekeyEnforcer::Mode::kEnforce);

  // Hot path: every cell through this hop, both directions, before recognition.
  [[nodiscard]] RekeyError CountCell() {
    const RekeyError error = enforcer_.CountCell();
    if (error != RekeyError::kNone) [[unlikely]]
      return Close(error).error;
    return RekeyError::kNone;
  }

  // A recognized REKEY cell addressed to this hop: its stream_id and data[0:length]. On a valid
  // REKEY(1) within the limits: kSendAckThenSwitchBoth, `body` holds the rekey_data and the
  // count restarts. Anything else: kClosed, kDestroyProtocol, and `body` is an empty ACK.
  RekeyStep OnRekeyCell(uint16_t stream_id, std::span<const uint8_t> data, RekeyBody& body);

  RelayRekeyState state() const { return state_; }
  RekeyError close_reason() const { return close_reason_; }
  const RekeyEnforcer& enforcer() const { return enforcer_; }
  void PresetCountForTesting(uint64_t cells) { enforcer_.PresetCountForTesting(cells); }

 private:
  RekeyStep Close(RekeyError error);

  RekeyEnforcer enforcer_;
  RelayRekeyState state_;
  RekeyError close_reason_ = RekeyError::kNone;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_STATE_H_
