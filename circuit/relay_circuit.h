// A relay's view of one circuit: its own hop's layers between the client side and the next
// hop. Forward cells are peeled (delivered if recognized, else passed on); backward cells are
// originated here or passed on with our layer added.
//
//   RelayCircuit circuit;
//   RelayCircuit::Create(*FindSuite("aez"), seed, client_side_id, next_side_id, circuit);
//   CellResult r = circuit.HandleForward(cell);   // kDelivered or kForward (circ_id rewritten)
//   r = circuit.HandleBackward(cell_from_next);    // kForward towards the client
//   circuit.Originate({RelayCommand::kData, stream, n}, data, cell);
//
// Extending (network.md §4): a circuit made as the last hop (next_side_id 0) gets a next hop
// with AttachNext once the host's CREATE2 is answered, and loses it again with DetachNext (the
// next link is gone) or when the next hop's DESTROY arrives (HandleBackward: kNextDestroyed).
// Either way it stays open as the last hop and may extend again; the host sends TRUNCATED.
//
// RELAY_REKEY (protocol §6–§7, docs/rekey.md): every cell through the hop is counted against
// the rekey deadline (one increment and one compare). A valid REKEY(1) from the client returns
// kIgnored and leaves the ACK, already enciphered under the old keys, for PollControlCell:
//   if (circuit.PollControlCell(cell)) send_towards_client(cell);
// The host must take it before it handles any other cell of this circuit (the next backward
// cell is already under the new keys), so: poll after every HandleForward that is kIgnored.
#ifndef RELAYCELL_CIRCUIT_RELAY_CIRCUIT_H_
#define RELAYCELL_CIRCUIT_RELAY_CIRCUIT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "circuit/cell.h"
#include "circuit/cell_result.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"
#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_enforcer.h"
#include "engine/rekey/rekey_state.h"

namespace relaycell {

// RELAY_EARLY cells a relay takes from the client side per circuit, recognized or not
// (network.md §4, Tor's MAX_RELAY_EARLY_CELLS_PER_CIRCUIT): EXTEND2 must travel in RELAY_EARLY,
// so this bounds how long a path a client can build through us. The 9th is a protocol error.
inline constexpr uint8_t kMaxRelayEarlyCells = 8;

// The first half of a cell's handling (RelayCircuit::ScreenForward / ScreenBackward).
struct CellScreen {
  bool needs_layer = false;  // true: run the hop's layer on the body, then Complete...
  bool early = false;        // forward: the cell is RELAY_EARLY (the layer's tweak)
  CellResult result;         // when !needs_layer: the outcome, final
};

class RelayCircuit {
 public:
  RelayCircuit() = default;  // destroyed until Create
  RelayCircuit(RelayCircuit&&) noexcept = default;
  RelayCircuit& operator=(RelayCircuit&&) noexcept = default;

  // client_side_id names the circuit towards the client; next_side_id towards the next hop,
  // 0 if this relay is the last hop. On error `out` is left destroyed.
  static SuiteError Create(const CellSuite& suite, std::span<const uint8_t> seed,
                           uint32_t client_side_id, uint32_t next_side_id, RelayCircuit& out);
  // Same with the rekey limits to enforce (default RekeyConfig{}, protocol §7) and the
  // enforcer's mode (kDisabled only to measure its overhead). A config that fails
  // RekeyConfig::Validate() is refused with kBadRekeyConfig (no circuit is built).
  static SuiteError Create(const CellSuite& suite, std::span<const uint8_t> seed,
                           uint32_t client_side_id, uint32_t next_side_id,
                           const RekeyConfig& rekey_config, RekeyEnforcer::Mode mode,
                           RelayCircuit& out);

  // A cell from the client side, in place.
  CellResult HandleForward(CellBytes cell);
  // A cell from the next hop, in place. Its DESTROY detaches the next side (kNextDestroyed).
  CellResult HandleBackward(CellBytes cell);

  // The circuit, so far the last hop, now has a next hop known there as `next_side_id` (!= 0):
  // unrecognized forward cells go on to it. Open circuits without a next side only.
  void AttachNext(uint32_t next_side_id);
  // The next hop is gone (its link closed; the host sends TRUNCATED): the circuit is the last
  // hop again, still open, and cells on the old next-side id are refused.
  void DetachNext() { next_side_id_ = 0; }

  // The same in halves, for pipelines that run the layers of many circuits' cells at once
  // (a LayerBatch). Screen checks the cell and counts it against the rekey deadline; if it says
  // needs_layer, the caller runs layer(from_client) with layer_op(from_client) on the body,
  // then calls Complete once, before any other call on this circuit. HandleForward is exactly
  // ScreenForward, layer(true).Apply(kRelayDecrypt), CompleteForward. The screens write into
  // `screen` (a pipeline's staged entry) instead of returning it: returned, the pipeline copied
  // it out of the stack with wide loads over the callee's narrow stores, a store-forwarding
  // stall on every cell.
  void ScreenForward(ConstCellBytes cell, CellScreen& screen);
  CellResult CompleteForward(CellBytes cell, bool early, bool recognized);
  void ScreenBackward(ConstCellBytes cell, CellScreen& screen);
  CellResult CompleteBackward(CellBytes cell);
  // The hop's layer for a cell from that side, and what it does to such a cell (a cell from
  // the client is peeled, one from the next hop gets our layer). Only while open.
  CellLayer& layer(bool from_client) { return from_client ? *layers_.forward : *layers_.backward; }
  static LayerOp layer_op(bool from_client) {
    return from_client ? LayerOp::kRelayDecrypt : LayerOp::kRelayEncrypt;
  }

  // A cell of our own towards the client. A REKEY header is refused (kBadPayload): the ACK is
  // the circuit's own. kClosed also when the cell would pass the key's deadline (the circuit
  // is then destroyed with kRekeyOverdue: send DESTROY(PROTOCOL) both ways).
  OriginateError Originate(const RelayHeader& header, std::span<const uint8_t> data,
                           CellBytes cell);
  OriginateError OriginatePayload(std::span<const uint8_t, kCellBodyBytes> payload, CellBytes cell);

  // The REKEY ACK owed to the client, if any: writes it into `cell` (ready to send towards the
  // client) and returns true. At most one is ever waiting.
  bool PollControlCell(CellBytes cell);
  bool has_control_cell() const { return control_pending_; }

  void Destroy();

  // The hop's rekey state and enforcer (tests preset counts through it).
  RelayHopRekey& rekey() { return rekey_; }
  const RelayHopRekey& rekey() const { return rekey_; }

  bool is_open() const { return open_; }
  uint32_t client_side_id() const { return client_side_id_; }
  uint32_t next_side_id() const { return next_side_id_; }
  const CellSuite& suite() const { return *suite_; }
  // The suite's id, kept in the circuit so a pipeline picks the batch without touching the
  // layer (whose state may still be on its way into cache).
  SuiteId suite_id() const { return suite_id_; }
  // The protocol error that closed the circuit, as counters (at most one: the first error
  // closes it, so the circuit keeps one byte, not a counter per kind).
  CircuitErrorCounters errors() const {
    CircuitErrorCounters counters;
    if (error_ != ProtocolError::kNone) counters.Count(error_);
    return counters;
  }
  // Starts pulling the key state a cell from that side will need into cache (batches).
  void Prefetch(bool from_client) const {
    (from_client ? layers_.forward : layers_.backward).Prefetch();
  }
  DestroyReason destroy_reason() const { return destroy_reason_; }

 private:
  // Closes the circuit on `error`; the cell's payload (past our layer by now) is wiped.
  CellResult Fail(ProtocolError error, CellBytes cell);
  void Screen(ConstCellBytes cell, bool from_client, CellScreen& screen);
  // Closes the circuit on `error`, as a final screen. The screened cell is left as it came
  // (nothing of ours has touched it); HandleForward/Backward wipe theirs (Screened).
  CellScreen Rejected(ProtocolError error);
  CellResult Screened(const CellScreen& screen, CellBytes cell);
  void RecordError(ProtocolError error);
  CellResult Destroyed(DestroyReason received);
  CellResult NextDestroyed(DestroyReason received);
  // A recognized REKEY addressed to us: answer, switch, or fail.
  CellResult OnRekey(const ParsedRelay& relay, CellBytes cell);
  void FailOnRekey(RekeyError error);

  HopLayers layers_;
  const CellSuite* suite_ = nullptr;
  SuiteId suite_id_ = 0;
  RelayHopRekey rekey_{RekeyConfig{}, RekeyCapability::kNotRekeyable};
  // The ACK waiting for PollControlCell; allocated at the first rekey (ciphertext, not secret).
  std::unique_ptr<std::array<uint8_t, kCellBytes>> control_cell_;
  bool control_pending_ = false;
  uint8_t relay_early_cells_ = 0;  // from the client side; never past kMaxRelayEarlyCells + 1
  uint32_t client_side_id_ = 0;
  uint32_t next_side_id_ = 0;
  bool open_ = false;
  DestroyReason destroy_reason_ = DestroyReason::kNone;
  ProtocolError error_ = ProtocolError::kNone;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_RELAY_CIRCUIT_H_
