#include "engine/rekey/rekey_state.h"

namespace relaycell {

const char* RekeyActionName(RekeyAction action) {
  switch (action) {
    case RekeyAction::kNone: return "none";
    case RekeyAction::kSendRekeyThenSwitchForward: return "send_rekey_then_switch_forward";
    case RekeyAction::kSwitchBackward: return "switch_backward";
    case RekeyAction::kSendAckThenSwitchBoth: return "send_ack_then_switch_both";
    case RekeyAction::kDestroyProtocol: return "destroy_protocol";
  }
  return "invalid_action";
}

const char* ClientRekeyStateName(ClientRekeyState state) {
  switch (state) {
    case ClientRekeyState::kUnsupported: return "unsupported";
    case ClientRekeyState::kIdle: return "idle";
    case ClientRekeyState::kPending: return "pending";
    case ClientRekeyState::kClosed: return "closed";
  }
  return "invalid_state";
}

const char* RelayRekeyStateName(RelayRekeyState state) {
  switch (state) {
    case RelayRekeyState::kUnsupported: return "unsupported";
    case RelayRekeyState::kReady: return "ready";
    case RelayRekeyState::kClosed: return "closed";
  }
  return "invalid_state";
}

// ---- client hop ----------------------------------------------------------------------------

ClientHopRekey::ClientHopRekey(const RekeyConfig& config, RekeyCapability capability)
    : schedule_(config),
      // While the ACK is awaited, old-key backward cells are only those the relay sent before
      // the REKEY reached it: at most a circuit window, which `slack` is sized to cover.
      old_backward_limit_(config.slack),
      state_(capability == RekeyCapability::kRekeyable ? ClientRekeyState::kIdle
                                                       : ClientRekeyState::kUnsupported) {
  if (state_ == ClientRekeyState::kUnsupported) schedule_.Disable();
}

ClientHopRekey::ClientHopRekey(const RekeyConfig& config, RekeyCapability capability,
                               std::span<const uint8_t, kRekeyScheduleSeedBytes> seed)
    : schedule_(config, seed),
      old_backward_limit_(config.slack),
      state_(capability == RekeyCapability::kRekeyable ? ClientRekeyState::kIdle
                                                       : ClientRekeyState::kUnsupported) {
  if (state_ == ClientRekeyState::kUnsupported) schedule_.Disable();
}

RekeyError ClientHopRekey::CountOldBackwardCell() {
  if (++old_backward_cells_ > old_backward_limit_) return Close(RekeyError::kAckOverdue).error;
  return RekeyError::kNone;
}

RekeyStep ClientHopRekey::Close(RekeyError error) {
  if (state_ != ClientRekeyState::kClosed) {
    state_ = ClientRekeyState::kClosed;
    close_reason_ = error;
  }
  return {RekeyAction::kDestroyProtocol, close_reason_};
}

RekeyStep ClientHopRekey::StartRekey(RekeyBody& body) {
  switch (state_) {
    case ClientRekeyState::kIdle: break;
    case ClientRekeyState::kPending: return {RekeyAction::kNone, RekeyError::kAlreadyPending};
    case ClientRekeyState::kUnsupported: return {RekeyAction::kNone, RekeyError::kNotRekeyable};
    case ClientRekeyState::kClosed: return {RekeyAction::kDestroyProtocol, close_reason_};
  }
  body.SetFreshShake256Client();
  schedule_.OnRekeySent();
  old_backward_cells_ = 0;
  state_ = ClientRekeyState::kPending;
  return {RekeyAction::kSendRekeyThenSwitchForward, RekeyError::kNone};
}

RekeyStep ClientHopRekey::OnRekeyCell(uint16_t stream_id, std::span<const uint8_t> data) {
  if (state_ == ClientRekeyState::kClosed) return {RekeyAction::kDestroyProtocol, close_reason_};
  if (state_ == ClientRekeyState::kUnsupported) return Close(RekeyError::kRekeyOnTor1);
  RekeyBody body;
  if (const RekeyError error = ParseRekeyBody(stream_id, data, body); error != RekeyError::kNone) {
    return Close(error);
  }
  if (body.method() != RekeyMethod::kAck) return Close(RekeyError::kClientMethodAtClient);
  if (state_ != ClientRekeyState::kPending) return Close(RekeyError::kAckWithoutPending);
  state_ = ClientRekeyState::kIdle;
  old_backward_cells_ = 0;
  return {RekeyAction::kSwitchBackward, RekeyError::kNone};
}

// ---- relay hop -----------------------------------------------------------------------------

RelayHopRekey::RelayHopRekey(const RekeyConfig& config, RekeyCapability capability,
                             RekeyEnforcer::Mode mode)
    // A hop that cannot rekey cannot be held to a rekey deadline.
    : enforcer_(config,
                capability == RekeyCapability::kRekeyable ? mode : RekeyEnforcer::Mode::kDisabled),
      state_(capability == RekeyCapability::kRekeyable ? RelayRekeyState::kReady
                                                       : RelayRekeyState::kUnsupported) {}

RekeyStep RelayHopRekey::Close(RekeyError error) {
  if (state_ != RelayRekeyState::kClosed) {
    state_ = RelayRekeyState::kClosed;
    close_reason_ = error;
  }
  return {RekeyAction::kDestroyProtocol, close_reason_};
}

RekeyStep RelayHopRekey::OnRekeyCell(uint16_t stream_id, std::span<const uint8_t> data,
                                     RekeyBody& body) {
  body.SetAck();
  if (state_ == RelayRekeyState::kClosed) return {RekeyAction::kDestroyProtocol, close_reason_};
  if (state_ == RelayRekeyState::kUnsupported) return Close(RekeyError::kRekeyOnTor1);
  if (const RekeyError error = ParseRekeyBody(stream_id, data, body); error != RekeyError::kNone) {
    return Close(error);
  }
  if (body.method() != RekeyMethod::kShake256Client) return Close(RekeyError::kAckAtRelay);
  if (const RekeyError error = enforcer_.CheckRekeyAllowed(); error != RekeyError::kNone) {
    body.SetAck();  // a refused REKEY's key material goes no further
    return Close(error);
  }
  enforcer_.OnSwitch();
  return {RekeyAction::kSendAckThenSwitchBoth, RekeyError::kNone};
}

}  // namespace relaycell
