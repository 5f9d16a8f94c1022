// The relay's cell engine as its network host sees it: the batched relay pipeline, either on
// shard workers (ShardedPipeline, `workers` >= 1) or run on the network thread itself
// (workers == 0: no hand-over, for small machines and tests). The host queues inputs while it
// reads a link, hands them over at the end of the read (Flush), and collects outputs (Poll).
//
//   engine.Queue(in);  ...  engine.Flush();
//   engine.Poll([&](std::span<const OutItem> items) { ... });
//
// Inputs the shards' queues refused stay queued here, in order, and go out at the next Flush:
// nothing is dropped. Threads: the network thread only.
#ifndef RELAYCELL_NET_RELAY_RELAY_CELL_ENGINE_H_
#define RELAYCELL_NET_RELAY_RELAY_CELL_ENGINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/pipeline/shard.h"
#include "circuit/pipeline/sharded_pipeline.h"

namespace relaycell::net {

class RelayCellEngine {
 public:
  using Sink = std::function<void(std::span<const OutItem>)>;

  RelayCellEngine(size_t workers, const RelayPipelineConfig& config);
  ~RelayCellEngine();

  void Queue(const InCell& in) { QueueSlot() = in; }
  // A slot at the end of the queue, to fill in place (a kOpen's seed is written only there).
  InCell& QueueSlot();
  void DropLastQueued();
  // Hands queued inputs to the engine. Inline: processes them now (outputs wait for Poll).
  void Flush();
  // Every output so far, to `sink`. Returns the count.
  size_t Poll(const Sink& sink);
  // Inputs still held here or in the shards' queues: the host keeps polling while true.
  bool Busy() const;

  // A circ_id for the next side of circuit `client_key` on `next_channel`, chosen so both of
  // the circuit's keys land on one shard; `hint` is where the search starts.
  uint32_t PickNextCircId(CircuitKey client_key, uint32_t next_channel, uint32_t hint,
                          uint32_t high_bit) const;

  // Processes everything and stops the workers; outputs go to `sink`.
  void Stop(const Sink& sink);
  // Drops the inputs queued here and not yet handed over, zeroing their seeds first; returns
  // how many. The destructor runs it, so an engine torn down without Stop frees no seed.
  size_t DiscardQueued();

  bool sharded() const { return sharded_ != nullptr; }
  size_t workers() const { return sharded_ ? sharded_->workers() : 0; }
  // Summed counters, any time. The sharded engine's, while it runs, are the headline ones
  // its workers published after their last batch (RelayPipeline::published_counters).
  RelayPipelineCounters counters();

 private:
  std::vector<InCell> pending_;
  std::unique_ptr<ShardedPipeline> sharded_;
  std::unique_ptr<RelayPipeline> inline_;
  std::unique_ptr<DirectOutput> inline_out_;
  std::vector<OutItem> poll_buffer_;  // inline: outputs handed to the sink (capacity reused)
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_RELAY_RELAY_CELL_ENGINE_H_
