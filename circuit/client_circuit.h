// A client's circuit of 1..8 hops: originates relay cells to any hop and delivers the cells
// that come back. Knows the layers' order, never the cipher (see engine/suite/cell_suite.h).
//
//   ClientCircuit circuit;
//   if (ClientCircuit::Create(*FindSuite("aez"), circ_id, seeds, circuit) != SuiteError::kOk) ...
//   circuit.Originate(3, {RelayCommand::kData, stream, n}, data, false, cell);   // to hop 3
//   CellResult r = circuit.Receive(cell_from_hop_1);  // r.hop, r.header, r.data
//   while (circuit.PollControlCell(cell)) send_to_hop_1(cell);  // RELAY_REKEY when due
//
// Hop by hop (network.md §3–§4): Create with hop 1's seed once its CREATED2 is in, AddHop with
// each EXTENDED2's, TruncateTo(k) after a TRUNCATED from hop k. The result is the same circuit,
// cell for cell, as one created with all the seeds at once.
//
// RELAY_REKEY (protocol §6–§7, docs/rekey.md) runs inside the circuit: every cell is counted per
// hop, and when a hop's threshold is reached (or the host asked, RequestRekey) the next
// PollControlCell starts the rekey and hands out the REKEY(1) cell to send. The relay's ACK is
// consumed by Receive (outcome kIgnored). The host must call PollControlCell after Originate
// and Receive; a circuit that never rekeys closes itself at threshold + slack (kRekeyOverdue).
#ifndef RELAYCELL_CIRCUIT_CLIENT_CIRCUIT_H_
#define RELAYCELL_CIRCUIT_CLIENT_CIRCUIT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "circuit/cell.h"
#include "circuit/cell_result.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"
#include "engine/common/kdf.h"
#include "engine/common/key_arena.h"
#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_limits.h"
#include "engine/rekey/rekey_state.h"

namespace relaycell {

// A hop's rekey material, derived when its REKEY(1) left: the forward layer switches at once,
// the backward one when the ACK arrives. Lives in a KeyArena slot; wiped on destruction.
struct PendingRekeyMaterial {
  alignas(16) uint8_t bytes[kKdfOutputBytes];
  ~PendingRekeyMaterial();
  void Wipe();
  static KeyArena& Arena();
};

class ClientCircuit {
 public:
  ClientCircuit() = default;  // destroyed until Create
  ClientCircuit(ClientCircuit&&) noexcept = default;
  ClientCircuit& operator=(ClientCircuit&&) noexcept = default;

  // One key seed per hop, hop 1 first. On error `out` is left destroyed.
  static SuiteError Create(const CellSuite& suite, uint32_t circ_id,
                           std::span<const std::span<const uint8_t>> hop_seeds, ClientCircuit& out);
  // Same with the rekey schedule's thresholds (default: RekeyConfig{}, protocol §7). A config
  // that fails RekeyConfig::Validate() is refused with kBadRekeyConfig (no circuit is built).
  static SuiteError Create(const CellSuite& suite, uint32_t circ_id,
                           std::span<const std::span<const uint8_t>> hop_seeds,
                           const RekeyConfig& rekey_config, ClientCircuit& out);
  // A one-hop circuit, to be extended with AddHop.
  static SuiteError Create(const CellSuite& suite, uint32_t circ_id,
                           std::span<const uint8_t> first_hop_seed, const RekeyConfig& rekey_config,
                           ClientCircuit& out);

  // Appends hop hops() + 1 (its EXTENDED2 arrived) under the circuit's suite and rekey config.
  // kBadHopCount when the circuit has kMaxHops hops, kBadCircuitId when it is not open; on any
  // error the circuit is unchanged.
  SuiteError AddHop(std::span<const uint8_t> seed);
  // Keeps hops 1..hops and wipes the ones past it (hop `hops` sent TRUNCATED: those beyond are
  // gone). A no-op unless 1 <= hops < hops() on an open circuit.
  void TruncateTo(int hops);

  // Builds a RELAY (or RELAY_EARLY) cell for `hop` (1-based) carrying header + data. A REKEY
  // header is refused (kBadPayload): the circuit alone runs the rekey, so both sides stay in
  // step. kClosed also when this cell would pass a hop's key past threshold + slack (the
  // circuit is then destroyed with kRekeyOverdue: send DESTROY(PROTOCOL)).
  OriginateError Originate(int hop, const RelayHeader& header, std::span<const uint8_t> data,
                           bool early, CellBytes cell);
  // Same with a ready 509-byte plaintext payload in the suite's layout (tests, vectors).
  OriginateError OriginatePayload(int hop, std::span<const uint8_t, kCellBodyBytes> payload,
                                  bool early, CellBytes cell);

  // A cell from hop 1, processed in place. Delivered data points into `cell`. A relay's REKEY
  // ACK is consumed here: kIgnored, `hop` set (that hop now runs on its new keys both ways).
  CellResult Receive(CellBytes cell);

  // The two hot paths in pieces, so that a pipeline can run the layers of many circuits' cells
  // at once (a LayerBatch) between the steps before and after them. OriginatePayload and
  // Receive are these same pieces called in order; an engine must call them in that order too,
  // one cell at a time per circuit, on an open circuit, with nothing else in between.
  //
  // Originate: ScreenOriginate (checks, rekey counting, header and payload into `cell`); on kOk,
  // forward_layer(layer) runs forward_op(hop, layer) for layer = hop, hop - 1, ..., 1 (what
  // AddForwardLayer does). Nothing follows.
  OriginateError ScreenOriginate(int hop, std::span<const uint8_t, kCellBodyBytes> payload,
                                 bool early, CellBytes cell);
  void AddForwardLayer(int hop, int layer, CellBody body, bool early);
  // Receive: ScreenReceive (true: a RELAY cell to peel; false: `result` is final, nothing more
  // to do), then PeelLayer(1), PeelLayer(2), ... (backward_layer(hop) with kClientDecrypt)
  // until one recognizes the cell, then CompleteReceive(origin, or 0 if no hop recognized it).
  bool ScreenReceive(CellBytes cell, CellResult& result);
  bool PeelLayer(int hop, CellBody body);
  CellResult CompleteReceive(int origin, CellBytes cell);
  // A hop's layers (1-based; open circuits only), and what the forward one does to a cell
  // for `hop`: the destination originates, the hops before it encrypt.
  CellLayer& forward_layer(int layer) { return *layers_[size_t(layer - 1)].forward; }
  CellLayer& backward_layer(int layer) { return *layers_[size_t(layer - 1)].backward; }
  static LayerOp forward_op(int hop, int layer) {
    return layer == hop ? LayerOp::kClientOriginate : LayerOp::kClientEncrypt;
  }
  // A hint that cells in one direction through hops 1..`hops` come soon: starts pulling those
  // hops' key state into cache. A pipeline calls it for every cell of a group before running
  // the group, so the cache misses of different circuits overlap instead of stalling in turn.
  void PrefetchLayers(bool forward, int hops);

  // RELAY_REKEY. If a hop's rekey is due (the lowest such hop first), starts it: writes the
  // REKEY(1) cell (32 fresh CSPRNG bytes, under the hop's old keys) into `cell`, switches the
  // hop's forward direction and returns true; send the cell to hop 1 before any later cell.
  // False (nothing written) if no rekey is due or the circuit is closed. Cheap: one compare
  // per hop. `hop`, if given, receives the rekeyed hop.
  bool PollControlCell(CellBytes cell, int* hop = nullptr);
  // The host wants `hop` rekeyed as soon as the relay's min_spacing allows (then
  // PollControlCell emits it). kNotRekeyable on tor1; kNone otherwise (also if one is pending:
  // it is due again after the ACK).
  RekeyError RequestRekey(int hop);
  // Starts a rekey of `hop` now with the given rekey_data (known-answer vectors only: real
  // rekeys take fresh CSPRNG bytes through PollControlCell). kAlreadyPending / kNotRekeyable
  // refuse locally; writes the REKEY(1) cell to send to hop 1 on kNone.
  RekeyError StartRekeyWithData(int hop, std::span<const uint8_t, kRekeyDataBytes> rekey_data,
                                CellBytes cell);
  // The hop's rekey state (counters, schedule); tests preset counts through it.
  ClientHopRekey& hop_rekey(int hop) { return *rekey_[size_t(hop - 1)]; }
  const ClientHopRekey& hop_rekey(int hop) const { return *rekey_[size_t(hop - 1)]; }

  // Destroys the circuit locally (wipes every key); the host sends DESTROY itself.
  void Destroy();

  bool is_open() const { return open_; }
  int hops() const { return hops_; }
  uint32_t circ_id() const { return circ_id_; }
  const CellSuite& suite() const { return *suite_; }
  const CircuitErrorCounters& errors() const { return errors_; }
  // The received DESTROY's reason, or PROTOCOL after a protocol error.
  DestroyReason destroy_reason() const { return destroy_reason_; }
  HopLayers& hop_layers(int hop) { return layers_[size_t(hop - 1)]; }

 private:
  CellResult Fail(ProtocolError error, CellBytes cell);
  // Counts a forward cell to `hop` at hops 1..hop; false (circuit destroyed) past a deadline.
  bool CountForward(int hop);
  // Originates the REKEY(1) in `body` to `hop` (old keys), then switches its forward keys.
  RekeyError SendRekey(int hop, const RekeyBody& body, CellBytes cell);
  // Applies a ClientHopRekey step that closes the circuit; true if it did.
  bool FailOnRekey(RekeyError error);
  // Installs hop index `i` (0-based) from `seed`; on error nothing of it is left.
  SuiteError MakeHop(size_t i, std::span<const uint8_t> seed, const RekeyConfig& rekey_config);
  void DropHop(size_t i);

  std::array<HopLayers, kMaxHops> layers_;
  std::array<std::unique_ptr<ClientHopRekey>, kMaxHops> rekey_;
  std::array<ArenaBox<PendingRekeyMaterial>, kMaxHops> pending_rekey_;
  const CellSuite* suite_ = nullptr;
  int hops_ = 0;
  uint32_t circ_id_ = 0;
  bool open_ = false;
  DestroyReason destroy_reason_ = DestroyReason::kNone;
  CircuitErrorCounters errors_;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_CLIENT_CIRCUIT_H_
