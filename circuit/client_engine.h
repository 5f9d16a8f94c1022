// The client side of the batched engine: a ShardProcessor that owns many ClientCircuits, keyed
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
#ifndef RELAYCELL_CIRCUIT_CLIENT_ENGINE_H_
#define RELAYCELL_CIRCUIT_CLIENT_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "circuit/circuit_table.h"
#include "circuit/client_circuit.h"
#include "circuit/protocol_error.h"
#include "circuit/shard.h"
#include "engine/cell_suite.h"
#include "engine/rekey_config.h"

namespace relaycell {

// What a kOpen item carries for a client circuit. All hops' seeds have one length; they must
// fit in a cell payload (4 + hops × length <= 509: aez up to 8 × 32 bytes, tor1 up to 7 hops).
struct ClientOpenParams {
  CellSuiteKind suite = CellSuiteKind::kAez;
  std::span<const std::span<const uint8_t>> hop_seeds;  // hop 1 first
};

bool EncodeClientOpen(uint32_t channel, uint32_t circ_id, const ClientOpenParams& params,
                      InCell& out);

struct ClientEngineConfig {
  size_t max_circuits = 100000;
  RekeyConfig rekey{};
};

struct ClientEngineCounters {
  uint64_t originated = 0;
  uint64_t delivered = 0;
  uint64_t control_cells = 0;      // REKEY(1) cells sent
  uint64_t ignored = 0;            // PADDING, REKEY ACKs
  uint64_t opened = 0;
  uint64_t open_failed = 0;
  uint64_t destroyed = 0;
  uint64_t unknown_circuit = 0;
  uint64_t originate_refused = 0;  // bad payload, REKEY header, no such hop
  ProtocolErrorCounters errors;    // of the circuits closed so far
};

class ClientEngine final : public ShardProcessor {
 public:
  explicit ClientEngine(const ClientEngineConfig& config);
  ~ClientEngine() override;
  ClientEngine(const ClientEngine&) = delete;
  ClientEngine& operator=(const ClientEngine&) = delete;

  void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) override;

  const ClientEngineCounters& counters() const { return counters_; }
  size_t open_circuits() const { return table_.size(); }
  ClientCircuit* Find(CircuitKey key);  // tests (RequestRekey), or nullptr

 private:
  struct Entry {
    ClientCircuit circuit;
    uint32_t channel = 0;
  };
  void Open(const InCell& in);
  void Originate(const InCell& in, ShardOutput& out);
  void Receive(const InCell& in, ShardOutput& out);
  void PollControl(Entry& entry, ShardOutput& out);
  void Close(CircuitSlot slot, bool tell_peer, DestroyReason reason, ShardOutput& out);

  ClientEngineConfig config_;
  CircuitTable table_;
  std::vector<Entry> circuits_;
  ClientEngineCounters counters_;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_CLIENT_ENGINE_H_
