// The sharded pipeline: N shard workers, each owning the circuits that hash to it.
//
//   host thread --Submit--> [SPSC in-queue]  -> worker i: processor_i.ProcessBatch -> ...
//   host thread <--Poll---- [SPSC out-queue] <- ...
//
// Routing: a cell for circuit (channel, circ_id) goes to shard ShardOf(key), a keyed hash of
// the key, so a peer cannot crowd its circuits onto one worker. One circuit -> one worker ->
// FIFO queues both ways: a circuit's cells stay in order end to end, and its state is touched
// by one thread only. A relay circuit has a key on each side; the relay chooses the circ_id of
// its outgoing side, so it picks one for which ShardOf agrees with the incoming side
// (PickCircIdForShard).
//
// Back-pressure, never loss: Submit accepts a prefix of its batch and says how long; the caller
// keeps the rest and retries after Poll. A worker whose out-queue is full waits for the host.
// Stop drains: every item accepted by Submit is processed and every output handed to the sink.
//
// Waiting: a host that can neither submit (a queue refused) nor poll (nothing came out) parks
// in WaitForProgress instead of spinning, so on a machine with no spare core it does not steal
// the workers' time; workers wake it only once a run of work is ready (host_wake_items).
//
// Threads: Submit, Poll, WaitForProgress and Stop are called from one host thread (the queues
// are SPSC).
#ifndef RELAYCELL_CIRCUIT_PIPELINE_SHARDED_PIPELINE_H_
#define RELAYCELL_CIRCUIT_PIPELINE_SHARDED_PIPELINE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "circuit/pipeline/circuit_table.h"
#include "circuit/pipeline/shard.h"

namespace relaycell {

struct ShardedPipelineConfig {
  size_t workers = 0;  // 0: one per hardware thread
  ShardConfig shard;
};

// Makes shard i's processor; called once per shard on the host thread, before workers start.
using ShardProcessorFactory = std::function<std::unique_ptr<ShardProcessor>(size_t shard)>;

class ShardedPipeline {
 public:
  ShardedPipeline(const ShardedPipelineConfig& config, const ShardProcessorFactory& make_processor);
  // Stops (discarding outputs nobody polled) if Stop was not called.
  ~ShardedPipeline();
  ShardedPipeline(const ShardedPipeline&) = delete;
  ShardedPipeline& operator=(const ShardedPipeline&) = delete;

  size_t workers() const { return shards_.size(); }
  size_t ShardOf(CircuitKey key) const {
    return static_cast<size_t>(
        (static_cast<unsigned __int128>(route_hash_(key)) * shards_.size()) >> 64);
  }
  // The first circ_id at or after `hint` (cyclically, skipping 0) whose circuit on `channel`
  // lands on `shard`, with its top bit forced to `high_bit` (0 or 0x80000000: Tor gives each
  // end of a channel one half of the id space). Each try succeeds with probability 1/workers;
  // the caller still checks that the id is free on the channel.
  uint32_t PickCircIdForShard(uint32_t channel, size_t shard, uint32_t hint,
                              uint32_t high_bit = 0) const;

  // Routes items to their shards in order. Returns n: items[0, n) were accepted, items[n, end)
  // were not (the first of them met a full queue) and must be submitted again later, in order.
  // Returns 0 after Stop.
  size_t Submit(std::span<const InCell> items);

  // Parks the host thread until waiting is over, or `timeout` passed (false). Waiting is over
  // when some worker has produced output (if the last Submit accepted everything), or (if it
  // refused an item) when the queue that refused has room for host_wake_items items, an
  // out-queue holds that many, or a worker has run out of input with output to hand over.
  // Meant for a host loop: Submit; Poll; if nothing was accepted and nothing polled, wait.
  // Returns true at once if that already holds, false at once after Stop.
  bool WaitForProgress(std::chrono::microseconds timeout);

  // Hands every output queued so far to sink(std::span<const OutItem>), shard by shard (order
  // across shards is arbitrary; within a circuit it is kept). Returns the number of items.
  template <class Sink>
  size_t Poll(Sink&& sink) {
    size_t total = 0;
    for (auto& shard : shards_) total += shard->Poll(sink);
    return total;
  }

  // Processes everything accepted so far, hands every output to sink, and joins the workers.
  template <class Sink>
  void Stop(Sink&& sink) {
    if (stopped_) return;
    stopped_ = true;
    for (auto& shard : shards_) shard->RequestStop();
    for (;;) {
      bool all_finished = true;
      for (auto& shard : shards_) all_finished &= shard->Finished();
      // Finished() is read before the last Poll, so outputs pushed before it are collected.
      const size_t polled = Poll(sink);
      if (all_finished) break;
      if (polled == 0) Park(HostWake::kDraining, kDrainWaitTimeout);
    }
    for (auto& shard : shards_) shard->Join();
  }
  bool stopped() const { return stopped_; }

  // Inputs waiting in all in-queues (a snapshot).
  size_t QueuedInputsApprox() const;
  ShardStats stats() const;  // summed over shards
  ShardStats shard_stats(size_t shard) const { return shards_[shard]->stats(); }
  // Shard i's processor, for inspection after Stop.
  ShardProcessor& processor(size_t shard) { return shards_[shard]->processor(); }

 private:
  static constexpr std::chrono::microseconds kDrainWaitTimeout{1000};
  // A shard's run of queue slots being filled by Submit (committed once per run, not per item).
  struct InputRun {
    std::span<InCell> room;
    size_t used = 0;
    bool committed = false;  // something was published: the worker needs a wake-up
  };

  bool Park(size_t want, std::chrono::microseconds timeout);

  const CircuitKeyHash route_hash_;  // its own seed: shard choice says nothing of table order
  HostWake host_wake_;               // before shards_: workers use it until they are joined
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<InputRun> runs_;                // per shard, during Submit
  size_t refused_by_ = HostWake::kAnyOutput;  // shard whose full queue refused the last Submit
  bool stopped_ = false;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PIPELINE_SHARDED_PIPELINE_H_
