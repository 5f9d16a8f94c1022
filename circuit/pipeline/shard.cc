#include "circuit/pipeline/shard.h"

#include <immintrin.h>
#include <sodium.h>

#include <algorithm>
#include <bit>

namespace relaycell {
namespace {

// Spin this many times on an empty queue before sleeping: long enough to catch the next batch
// of a busy relay without a syscall, short enough not to steal a shared core (~5 us on Zen 3).
constexpr int kSpinsBeforeSleep = 256;
constexpr std::chrono::microseconds kSleepTimeout{1000};

// Between 1 and the queue's capacity: a parked host must be wakeable by a full queue.
size_t HostWakeItems(const ShardConfig& config) {
  const size_t capacity = std::bit_ceil(std::max<size_t>(config.queue_capacity, 2));
  const size_t wanted = config.host_wake_items != 0
                            ? config.host_wake_items
                            : std::max(capacity / 8, std::max<size_t>(config.max_batch, 1));
  return std::clamp<size_t>(wanted, 1, capacity);
}

}  // namespace

void WipeKeyParameters(std::span<InCell> items) {
  for (InCell& item : items) {
    if (item.kind == InKind::kOpen) sodium_memzero(item.cell.payload().data(), kCellBodyBytes);
  }
}

Shard::Shard(size_t index, std::unique_ptr<ShardProcessor> processor, const ShardConfig& config,
             HostWake& host_wake)
    : index_(index),
      max_batch_(std::max<size_t>(config.max_batch, 1)),
      host_wake_items_(HostWakeItems(config)),
      processor_(std::move(processor)),
      input_(config.queue_capacity),
      output_(config.queue_capacity),
      pending_(std::max<size_t>(config.output_buffer, 1), &Shard::FlushOutput, this),
      host_wake_(host_wake) {}

Shard::~Shard() {
  if (worker_.joinable()) {
    RequestStop();
    // Nobody polls any more: discard outputs so the worker can finish and be joined.
    while (!Finished()) {
      Poll([](std::span<const OutItem>) {});
      std::this_thread::yield();
    }
    Join();
  }
}

void Shard::Start() {
  worker_ = std::thread([this] { Run(); });
}

void Shard::RequestStop() {
  stop_requested_.store(true, std::memory_order_release);
  work_signal_.Notify();
}

void Shard::Join() {
  if (worker_.joinable()) worker_.join();
}

ShardStats Shard::stats() const {
  return ShardStats{
      inputs_.load(std::memory_order_relaxed), outputs_.load(std::memory_order_relaxed),
      batches_.load(std::memory_order_relaxed), output_stalls_.load(std::memory_order_relaxed)};
}

bool Shard::HostWantsWake(size_t want) const {
  const size_t out = output_.SizeApprox();
  if (want == HostWake::kAnyOutput) return out > 0;
  const size_t in = input_.SizeApprox();
  // Enough output to be worth a wake-up, or all this worker will give until fed again.
  if (out >= host_wake_items_ || (in == 0 && out > 0)) return true;
  return want == index_ && input_.capacity() - in >= host_wake_items_;
}

void Shard::ReportProgress() {
  // One RMW when the host is not parked (the busy case).
  if (!host_wake_.signal.HasSleepers()) return;
  if (HostWantsWake(host_wake_.want.load(std::memory_order_relaxed))) host_wake_.signal.WakeAll();
}

void Shard::FlushOutput(ShardOutput& out) { static_cast<Shard*>(out.owner_)->PushOutputs(out); }

// Pushes every pending output, in order, waiting as long as the host leaves the queue full.
void Shard::PushOutputs(ShardOutput& out) {
  std::span<const OutItem> rest = out.pending();
  while (!rest.empty()) {
    const size_t pushed = output_.TryPushBatch(rest);
    rest = rest.subspan(pushed);
    if (rest.empty()) break;
    output_stalls_.fetch_add(1, std::memory_order_relaxed);
    ReportProgress();  // a full out-queue is what a parked host waits for
    room_signal_.Wait([&] { return output_.SizeApprox() < output_.capacity(); }, kSleepTimeout);
  }
  outputs_.fetch_add(out.count_, std::memory_order_relaxed);
  out.count_ = 0;
}

void Shard::Run() {
  int idle_spins = 0;
  for (;;) {
    std::span<InCell> batch = input_.PeekReadable(max_batch_);
    if (batch.empty()) {
      // Outputs of the last batch are already pushed: an idle worker holds nothing back.
      if (stop_requested_.load(std::memory_order_acquire)) {
        // Everything the host queued before asking us to stop is visible now; drain it.
        if (input_.PeekReadable(1).empty()) break;
        continue;
      }
      if (++idle_spins < kSpinsBeforeSleep) {
        _mm_pause();
        continue;
      }
      idle_spins = 0;
      work_signal_.Wait(
          [&] { return !input_.EmptyApprox() || stop_requested_.load(std::memory_order_acquire); },
          kSleepTimeout);
      continue;
    }
    idle_spins = 0;
    processor_->ProcessBatch(batch, pending_);
    WipeKeyParameters(batch);  // the slots go back to the host with no seed in them
    // Outputs first: a host that sees the inputs gone also sees what they produced.
    PushOutputs(pending_);
    input_.Consume(batch.size());
    inputs_.fetch_add(batch.size(), std::memory_order_relaxed);
    batches_.fetch_add(1, std::memory_order_relaxed);
    ReportProgress();
  }
  finished_.store(true, std::memory_order_release);
  // Unconditional: whether the host waits for *every* worker to finish is known only to it.
  if (host_wake_.signal.HasSleepers()) host_wake_.signal.WakeAll();
}

}  // namespace relaycell
