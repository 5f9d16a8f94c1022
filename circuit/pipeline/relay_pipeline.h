// The relay pipeline: a ShardProcessor that owns many RelayCircuits.
//
// A relay circuit is known by two keys: (client channel, client-side circ_id) for cells coming
// from the client, and (next channel, next-side circ_id) for cells coming back from the next
// hop. Two CircuitTables map them to the circuit's dense slot; nothing is allocated per cell.
//
//   InCell kOpen       payload = EncodeRelayOpen(...): suite, next hop (or none), key seed
//   InCell kCell       from the client side: peel (forward on, or deliver here)
//                      from the next side:   add our layer, send towards the client
//   InCell kOriginate  a cell of our own towards the client (payload = plaintext relay payload)
//   InCell kClose      payload = EncodeRelayClose(...): the host closes the circuit, named by
//                      either key, with a reason, telling the sides it chose (an empty payload:
//                      DESTROY(FINISHED) both ways)
//   InCell kAttachNext payload = EncodeRelayAttachNext(...): a last hop gets a next side
//   InCell kDetachNext EncodeRelayDetachNext(...): the next side is gone, the circuit stays
//
// Outputs: kSend (channel, cell), kDeliver (a recognized forward cell, plaintext under the
// header it came with: channel = client channel, cell.circ_id() = client-side id,
// cell.command() RELAY or RELAY_EARLY),
// kDestroy (send this DESTROY on channel), kClosed (that side already knows), kNextDestroyed
// (the next hop's DESTROY: channel and circ_id of the client side, payload[0] its reason; the
// circuit is the last hop now and the host originates TRUNCATED). A circuit that closes emits
// one item per side it has: (client channel, client-side id) first, then (next channel,
// next-side id), each kDestroy if that side is to be told, else kClosed.
//
// One path for every cell, a batch of one included: the cells of a batch are staged in groups
// holding at most one cell per circuit (a circuit's next cell depends on its previous one).
// Each cell is screened where it arrived (RelayCircuit::ScreenForward/Backward: checks, rekey
// count); the group takes a run of output items and queues each layer in its suite's
// LayerBatch, from the input cell into its output item (no working copy); the batches run
// (aez: AES rounds of different circuits interleaved, chain steps four at a time), then each
// cell is completed and emitted in input order. Opens, closes and originations run the group first. Outputs equal
// the circuits' own, one cell at a time, byte for byte and in order, however the inputs are
// cut into batches (tests/pipeline_differential_test.cc).
#ifndef RELAYCELL_CIRCUIT_PIPELINE_RELAY_PIPELINE_H_
#define RELAYCELL_CIRCUIT_PIPELINE_RELAY_PIPELINE_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <cstdint>
#include <span>
#include <vector>

#include "circuit/pipeline/circuit_table.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_circuit.h"
#include "circuit/pipeline/shard.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_enforcer.h"

namespace relaycell {

// What a kOpen item carries for a relay circuit.
struct RelayOpenParams {
  SuiteId suite = 0;  // a FindSuite id
  uint32_t next_channel = 0;
  uint32_t next_circ_id = 0;  // 0: this relay is the circuit's last hop
  std::span<const uint8_t> seed;
};
inline constexpr size_t kMaxOpenSeedBytes = 498;

// Fills `out` as the kOpen item for circuit (channel, circ_id). False if the seed is too long
// or circ_id is 0.
bool EncodeRelayOpen(uint32_t channel, uint32_t circ_id, const RelayOpenParams& params,
                     InCell& out);
// Reads a kOpen payload back; the seed points into `cell`. False if malformed.
bool DecodeRelayOpen(const WireCell& cell, RelayOpenParams& out);

// How the host closes a relay circuit (a kClose item).
struct RelayCloseParams {
  DestroyReason reason = DestroyReason::kFinished;
  bool tell_client_side = true;  // kDestroy(reason) to the client side, else kClosed(reason)
  bool tell_next_side = true;    // the same towards the next hop, if there is one
};
// Fills `out` as the kClose item for the circuit known on `channel` as `circ_id`: its client-
// side or its next-side key (a host whose link died knows only the key on that link). False if
// circ_id is 0 or the reason unknown.
bool EncodeRelayClose(uint32_t channel, uint32_t circ_id, DestroyReason reason,
                      bool tell_client_side, bool tell_next_side, InCell& out);
// Reads a kClose payload. One not made by EncodeRelayClose (an empty one included) keeps the
// older meaning: payload[0] the reason if known and not NONE, else FINISHED, both sides told.
RelayCloseParams DecodeRelayClose(const WireCell& cell);

// Fills `out` as the kAttachNext item: circuit (channel, circ_id), named by its client side,
// is known from now on as (next_channel, next_circ_id) at its next hop. Under ShardedPipeline
// pick next_circ_id with PickCircIdForShard so both keys land on one shard. Attach when the
// next hop's CREATED2 is in: until then the circuit ends here, and a cell no layer recognizes
// is a protocol error (network.md §3). False if circ_id or next_circ_id is 0.
bool EncodeRelayAttachNext(uint32_t channel, uint32_t circ_id, uint32_t next_channel,
                           uint32_t next_circ_id, InCell& out);
bool DecodeRelayAttachNext(const WireCell& cell, uint32_t& next_channel, uint32_t& next_circ_id);
// Fills `out` as the kDetachNext item for the circuit known on `channel` as `circ_id` (either
// key). Nothing is emitted; cells on the old next-side key count as unknown_circuit. False if
// circ_id is 0.
bool EncodeRelayDetachNext(uint32_t channel, uint32_t circ_id, InCell& out);

struct RelayPipelineConfig {
  size_t max_circuits = 100000;
  RekeyConfig rekey{};
  RekeyEnforcer::Mode rekey_mode = RekeyEnforcer::Mode::kEnforce;
};

// What the engine did, summed over all its circuits (monitoring; read after Stop).
struct RelayPipelineCounters {
  uint64_t forwarded = 0;      // cells passed on (either direction)
  uint64_t delivered = 0;      // forward cells recognized here
  uint64_t originated = 0;     // cells of our own sent towards the client
  uint64_t control_cells = 0;  // REKEY ACKs sent
  uint64_t ignored = 0;        // PADDING and the like
  uint64_t opened = 0;
  uint64_t open_failed = 0;        // malformed parameters, bad seed, duplicate key, table full
  uint64_t destroyed = 0;          // circuits closed (DESTROY, protocol error, host)
  uint64_t unknown_circuit = 0;    // cells for circuits this engine does not know
  uint64_t originate_refused = 0;  // bad payload or REKEY header in a kOriginate
  uint64_t attached = 0;           // next sides added (kAttachNext)
  uint64_t attach_refused = 0;     // malformed, the circuit has a next side, or the key is taken
  uint64_t detached = 0;           // next sides dropped by the host (kDetachNext)
  uint64_t detach_refused = 0;     // kDetachNext on a circuit without a next side
  uint64_t next_destroyed = 0;     // next sides dropped by the next hop's DESTROY
  ProtocolErrorCounters errors;    // of the circuits closed so far
};

// The headline counters a worker publishes after each batch, for a host to read while the
// worker runs (RelayPipeline::published_counters), and the ones summed across workers.
inline constexpr uint64_t RelayPipelineCounters::*kPublishedCounters[] = {
    &RelayPipelineCounters::forwarded,      &RelayPipelineCounters::delivered,
    &RelayPipelineCounters::originated,     &RelayPipelineCounters::control_cells,
    &RelayPipelineCounters::opened,         &RelayPipelineCounters::destroyed,
    &RelayPipelineCounters::unknown_circuit};

class RelayPipeline final : public ShardProcessor {
 public:
  // What ProcessBatch wipes behind itself, beyond what the work that ran asks (its groups'
  // RunLeavingStack; kCellCallStackWipeBytes after a single call): the frames of RunGroup,
  // Originate and the circuit between (tests/key_gone_test.cc).
  static constexpr size_t kPipelineFramesBytes = 4 * 1024;
  // The most it wipes (every RunLeavingStack is at most kCellCallStackWipeBytes).
  static constexpr size_t kBatchStackWipeBytes = kCellCallStackWipeBytes + kPipelineFramesBytes;
  explicit RelayPipeline(const RelayPipelineConfig& config);
  ~RelayPipeline() override;
  RelayPipeline(const RelayPipeline&) = delete;
  RelayPipeline& operator=(const RelayPipeline&) = delete;

  void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) override;

  // Every counter: the worker's own thread, or any thread once the worker has stopped.
  const RelayPipelineCounters& counters() const { return counters_; }
  // The headline counters (kPublishedCounters; the rest zero) as of the last finished batch,
  // readable from any thread while a worker runs: a monitoring snapshot whose fields may be a
  // batch apart.
  RelayPipelineCounters published_counters() const;
  size_t open_circuits() const { return forward_.size(); }
  // The circuit (for tests), or nullptr.
  const RelayCircuit* FindByClientSide(CircuitKey key) const;
  // Bytes this engine holds outside the key arena: both tables and the circuit array.
  size_t MemoryBytes() const;

 private:
  struct Entry {
    RelayCircuit circuit;
    uint32_t client_channel = 0;
    uint32_t next_channel = 0;
    CircuitSlot back_slot = kNoCircuitSlot;
    uint32_t group = 0;  // == group_id_ while a cell of this circuit is staged
  };
  // A cell staged in the current group: screened, read where it arrived (the batch's input,
  // alive until ProcessBatch returns, and every group runs before that).
  struct StagedCell {
    const WireCell* in;
    CircuitSlot slot;
    bool from_client;
    bool recognized;  // forward: the layer's verdict, written when the batch runs
    CellScreen screen;
  };
  static constexpr size_t kGroupCells = LayerBatch::kCapacity;
  // The prefetch pipeline's lookups, by batch index modulo the ring.
  struct AheadSlot {
    CircuitSlot slot = kNoCircuitSlot;
    bool from_client = false;
    uint32_t epoch = 0;  // table_epoch_ when looked up
  };
  static constexpr size_t kAheadRing = 16;
  void Open(const InCell& in);
  void HostClose(const InCell& in, ShardOutput& out);
  void HostAttachNext(const InCell& in);
  void HostDetachNext(const InCell& in);
  // Drops the circuit's next-side key (next_circ_id: the id it had there) from the table.
  void UnlinkNext(CircuitSlot slot, uint32_t next_circ_id);
  void Originate(const InCell& in, ShardOutput& out);
  // The outcome of one cell of `slot` handled in either direction, turned into outputs.
  void Emit(CircuitSlot slot, bool from_client, const CellResult& result, OutItem& item,
            ShardOutput& out);
  // Each side's item carries its reason, as kDestroy if it is told, else as kClosed.
  void Close(CircuitSlot slot, DestroyReason to_client, DestroyReason to_next, bool tell_client,
             bool tell_next, ShardOutput& out);
  CircuitSlot Lookup(CircuitKey key, bool& from_client) const;
  void PublishCounters();
  void Stage(CircuitSlot slot, bool from_client, const WireCell& cell);
  void RunGroup(ShardOutput& out);
  // Complete's half of a staged cell, on `cell`: the staged cell after its layer.
  CellResult CompleteStaged(const StagedCell& staged, CellBytes cell);

  RelayPipelineConfig config_;
  CircuitTable forward_;                     // client side -> circuit slot
  CircuitTable backward_;                    // next side -> backward slot
  std::vector<CircuitSlot> backward_owner_;  // backward slot -> circuit slot
  std::vector<Entry> circuits_;              // by circuit slot
  RelayPipelineCounters counters_;
  // What published_counters() reads: stored once per batch (relaxed), never in the cell loop.
  std::array<std::atomic<uint64_t>, std::size(kPublishedCounters)> published_{};  // in its order
  // The group: at most one cell per circuit, run together (RunGroup).
  // Cells that do not go straight into the output (RunGroup), kGroupCells, allocated once.
  std::vector<WireCell> group_cells_;
  std::vector<StagedCell> group_;
  std::array<std::unique_ptr<LayerBatch>, kMaxSuites> batches_;  // by suite id
  uint32_t group_id_ = 1;
  AheadSlot ahead_[kAheadRing];
  uint32_t table_epoch_ = 1;  // bumped by every table change: invalidates ahead_ lookups
  size_t stack_to_wipe_ = 0;  // the deepest RunLeavingStack of this ProcessBatch's groups
  // Key work outside the suites' batches in this ProcessBatch (kOpen, kOriginate, a REKEY):
  // members, not locals, so that nothing of the batch's own bookkeeping lies on the stack.
  bool single_calls_ = false;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PIPELINE_RELAY_PIPELINE_H_
