#include "circuit/pipeline/sharded_pipeline.h"

#include <algorithm>

namespace relaycell {

ShardedPipeline::ShardedPipeline(const ShardedPipelineConfig& config,
                                 const ShardProcessorFactory& make_processor) {
  size_t workers = config.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  shards_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, make_processor(i), config.shard, host_wake_));
  }
  runs_.resize(workers);
  // Start only once every shard exists: a failing factory leaves no thread behind.
  for (auto& shard : shards_) shard->Start();
}

ShardedPipeline::~ShardedPipeline() {
  if (!stopped_) Stop([](std::span<const OutItem>) {});
}

uint32_t ShardedPipeline::PickCircIdForShard(uint32_t channel, size_t shard, uint32_t hint,
                                             uint32_t high_bit) const {
  high_bit &= 0x80000000u;
  for (uint32_t low = hint & 0x7FFFFFFFu;; low = (low + 1) & 0x7FFFFFFFu) {
    const uint32_t id = low | high_bit;
    if (id != 0 && ShardOf(CircuitKey{channel, id}) == shard) return id;
  }
}

size_t ShardedPipeline::Submit(std::span<const InCell> items) {
  if (stopped_) return 0;
  refused_by_ = HostWake::kAnyOutput;
  size_t accepted = 0;
  for (const InCell& item : items) {
    const size_t s = ShardOf(CircuitKey{item.channel, item.cell.circ_id()});
    InputRun& run = runs_[s];
    if (run.used == run.room.size()) {  // this shard's run is full (or not opened yet)
      if (run.used != 0) shards_[s]->CommitInputs(run.used), run.committed = true;
      run.room = shards_[s]->InputRoom(items.size() - accepted);
      run.used = 0;
      if (run.room.empty()) {
        refused_by_ = s;
        break;
      }
    }
    run.room[run.used++] = item;
    ++accepted;
  }
  // Publish what is left of each run, and one wake-up per shard per call, not per cell.
  for (size_t s = 0; s < shards_.size(); ++s) {
    InputRun& run = runs_[s];
    if (run.used != 0) shards_[s]->CommitInputs(run.used), run.committed = true;
    if (run.committed) shards_[s]->NotifyWork();
    run = InputRun{};
  }
  return accepted;
}

bool ShardedPipeline::WaitForProgress(std::chrono::microseconds timeout) {
  if (stopped_) return false;
  return Park(refused_by_, timeout);
}

bool ShardedPipeline::Park(size_t want, std::chrono::microseconds timeout) {
  // Published before the signal's RMW: a worker that sees us asleep reads it after its own.
  host_wake_.want.store(want, std::memory_order_relaxed);
  return host_wake_.signal.Wait(
      [&] {
        bool all_finished = true;
        for (const auto& shard : shards_) {
          if (shard->HostWantsWake(want)) return true;
          all_finished &= shard->Finished();
        }
        return want == HostWake::kDraining && all_finished;
      },
      timeout);
}

size_t ShardedPipeline::QueuedInputsApprox() const {
  size_t total = 0;
  for (const auto& shard : shards_) total += shard->QueuedInputsApprox();
  return total;
}

ShardStats ShardedPipeline::stats() const {
  ShardStats total;
  for (const auto& shard : shards_) {
    const ShardStats s = shard->stats();
    total.inputs += s.inputs;
    total.outputs += s.outputs;
    total.batches += s.batches;
    total.output_stalls += s.output_stalls;
  }
  return total;
}

}  // namespace relaycell
