#include "circuit/client_circuit.h"

#include <sodium.h>

#include <cstring>

namespace relaycell {

PendingRekeyMaterial::~PendingRekeyMaterial() { Wipe(); }

void PendingRekeyMaterial::Wipe() { sodium_memzero(bytes, sizeof bytes); }

KeyArena& PendingRekeyMaterial::Arena() {
  static KeyArena arena(sizeof(PendingRekeyMaterial));
  return arena;
}

SuiteError ClientCircuit::Create(const CellSuite& suite, uint32_t circ_id,
                                 std::span<const std::span<const uint8_t>> hop_seeds,
                                 ClientCircuit& out) {
  return Create(suite, circ_id, hop_seeds, RekeyConfig{}, out);
}

SuiteError ClientCircuit::Create(const CellSuite& suite, uint32_t circ_id,
                                 std::span<const std::span<const uint8_t>> hop_seeds,
                                 const RekeyConfig& rekey_config, ClientCircuit& out) {
  out = ClientCircuit();
  if (rekey_config.Validate() != RekeyConfigError::kOk) return SuiteError::kBadRekeyConfig;
  if (hop_seeds.empty() || hop_seeds.size() > size_t(kMaxHops)) return SuiteError::kBadHopCount;
  if (circ_id == 0) return SuiteError::kBadCircuitId;
  ClientCircuit circuit;
  circuit.suite_ = &suite;
  for (size_t i = 0; i < hop_seeds.size(); ++i) {
    const SuiteError error = circuit.MakeHop(i, hop_seeds[i], rekey_config);
    if (error != SuiteError::kOk) return error;  // `circuit` wipes the hops built so far
  }
  circuit.hops_ = int(hop_seeds.size());
  circuit.circ_id_ = circ_id;
  circuit.open_ = true;
  out = std::move(circuit);
  return SuiteError::kOk;
}

SuiteError ClientCircuit::Create(const CellSuite& suite, uint32_t circ_id,
                                 std::span<const uint8_t> first_hop_seed,
                                 const RekeyConfig& rekey_config, ClientCircuit& out) {
  const std::span<const uint8_t> seeds[1] = {first_hop_seed};
  return Create(suite, circ_id, seeds, rekey_config, out);
}

SuiteError ClientCircuit::AddHop(std::span<const uint8_t> seed) {
  if (!open_) return SuiteError::kBadCircuitId;
  if (hops_ >= kMaxHops) return SuiteError::kBadHopCount;
  // Hop 1 always exists on an open circuit and holds the config the circuit was made with.
  const RekeyConfig config = rekey_[0]->schedule().config();
  const SuiteError error = MakeHop(size_t(hops_), seed, config);
  if (error != SuiteError::kOk) return error;
  ++hops_;
  return SuiteError::kOk;
}

void ClientCircuit::TruncateTo(int hops) {
  if (!open_ || hops < 1 || hops >= hops_) return;
  for (int i = hops; i < hops_; ++i) DropHop(size_t(i));
  hops_ = hops;
}

// What Create does per hop: the layers, the hop's rekey schedule (its first threshold counts
// from here, when its keys are installed) and, if it can rekey, its pending-material slot,
// reserved now so a rekey never fails for want of locked memory.
SuiteError ClientCircuit::MakeHop(size_t i, std::span<const uint8_t> seed,
                                  const RekeyConfig& rekey_config) {
  const SuiteError error = suite_->MakeHop(seed, layers_[i]);
  if (error != SuiteError::kOk) {
    DropHop(i);
    return error;
  }
  const bool rekeyable = suite_->supports_rekey();
  rekey_[i] = std::make_unique<ClientHopRekey>(
      rekey_config, rekeyable ? RekeyCapability::kRekeyable : RekeyCapability::kNotRekeyable);
  if (rekeyable) {
    pending_rekey_[i] = MakeInArena<PendingRekeyMaterial>(PendingRekeyMaterial::Arena());
    if (!pending_rekey_[i]) {
      DropHop(i);
      return SuiteError::kOutOfKeyMemory;
    }
  }
  return SuiteError::kOk;
}

void ClientCircuit::DropHop(size_t i) {
  layers_[i].forward.reset();  // the layers' arena slots are wiped on release
  layers_[i].backward.reset();
  rekey_[i].reset();
  pending_rekey_[i].reset();
}

OriginateError ClientCircuit::Originate(int hop, const RelayHeader& header,
                                        std::span<const uint8_t> data, bool early, CellBytes cell) {
  if (header.command == RelayCommand::kRekey) return OriginateError::kBadPayload;
  if (!open_) return OriginateError::kClosed;
  if (!BuildRelayPayload(suite_->relay_format(), header, data, CellPayload(cell))) {
    return OriginateError::kBadPayload;
  }
  uint8_t payload[kCellBodyBytes];
  std::memcpy(payload, CellPayload(cell).data(), kCellBodyBytes);
  const OriginateError error = OriginatePayload(hop, payload, early, cell);
  sodium_memzero(payload, sizeof payload);
  return error;
}

// The forward hot path: the target hop's layer originates, then the layers between it and us
// are added, innermost first.
OriginateError ClientCircuit::OriginatePayload(int hop,
                                               std::span<const uint8_t, kCellBodyBytes> payload,
                                               bool early, CellBytes cell) {
  const OriginateError error = ScreenOriginate(hop, payload, early, cell);
  if (error != OriginateError::kOk) return error;
  const CellBody body = CellPayload(cell);
  for (int layer = hop; layer >= 1; --layer) AddForwardLayer(hop, layer, body, early);
  return OriginateError::kOk;
}

OriginateError ClientCircuit::ScreenOriginate(int hop,
                                              std::span<const uint8_t, kCellBodyBytes> payload,
                                              bool early, CellBytes cell) {
  if (!open_) return OriginateError::kClosed;
  if (hop < 1 || hop > hops_) return OriginateError::kNoSuchHop;
  if (!CountForward(hop)) return OriginateError::kClosed;
  WriteCellHeader(circ_id_, early ? CellCommand::kRelayEarly : CellCommand::kRelay, cell);
  const CellBody body = CellPayload(cell);
  if (body.data() != payload.data()) std::memmove(body.data(), payload.data(), kCellBodyBytes);
  return OriginateError::kOk;
}

void ClientCircuit::AddForwardLayer(int hop, int layer, CellBody body, bool early) {
  forward_layer(layer).Apply(forward_op(hop, layer), body, early);
}

// The backward hot path: peel layers 1, 2, ... until one recognizes the cell.
CellResult ClientCircuit::Receive(CellBytes cell) {
  CellResult result;
  if (!ScreenReceive(cell, result)) return result;
  const CellBody body = CellPayload(cell);
  int origin = 0;
  for (int hop = 1; hop <= hops_ && origin == 0; ++hop) {
    if (PeelLayer(hop, body)) origin = hop;
  }
  return CompleteReceive(origin, cell);
}

bool ClientCircuit::ScreenReceive(CellBytes cell, CellResult& result) {
  result = CellResult{};
  auto fail = [&](ProtocolError error) {
    result = Fail(error, cell);
    return false;
  };
  if (!open_) {
    result.outcome = CellOutcome::kClosed;
    return false;
  }
  const ParsedCell parsed = ParseCell(cell);
  if (!parsed.ok()) return fail(parsed.error);
  const CellCommand command = parsed.header.command;
  if (command == CellCommand::kPadding) {
    result.outcome = CellOutcome::kIgnored;
    return false;
  }
  if (parsed.header.circ_id != circ_id_) return fail(ProtocolError::kWrongCircId);
  if (command == CellCommand::kDestroy) {
    Destroy();
    destroy_reason_ = parsed.header.destroy_reason;
    result.outcome = CellOutcome::kDestroyed;
    result.destroy_reason = destroy_reason_;
    return false;
  }
  if (command == CellCommand::kRelayEarly) return fail(ProtocolError::kEarlyBackward);
  if (command != CellCommand::kRelay) return fail(ProtocolError::kUnexpectedCellCommand);
  return true;
}

bool ClientCircuit::PeelLayer(int hop, CellBody body) {
  return backward_layer(hop).Apply(LayerOp::kClientDecrypt, body, false);
}

CellResult ClientCircuit::CompleteReceive(int origin, CellBytes cell) {
  if (origin == 0) return Fail(ProtocolError::kUnrecognized, cell);
  for (int i = 0; i < origin; ++i) {
    const RekeyError error = rekey_[size_t(i)]->CountBackwardCell();
    if (error != RekeyError::kNone) [[unlikely]]
      return Fail(ProtocolErrorFromRekey(error), cell);
  }
  const CellBody body = CellPayload(cell);
  const ParsedRelay relay = CheckRecognizedPayload(*suite_, body);
  if (!relay.ok()) return Fail(relay.error, cell);
  CellResult result;
  if (relay.header.command == RelayCommand::kRekey) [[unlikely]] {
    // Deciphered with the hop's old backward keys; an ACK switches them to the new ones.
    const RekeyStep step =
        rekey_[size_t(origin - 1)]->OnRekeyCell(relay.header.stream_id, relay.data);
    if (step.action != RekeyAction::kSwitchBackward) {
      return Fail(ProtocolErrorFromRekey(step.error), cell);
    }
    PendingRekeyMaterial& pending = *pending_rekey_[size_t(origin - 1)];
    backward_layer(origin).InstallRekeyMaterial(pending.bytes);
    pending.Wipe();  // the slot stays reserved for the next rekey
    sodium_memzero(body.data(), body.size());
    result.outcome = CellOutcome::kIgnored;
    result.hop = origin;
    return result;
  }
  result.outcome = CellOutcome::kDelivered;
  result.hop = origin;
  result.header = relay.header;
  result.data = relay.data;
  return result;
}

void ClientCircuit::PrefetchLayers(bool forward, int hops) {
  for (int hop = 1; hop <= hops; ++hop) {
    const HopLayers& layers = layers_[size_t(hop - 1)];
    (forward ? layers.forward : layers.backward).PrefetchWhole();
  }
}

bool ClientCircuit::CountForward(int hop) {
  for (int i = 0; i < hop; ++i) {
    const RekeyError error = rekey_[size_t(i)]->CountForwardCell();
    if (error != RekeyError::kNone) [[unlikely]]
      return !FailOnRekey(error);
  }
  return true;
}

bool ClientCircuit::FailOnRekey(RekeyError error) {
  const ProtocolError reason = ProtocolErrorFromRekey(error);
  if (reason == ProtocolError::kNone) return false;
  errors_.Count(reason);
  Destroy();
  destroy_reason_ = DestroyReason::kProtocol;
  return true;
}

bool ClientCircuit::PollControlCell(CellBytes cell, int* hop) {
  if (!open_) return false;
  for (int k = 1; k <= hops_; ++k) {
    if (!rekey_[size_t(k - 1)]->Due()) continue;
    RekeyBody body;
    const RekeyStep step = rekey_[size_t(k - 1)]->StartRekey(body);
    if (step.action != RekeyAction::kSendRekeyThenSwitchForward) {
      FailOnRekey(step.error);
      return false;
    }
    if (SendRekey(k, body, cell) != RekeyError::kNone) return false;
    if (hop != nullptr) *hop = k;
    return true;
  }
  return false;
}

RekeyError ClientCircuit::RequestRekey(int hop) {
  if (hop < 1 || hop > hops_ || !open_) return RekeyError::kNotRekeyable;
  if (rekey_[size_t(hop - 1)]->state() == ClientRekeyState::kUnsupported) {
    return RekeyError::kNotRekeyable;
  }
  rekey_[size_t(hop - 1)]->RequestRekey();
  return RekeyError::kNone;
}

RekeyError ClientCircuit::StartRekeyWithData(int hop,
                                             std::span<const uint8_t, kRekeyDataBytes> rekey_data,
                                             CellBytes cell) {
  if (hop < 1 || hop > hops_ || !open_) return RekeyError::kNotRekeyable;
  RekeyBody body;
  const RekeyStep step = rekey_[size_t(hop - 1)]->StartRekey(body);
  if (step.action != RekeyAction::kSendRekeyThenSwitchForward) {
    FailOnRekey(step.error);
    return step.error;
  }
  body.SetShake256Client(rekey_data);  // replaces the fresh bytes StartRekey drew
  return SendRekey(hop, body, cell);
}

// Protocol §6: the REKEY(1) goes out under the hop's old keys; then the hop's forward direction
// switches at once and the new backward keys wait for the ACK.
RekeyError ClientCircuit::SendRekey(int hop, const RekeyBody& body, CellBytes cell) {
  CellLayer& forward = forward_layer(hop);
  alignas(16) uint8_t material[kKdfOutputBytes];
  if (forward.DeriveRekeyMaterial(body.rekey_data(), material) != KdfError::kOk) {
    // Never expected (OpenSSL without SHAKE256): no key may be reused, so the circuit closes.
    Destroy();
    destroy_reason_ = DestroyReason::kInternal;
    return RekeyError::kRekeyOverdue;
  }
  uint8_t data[kRekeyBodyMaxBytes];
  const size_t length = BuildRekeyBody(body, data);
  uint8_t payload[kCellBodyBytes];
  BuildRelayPayload(suite_->relay_format(),
                    {RelayCommand::kRekey, kRekeyStreamId, uint16_t(length)},
                    std::span<const uint8_t>(data, length), payload);
  sodium_memzero(data, sizeof data);
  // Counted like any forward cell (hop's count restarted by StartRekey: it is the first).
  const OriginateError sent = OriginatePayload(hop, payload, /*early=*/false, cell);
  sodium_memzero(payload, sizeof payload);
  if (sent != OriginateError::kOk) {
    sodium_memzero(material, sizeof material);
    return RekeyError::kRekeyOverdue;
  }
  forward.InstallRekeyMaterial(material);
  std::memcpy(pending_rekey_[size_t(hop - 1)]->bytes, material, sizeof material);
  sodium_memzero(material, sizeof material);
  return RekeyError::kNone;
}

CellResult ClientCircuit::Fail(ProtocolError error, CellBytes cell) {
  // Whatever the layers made of the cell is never handed out.
  sodium_memzero(CellPayload(cell).data(), kCellBodyBytes);
  errors_.Count(error);
  Destroy();
  destroy_reason_ = DestroyReason::kProtocol;
  CellResult result;
  result.outcome = CellOutcome::kDestroyed;
  result.error = error;
  result.destroy_reason = DestroyReason::kProtocol;
  return result;
}

void ClientCircuit::Destroy() {
  open_ = false;
  for (HopLayers& hop : layers_) {  // the layers' arena slots are wiped on release
    hop.forward.reset();
    hop.backward.reset();
  }
  for (ArenaBox<PendingRekeyMaterial>& pending : pending_rekey_) pending.reset();
}

}  // namespace relaycell
