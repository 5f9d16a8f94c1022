// The client pipeline: a ShardProcessor that owns many ClientCircuits, keyed
// by (channel to hop 1, circ_id). It originates cells to any hop and delivers the cells that
// come back; RELAY_REKEY runs inside the circuits, its cells come out as ordinary kSend items.
//
//   InCell kOpen      payload = EncodeClientOpen(...): suite, hop count, one key seed per hop
//   InCell kOriginate payload = plaintext relay payload (BuildRelayPayload), `hop` = 1..hops,
//                     command RELAY or RELAY_EARLY  -> kSend (towards hop 1)
//   InCell kCell      a cell from hop 1              -> kDeliver (`hop` = the hop it came from)
//   InCell kClose     the host closes the circuit    -> kDestroy (payload[0]: reason, 0 = FINISHED)
//
// A circuit closed by the peer's DESTROY comes out as kClosed; by a protocol error, as kDestroy
// (DESTROY(PROTOCOL) to send). Every REKEY(1) the circuit owes follows the item that made it due.
//
// One path for every item, a batch of one included: the kOriginate and kCell items of a batch
// are staged in groups holding at most one item per circuit (a circuit's next cell depends on
// its previous one and on the rekey it may trigger). Each item is screened
// (ClientCircuit::ScreenOriginate / ScreenReceive: checks, rekey counts), then the group's
// layers run in rounds, each round one LayerBatch per suite across circuits: an originated
// cell adds its layers hop, hop - 1, ..., 1, one per round; a received cell peels hop 1, 2, ...
// one per round until a hop recognizes it. Then each item is completed and emitted in input
// order, with the REKEY(1) cells it made due. kOpen and kClose run the group first. Outputs
// equal the circuits' own, one cell at a time, byte for byte and in order, however the inputs
// are cut into batches (tests/pipeline_differential_test.cc).
#ifndef RELAYCELL_CIRCUIT_PIPELINE_CLIENT_PIPELINE_H_
#define RELAYCELL_CIRCUIT_PIPELINE_CLIENT_PIPELINE_H_

#include <array>
#include <cstddef>
#include <memory>
#include <cstdint>
#include <span>
#include <vector>

#include "circuit/pipeline/circuit_table.h"
#include "circuit/client_circuit.h"
#include "circuit/protocol_error.h"
#include "circuit/pipeline/shard.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/rekey/rekey_config.h"

namespace relaycell {

// What a kOpen item carries for a client circuit. All hops' seeds have one length; they must
// fit in a cell payload (4 + hops × length <= 509: aez up to 8 × 32 bytes, tor1 up to 7 hops).
struct ClientOpenParams {
  SuiteId suite = 0;                                    // a FindSuite id
  std::span<const std::span<const uint8_t>> hop_seeds;  // hop 1 first
};

bool EncodeClientOpen(uint32_t channel, uint32_t circ_id, const ClientOpenParams& params,
                      InCell& out);

struct ClientPipelineConfig {
  size_t max_circuits = 100000;
  RekeyConfig rekey{};
};

struct ClientPipelineCounters {
  uint64_t originated = 0;
  uint64_t delivered = 0;
  uint64_t control_cells = 0;  // REKEY(1) cells sent
  uint64_t ignored = 0;        // PADDING, REKEY ACKs
  uint64_t opened = 0;
  uint64_t open_failed = 0;
  uint64_t destroyed = 0;
  uint64_t unknown_circuit = 0;
  uint64_t originate_refused = 0;  // bad payload, REKEY header, no such hop
  uint64_t unsupported = 0;        // relay-only items (kAttachNext, kDetachNext)
  ProtocolErrorCounters errors;    // of the circuits closed so far
};

class ClientPipeline final : public ShardProcessor {
 public:
  explicit ClientPipeline(const ClientPipelineConfig& config);
  ~ClientPipeline() override;
  ClientPipeline(const ClientPipeline&) = delete;
  ClientPipeline& operator=(const ClientPipeline&) = delete;

  void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) override;

  const ClientPipelineCounters& counters() const { return counters_; }
  size_t open_circuits() const { return table_.size(); }
  ClientCircuit* Find(CircuitKey key);  // tests (RequestRekey), or nullptr

 private:
  struct Entry {
    ClientCircuit circuit;
    uint32_t channel = 0;
    uint32_t group = 0;  // == group_id_ while an item of this circuit is staged
  };
  // An item staged in the current group: screened, its layers running round by round.
  struct StagedItem {
    CircuitSlot slot;
    bool originate;   // a kOriginate; else a kCell from hop 1
    bool early;       // originate: RELAY_EARLY
    bool layered;     // the screen passed: the layers run, then the completing step
    bool recognized;  // receive: the last round's layer verdict
    uint8_t hops;     // the circuit's
    uint8_t hop;      // originate: the destination; receive: the hop that recognized it (0: none)
    uint8_t layer;    // the next layer to run (originate: down to 1; receive: up); 0: done
    OriginateError originate_error;  // originate: the screen's verdict
    CellResult result;               // receive: the screen's result when it is final
  };
  static constexpr size_t kGroupItems = LayerBatch::kCapacity;

  void Open(const InCell& in);
  void HostClose(const InCell& in, ShardOutput& out);
  CircuitSlot Lookup(const InCell& in);                        // counts unknown circuits
  bool AcceptOriginate(const Entry& entry, const InCell& in);  // counts refusals
  // Stage, run the layers round by round, complete and emit in order.
  void Stage(CircuitSlot slot, const InCell& in);
  void RunLayers();
  void RunGroup(ShardOutput& out);
  // What one item emits, from the cell in the pipeline's working copy.
  void EmitOriginated(CircuitSlot slot, OriginateError error, const WireCell& cell,
                      ShardOutput& out);
  void EmitReceived(CircuitSlot slot, const CellResult& result, const WireCell& cell,
                    ShardOutput& out);
  void PollControl(Entry& entry, ShardOutput& out);
  void Close(CircuitSlot slot, bool tell_peer, DestroyReason reason, ShardOutput& out);

  ClientPipelineConfig config_;
  CircuitTable table_;
  std::vector<Entry> circuits_;
  ClientPipelineCounters counters_;
  // Working copies of the cells (kGroupItems, allocated once): the output buffer may flush on
  // any Append, so no cell is worked on in place there.
  std::vector<WireCell> work_cells_;
  std::vector<StagedItem> group_;                                // reserved: never reallocates
  std::array<std::unique_ptr<LayerBatch>, kMaxSuites> batches_;  // by suite id
  uint32_t group_id_ = 1;  // a stale match after wrap-around only runs a group early
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PIPELINE_CLIENT_PIPELINE_H_
