#include "net/relay/relay_cell_engine.h"

#include <algorithm>
#include <utility>

namespace relaycell::net {

RelayCellEngine::RelayCellEngine(size_t workers, const RelayPipelineConfig& config) {
  pending_.reserve(256);
  if (workers == 0) {
    inline_ = std::make_unique<RelayPipeline>(config);
    inline_out_ = std::make_unique<DirectOutput>(/*keep=*/true, /*buffer=*/256);
    return;
  }
  ShardedPipelineConfig sharded;
  sharded.workers = workers;
  sharded_ = std::make_unique<ShardedPipeline>(sharded, [config](size_t) {
    return std::unique_ptr<ShardProcessor>(new RelayPipeline(config));
  });
}

RelayCellEngine::~RelayCellEngine() { DiscardQueued(); }

size_t RelayCellEngine::DiscardQueued() {
  const size_t dropped = pending_.size();
  WipeKeyParameters(pending_);
  pending_.clear();
  return dropped;
}

void RelayCellEngine::Flush() {
  if (pending_.empty()) return;
  if (inline_) {
    inline_->ProcessBatch(pending_, inline_out_->output());
    WipeKeyParameters(pending_);
    pending_.clear();
    return;
  }
  // The accepted prefix is copied into the rings; the rest moves to the front. Every slot
  // left behind (the prefix, or a moved item's old place) loses its seed before it is vacated.
  const size_t accepted = sharded_->Submit(pending_);
  const std::span<InCell> all(pending_);
  WipeKeyParameters(all.first(accepted));
  std::copy(all.begin() + std::ptrdiff_t(accepted), all.end(), all.begin());
  WipeKeyParameters(all.last(std::min(accepted, all.size() - accepted)));
  pending_.resize(all.size() - accepted);
}

InCell& RelayCellEngine::QueueSlot() {
  if (pending_.size() == pending_.capacity()) {
    // Growing by hand, not by the vector: its reallocation frees the old buffer, seeds and all.
    std::vector<InCell> bigger;
    bigger.reserve(2 * pending_.capacity() + 1);
    bigger.assign(pending_.begin(), pending_.end());
    WipeKeyParameters(pending_);
    pending_.swap(bigger);
  }
  return pending_.emplace_back();
}

void RelayCellEngine::DropLastQueued() {
  WipeKeyParameters(std::span<InCell>(pending_).last(1));
  pending_.pop_back();
}

size_t RelayCellEngine::Poll(const Sink& sink) {
  if (inline_) {
    const auto& items = inline_out_->items();
    const size_t n = items.size();
    if (n != 0) {
      // The sink may queue new inputs (e.g. an originated reply); they run at the next Flush.
      poll_buffer_.assign(items.begin(), items.end());
      inline_out_->Clear();
      sink(poll_buffer_);
    }
    return n;
  }
  Flush();
  return sharded_->Poll([&](std::span<const OutItem> items) { sink(items); });
}

bool RelayCellEngine::Busy() const {
  if (!pending_.empty()) return true;
  return sharded_ != nullptr && sharded_->QueuedInputsApprox() != 0;
}

uint32_t RelayCellEngine::PickNextCircId(CircuitKey client_key, uint32_t next_channel,
                                         uint32_t hint, uint32_t high_bit) const {
  if (!sharded_) {
    uint32_t id = (hint & 0x7fffffffu) | high_bit;
    if ((id & 0x7fffffffu) == 0) id |= 1;
    return id;
  }
  return sharded_->PickCircIdForShard(next_channel, sharded_->ShardOf(client_key), hint, high_bit);
}

void RelayCellEngine::Stop(const Sink& sink) {
  Flush();
  if (inline_) {
    Poll(sink);
    return;
  }
  while (!pending_.empty()) {
    Poll(sink);
    Flush();
  }
  sharded_->Stop([&](std::span<const OutItem> items) { sink(items); });
}

RelayPipelineCounters RelayCellEngine::counters() {
  if (inline_) return inline_->counters();
  // While the workers run, what each published after its last batch; after Stop, everything.
  const bool running = !sharded_->stopped();
  RelayPipelineCounters sum;
  for (size_t i = 0; i < sharded_->workers(); ++i) {
    const auto& pipeline = static_cast<const RelayPipeline&>(sharded_->processor(i));
    const RelayPipelineCounters c = running ? pipeline.published_counters() : pipeline.counters();
    for (uint64_t RelayPipelineCounters::*field : kPublishedCounters) sum.*field += c.*field;
  }
  return sum;
}

}  // namespace relaycell::net
