#include "circuit/sharded_engine.h"

#include <algorithm>

namespace relaycell {

ShardedEngine::ShardedEngine(const EngineConfig& config,
                             const ShardProcessorFactory& make_processor) {
  size_t workers = config.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
  shards_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, make_processor(i), config.shard));
  }
  touched_.assign(workers, 0);
  // Start only once every shard exists: a failing factory leaves no thread behind.
  for (auto& shard : shards_) shard->Start();
}

ShardedEngine::~ShardedEngine() {
  if (!stopped_) Stop([](std::span<const OutItem>) {});
}

uint32_t ShardedEngine::PickCircIdForShard(uint32_t channel, size_t shard, uint32_t hint,
                                           uint32_t high_bit) const {
  high_bit &= 0x80000000u;
  for (uint32_t low = hint & 0x7FFFFFFFu;; low = (low + 1) & 0x7FFFFFFFu) {
    const uint32_t id = low | high_bit;
    if (id != 0 && ShardOf(CircuitKey{channel, id}) == shard) return id;
  }
}

size_t ShardedEngine::Submit(std::span<const InCell> items) {
  if (stopped_) return 0;
  size_t accepted = 0;
  for (const InCell& item : items) {
    const size_t shard = ShardOf(CircuitKey{item.channel, item.cell.circ_id()});
    if (!shards_[shard]->TrySubmit(item)) break;
    touched_[shard] = 1;
    ++accepted;
  }
  // One wake-up per shard per call, not per cell.
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (touched_[i]) shards_[i]->NotifyWork(), touched_[i] = 0;
  }
  return accepted;
}

size_t ShardedEngine::QueuedInputsApprox() const {
  size_t total = 0;
  for (const auto& shard : shards_) total += shard->QueuedInputsApprox();
  return total;
}

ShardStats ShardedEngine::stats() const {
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
