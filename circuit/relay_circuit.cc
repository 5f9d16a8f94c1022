#include "circuit/relay_circuit.h"

#include <sodium.h>

#include <cstring>

#include "engine/common/kdf.h"
#include "engine/rekey/rekey_message.h"

namespace relaycell {

SuiteError RelayCircuit::Create(const CellSuite& suite, std::span<const uint8_t> seed,
                                uint32_t client_side_id, uint32_t next_side_id, RelayCircuit& out) {
  return Create(suite, seed, client_side_id, next_side_id, RekeyConfig{},
                RekeyEnforcer::Mode::kEnforce, out);
}

SuiteError RelayCircuit::Create(const CellSuite& suite, std::span<const uint8_t> seed,
                                uint32_t client_side_id, uint32_t next_side_id,
                                const RekeyConfig& rekey_config, RekeyEnforcer::Mode mode,
                                RelayCircuit& out) {
  out = RelayCircuit();
  if (client_side_id == 0) return SuiteError::kBadCircuitId;
  if (rekey_config.Validate() != RekeyConfigError::kOk) return SuiteError::kBadRekeyConfig;
  RelayCircuit circuit;
  const SuiteError error = suite.MakeHop(seed, circuit.layers_);
  if (error != SuiteError::kOk) return error;
  // The first threshold counts from here, when the hop's keys are installed.
  circuit.rekey_ = RelayHopRekey(
      rekey_config,
      suite.supports_rekey() ? RekeyCapability::kRekeyable : RekeyCapability::kNotRekeyable, mode);
  circuit.suite_ = &suite;
  circuit.suite_id_ = suite.id();
  circuit.client_side_id_ = client_side_id;
  circuit.next_side_id_ = next_side_id;
  circuit.open_ = true;
  out = std::move(circuit);
  return SuiteError::kOk;
}

// The peel hot path: check the header, remove our layer, deliver or pass on.
CellResult RelayCircuit::HandleForward(CellBytes cell) {
  CellScreen screen;
  ScreenForward(cell, screen);
  if (!screen.needs_layer) return Screened(screen, cell);
  const bool recognized =
      layers_.forward->Apply(LayerOp::kRelayDecrypt, CellPayload(cell), screen.early);
  return CompleteForward(cell, screen.early, recognized);
}

void RelayCircuit::ScreenForward(ConstCellBytes cell, CellScreen& screen) {
  Screen(cell, true, screen);
}
void RelayCircuit::ScreenBackward(ConstCellBytes cell, CellScreen& screen) {
  Screen(cell, false, screen);
}

// The checks before the layer, both directions: the header, the circuit's id on that side, the
// command (RELAY_EARLY only travels forward, at most kMaxRelayEarlyCells), then the rekey count.
void RelayCircuit::Screen(ConstCellBytes cell, bool from_client, CellScreen& screen) {
  screen = CellScreen{};
  if (!open_) {
    screen.result.outcome = CellOutcome::kClosed;
    return;
  }
  const ParsedCell parsed = ParseCell(cell);
  if (!parsed.ok()) {
    screen = Rejected(parsed.error);
    return;
  }
  const CellCommand command = parsed.header.command;
  if (command == CellCommand::kPadding) {
    screen.result.outcome = CellOutcome::kIgnored;
    return;
  }
  const uint32_t side_id = from_client ? client_side_id_ : next_side_id_;  // 0: no such side
  if (side_id == 0 || parsed.header.circ_id != side_id) {
    screen = Rejected(ProtocolError::kWrongCircId);
    return;
  }
  if (command == CellCommand::kDestroy) {
    screen.result = from_client ? Destroyed(parsed.header.destroy_reason)
                                : NextDestroyed(parsed.header.destroy_reason);
    return;
  }
  const bool early = command == CellCommand::kRelayEarly;
  if (early && !from_client) {
    screen = Rejected(ProtocolError::kEarlyBackward);
    return;
  }
  if (command != CellCommand::kRelay && !early) {
    screen = Rejected(ProtocolError::kUnexpectedCellCommand);
    return;
  }
  // Every RELAY_EARLY from the client counts, before we know whether it is ours (§4).
  relay_early_cells_ += early;
  if (relay_early_cells_ > kMaxRelayEarlyCells) [[unlikely]] {
    screen = Rejected(ProtocolError::kTooManyRelayEarly);
    return;
  }
  // Every cell under this key counts, before we know what it is (protocol §7).
  if (const RekeyError e = rekey_.CountCell(); e != RekeyError::kNone) [[unlikely]] {
    screen = Rejected(ProtocolErrorFromRekey(e));
    return;
  }
  screen.needs_layer = true;
  screen.early = early;
}

CellResult RelayCircuit::CompleteForward(CellBytes cell, bool early, bool recognized) {
  const CellBody body = CellPayload(cell);
  CellResult result;
  if (!recognized) {
    if (next_side_id_ == 0) return Fail(ProtocolError::kUnrecognized, cell);
    WriteCellHeader(next_side_id_, early ? CellCommand::kRelayEarly : CellCommand::kRelay, cell);
    result.outcome = CellOutcome::kForward;
    return result;
  }
  const ParsedRelay relay = CheckRecognizedPayload(*suite_, body);
  if (!relay.ok()) return Fail(relay.error, cell);
  if (relay.header.command == RelayCommand::kRekey) [[unlikely]]
    return OnRekey(relay, cell);
  result.outcome = CellOutcome::kDelivered;
  result.early = early;
  result.header = relay.header;
  result.data = relay.data;
  return result;
}

// A cell from the next hop: add our layer and send it towards the client.
CellResult RelayCircuit::HandleBackward(CellBytes cell) {
  CellScreen screen;
  ScreenBackward(cell, screen);
  if (!screen.needs_layer) return Screened(screen, cell);
  layers_.backward->Apply(LayerOp::kRelayEncrypt, CellPayload(cell), false);
  return CompleteBackward(cell);
}

CellResult RelayCircuit::CompleteBackward(CellBytes cell) {
  WriteCellHeader(client_side_id_, CellCommand::kRelay, cell);
  CellResult result;
  result.outcome = CellOutcome::kForward;
  return result;
}

OriginateError RelayCircuit::Originate(const RelayHeader& header, std::span<const uint8_t> data,
                                       CellBytes cell) {
  if (header.command == RelayCommand::kRekey) return OriginateError::kBadPayload;
  if (!open_) return OriginateError::kClosed;
  if (!BuildRelayPayload(suite_->relay_format(), header, data, CellPayload(cell))) {
    return OriginateError::kBadPayload;
  }
  uint8_t payload[kCellBodyBytes];
  std::memcpy(payload, CellPayload(cell).data(), kCellBodyBytes);
  const OriginateError error = OriginatePayload(payload, cell);
  sodium_memzero(payload, sizeof payload);
  return error;
}

OriginateError RelayCircuit::OriginatePayload(std::span<const uint8_t, kCellBodyBytes> payload,
                                              CellBytes cell) {
  if (!open_) return OriginateError::kClosed;
  if (const RekeyError e = rekey_.CountCell(); e != RekeyError::kNone) [[unlikely]] {
    FailOnRekey(e);
    return OriginateError::kClosed;
  }
  WriteCellHeader(client_side_id_, CellCommand::kRelay, cell);
  const CellBody body = CellPayload(cell);
  if (body.data() != payload.data()) std::memmove(body.data(), payload.data(), kCellBodyBytes);
  layers_.backward->Apply(LayerOp::kRelayOriginate, body, false);
  return OriginateError::kOk;
}

// Protocol §6 at the relay: on a valid REKEY(1), derive from the hop's current forward key, send
// the ACK under the OLD keys, then switch both directions (the old keys are overwritten).
CellResult RelayCircuit::OnRekey(const ParsedRelay& relay, CellBytes cell) {
  // The client cannot have seen our last ACK yet: it would have two rekeys outstanding.
  if (control_pending_) return Fail(ProtocolError::kRekeyTooSoon, cell);
  RekeyBody body;
  const RekeyStep step = rekey_.OnRekeyCell(relay.header.stream_id, relay.data, body);
  if (step.action != RekeyAction::kSendAckThenSwitchBoth) {
    return Fail(ProtocolErrorFromRekey(step.error), cell);
  }
  alignas(16) uint8_t material[kKdfOutputBytes];
  const KdfError derived = layers_.forward->DeriveRekeyMaterial(body.rekey_data(), material);
  sodium_memzero(CellPayload(cell).data(), kCellBodyBytes);  // the rekey_data goes no further
  if (derived != KdfError::kOk) {
    Destroy();  // never expected; no key may be reused, so the circuit closes
    destroy_reason_ = DestroyReason::kInternal;
    CellResult result;
    result.outcome = CellOutcome::kDestroyed;
    result.destroy_reason = DestroyReason::kInternal;
    return result;
  }
  if (!control_cell_) control_cell_ = std::make_unique<std::array<uint8_t, kCellBytes>>();
  const CellBytes ack(*control_cell_);
  RekeyBody reply;  // an ACK
  uint8_t data[kRekeyBodyMaxBytes];
  const size_t length = BuildRekeyBody(reply, data);
  BuildRelayPayload(suite_->relay_format(),
                    {RelayCommand::kRekey, kRekeyStreamId, uint16_t(length)},
                    std::span<const uint8_t>(data, length), CellPayload(ack));
  // The ACK is the first cell on the new count (OnRekeyCell restarted it); it cannot fail.
  (void)rekey_.CountCell();
  WriteCellHeader(client_side_id_, CellCommand::kRelay, ack);
  layers_.backward->Apply(LayerOp::kRelayOriginate, CellPayload(ack), false);
  control_pending_ = true;

  layers_.forward->InstallRekeyMaterial(material);
  layers_.backward->InstallRekeyMaterial(material);
  sodium_memzero(material, sizeof material);
  CellResult result;
  result.outcome = CellOutcome::kIgnored;
  result.header = relay.header;
  return result;
}

bool RelayCircuit::PollControlCell(CellBytes cell) {
  if (!control_pending_) return false;
  std::memcpy(cell.data(), control_cell_->data(), kCellBytes);
  control_pending_ = false;
  return true;
}

void RelayCircuit::FailOnRekey(RekeyError error) {
  RecordError(ProtocolErrorFromRekey(error));
  Destroy();
  destroy_reason_ = DestroyReason::kProtocol;
}

void RelayCircuit::RecordError(ProtocolError error) {
  if (error_ == ProtocolError::kNone) error_ = error;
}

CellScreen RelayCircuit::Rejected(ProtocolError error) {
  RecordError(error);
  Destroy();
  destroy_reason_ = DestroyReason::kProtocol;
  CellScreen screen;
  screen.result.outcome = CellOutcome::kDestroyed;
  screen.result.error = error;
  screen.result.destroy_reason = DestroyReason::kProtocol;
  return screen;
}

// One cell's handling ends at the screen: a cell that closes the circuit comes back wiped, as
// it would after the layer.
CellResult RelayCircuit::Screened(const CellScreen& screen, CellBytes cell) {
  if (screen.result.error != ProtocolError::kNone) {
    sodium_memzero(CellPayload(cell).data(), kCellBodyBytes);
  }
  return screen.result;
}

CellResult RelayCircuit::Fail(ProtocolError error, CellBytes cell) {
  sodium_memzero(CellPayload(cell).data(), kCellBodyBytes);
  return Rejected(error).result;
}

// The client side's DESTROY: the next hop hears DESTROYED, not the client's reason.
CellResult RelayCircuit::Destroyed(DestroyReason received) {
  Destroy();
  destroy_reason_ = received;
  CellResult result;
  result.outcome = CellOutcome::kDestroyed;
  result.destroy_reason = DestroyReason::kDestroyed;
  return result;
}

// The next hop's DESTROY: only that side is gone. Its reason goes back in TRUNCATED (§4).
CellResult RelayCircuit::NextDestroyed(DestroyReason received) {
  next_side_id_ = 0;
  CellResult result;
  result.outcome = CellOutcome::kNextDestroyed;
  result.destroy_reason = received;
  return result;
}

void RelayCircuit::AttachNext(uint32_t next_side_id) {
  if (open_) next_side_id_ = next_side_id;
}

void RelayCircuit::Destroy() {
  open_ = false;
  layers_.forward.reset();  // the layers' arena slots are wiped on release
  layers_.backward.reset();
  control_pending_ = false;  // an ACK not yet sent goes nowhere once the circuit is gone
}

}  // namespace relaycell
