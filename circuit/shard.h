// One shard of the batched relay engine: a worker thread that alone owns a share of the
// circuits, fed by one SPSC queue from the host and answering on one SPSC queue to the host.
//
// The vocabulary of the engine lives here too: what goes in (InCell), what comes out
// (OutItem), and the ShardProcessor interface through which the real circuit code plugs in.
// Items are fixed-size plain structs so queues and batches are flat arrays: no allocation per
// cell anywhere between Submit and the host's sink.
#ifndef RELAYCELL_CIRCUIT_SHARD_H_
#define RELAYCELL_CIRCUIT_SHARD_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "circuit/cell.h"
#include "circuit/spsc_queue.h"

namespace relaycell {

// A cell as on the wire (circuit/cell.h: circ_id u32 big-endian | command u8 | payload[509]),
// held by value so queues and batches are flat arrays. span() plugs it into circuit/cell.h's
// parsers and builders.
struct WireCell {
  std::array<uint8_t, kCellBytes> bytes{};

  CellBytes span() { return CellBytes(bytes); }
  ConstCellBytes span() const { return ConstCellBytes(bytes); }
  uint32_t circ_id() const {
    return uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 | uint32_t{bytes[2]} << 8 |
           bytes[3];
  }
  uint8_t command() const { return bytes[4]; }
  std::span<uint8_t, kCellBodyBytes> payload() { return CellPayload(span()); }
  std::span<const uint8_t, kCellBodyBytes> payload() const { return CellPayload(span()); }
};

// What the host hands the engine. Control items travel in the same queue as cells so that
// "open circuit, then its first cell" and "last cell, then close" keep their order.
enum class InKind : uint8_t {
  kCell = 0,  // `cell` arrived on `channel`
  kOpen,      // open circuit (channel, cell.circ_id()); cell.payload() carries the processor's
              // parameters (e.g. key seeds): the processor defines their layout
  kClose,     // close circuit (channel, cell.circ_id()) on the host's behalf
  kOriginate, // send a cell of our own on circuit (channel, cell.circ_id()): cell.payload() is
              // the plaintext relay payload (the suite's layout), `hop` its destination
              // (client engines: 1..hops; relay engines: ignored, it goes towards the client),
              // cell.command() RELAY or RELAY_EARLY
};

struct InCell {
  uint32_t channel = 0;
  InKind kind = InKind::kCell;
  WireCell cell;
  uint8_t hop = 0;  // kOriginate only (sits in the struct's tail padding: no size change)
};

// What the engine hands back.
enum class OutKind : uint8_t {
  kSend = 0,  // send `cell` on `channel`
  kDeliver,   // a cell for the host itself (recognized here) on circuit (channel, circ_id)
  kDestroy,   // the circuit (channel, cell.circ_id()) is gone; `cell` is the DESTROY to send
  kClosed,    // the circuit (channel, cell.circ_id()) is gone and nothing is owed to that side
              // (e.g. the peer's own DESTROY arrived there); `cell` is a DESTROY with the reason
};

struct OutItem {
  uint32_t channel = 0;
  OutKind kind = OutKind::kSend;
  WireCell cell;
  uint8_t hop = 0;  // kDeliver at a client: the hop (1-based) the cell came from
};

// A worker-side output buffer. The processor appends; when the buffer is full it is flushed to
// the host's queue, waiting for room if the host is slow (back-pressure reaches the worker,
// nothing is dropped). Any number of items may be appended per input.
class ShardOutput {
 public:
  // The next item to fill in place; it is emitted as soon as Append is called.
  OutItem& Append() {
    if (count_ == buffer_.size()) flush_(*this);
    return buffer_[count_++];
  }
  void Emit(const OutItem& item) { Append() = item; }
  // Takes back the item the last Append returned (a processor that filled it in place and
  // then found nothing to send). Only directly after that Append.
  void DropLast() { --count_; }

 private:
  friend class Shard;
  friend class DirectOutput;
  using FlushFn = void (*)(ShardOutput&);
  ShardOutput(size_t capacity, FlushFn flush, void* owner)
      : buffer_(capacity), flush_(flush), owner_(owner) {}
  std::span<const OutItem> pending() const { return {buffer_.data(), count_}; }

  std::vector<OutItem> buffer_;
  size_t count_ = 0;
  FlushFn flush_;
  void* owner_;
};

// A ShardOutput without a worker thread, for running a processor directly (tests, fuzzers,
// benchmarks, single-threaded hosts). Outputs gather in items() (or are only counted, when
// `keep` is false: a benchmark's sink).
class DirectOutput {
 public:
  explicit DirectOutput(bool keep = true, size_t buffer = 64)
      : out_(buffer, &Flush, this), keep_(keep) {}
  DirectOutput(const DirectOutput&) = delete;
  DirectOutput& operator=(const DirectOutput&) = delete;

  ShardOutput& output() { return out_; }
  // Every output so far, in order (flushes the buffer first).
  const std::vector<OutItem>& items() {
    Flush(out_);
    return items_;
  }
  uint64_t count() {
    Flush(out_);
    return count_;
  }
  void Clear() {
    Flush(out_);
    items_.clear();
  }

 private:
  static void Flush(ShardOutput& out) {
    auto* self = static_cast<DirectOutput*>(out.owner_);
    if (self->keep_) self->items_.insert(self->items_.end(), out.buffer_.begin(),
                                         out.buffer_.begin() + std::ptrdiff_t(out.count_));
    self->count_ += out.count_;
    out.count_ = 0;
  }

  ShardOutput out_;
  bool keep_;
  std::vector<OutItem> items_;
  uint64_t count_ = 0;
};

// The per-shard work. One instance per shard, created by the host before the worker starts,
// then called only from that shard's worker thread: it owns its circuits alone, no locks.
class ShardProcessor {
 public:
  virtual ~ShardProcessor() = default;
  // Processes a batch in order. `batch` points into the input ring and is valid only during
  // the call. Each input leads to zero or more outputs; an input the processor cannot use
  // (unknown circuit, protocol error) must be counted by it, never silently ignored.
  virtual void ProcessBatch(std::span<const InCell> batch, ShardOutput& out) = 0;
};

// Parks a thread until another says there is work, without a syscall when nobody sleeps.
// Wake-ups are never lost: the waiter announces itself with an RMW on `sleepers_`, then
// re-checks its condition; the notifier publishes its work, then reads `sleepers_` with an RMW.
// RMWs on one atomic are totally ordered and each reads the latest value, so either the
// notifier sees the sleeper, or the sleeper's RMW comes after the notifier's and then (acquire
// on release) sees the work. The timeout is a second line of defence, not the mechanism.
class WakeSignal {
 public:
  void Notify() {
    if (sleepers_.fetch_add(0, std::memory_order_seq_cst) == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    condition_.notify_all();
  }
  template <class Ready>
  void Wait(Ready ready, std::chrono::microseconds timeout) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      condition_.wait_for(lock, timeout, ready);
    }
    sleepers_.fetch_sub(1, std::memory_order_release);
  }

 private:
  std::atomic<uint32_t> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable condition_;
};

struct ShardConfig {
  size_t queue_capacity = 1024;  // items per queue, each direction (rounded to a power of two)
  size_t max_batch = 64;         // inputs per ProcessBatch call
  size_t output_buffer = 64;     // outputs gathered before they are pushed to the host queue
};

// Counters the worker publishes once per batch (relaxed: a snapshot for monitoring).
struct ShardStats {
  uint64_t inputs = 0;          // items processed
  uint64_t outputs = 0;         // items pushed to the host
  uint64_t batches = 0;         // ProcessBatch calls
  uint64_t output_stalls = 0;   // times the worker waited for the host to drain its queue
};

class Shard {
 public:
  Shard(size_t index, std::unique_ptr<ShardProcessor> processor, const ShardConfig& config);
  ~Shard();  // joins the worker if the engine did not (queued outputs are then discarded)
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void Start();

  // ---- host thread only ----
  // Queues one item; false when the queue is full (back-pressure).
  bool TrySubmit(const InCell& item) { return input_.TryPush(item); }
  // Wakes the worker after a run of TrySubmit calls.
  void NotifyWork() { work_signal_.Notify(); }
  // Hands every queued output to sink(std::span<const OutItem>) in order; returns how many.
  template <class Sink>
  size_t Poll(Sink&& sink) {
    size_t total = 0;
    for (std::span<OutItem> run = output_.PeekReadable(output_.capacity()); !run.empty();
         run = output_.PeekReadable(output_.capacity())) {
      sink(std::span<const OutItem>(run));
      output_.Consume(run.size());
      total += run.size();
    }
    if (total > 0) room_signal_.Notify();
    return total;
  }
  // Asks the worker to finish everything queued so far and exit. Submit nothing after this.
  void RequestStop();
  // The worker has processed its whole input queue, pushed every output and exited.
  bool Finished() const { return finished_.load(std::memory_order_acquire); }
  void Join();

  size_t index() const { return index_; }
  size_t QueuedInputsApprox() const { return input_.SizeApprox(); }
  ShardStats stats() const;
  // For inspection when the worker is not running (before Start, after Join).
  ShardProcessor& processor() { return *processor_; }

 private:
  void Run();
  static void FlushOutput(ShardOutput& out);
  void PushOutputs(ShardOutput& out);

  const size_t index_;
  const size_t max_batch_;
  const std::unique_ptr<ShardProcessor> processor_;
  SpscQueue<InCell> input_;
  SpscQueue<OutItem> output_;
  ShardOutput pending_;
  WakeSignal work_signal_;  // host -> worker: input queued or stop requested
  WakeSignal room_signal_;  // host -> worker: output queue drained
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> inputs_{0}, outputs_{0}, batches_{0}, output_stalls_{0};
  std::thread worker_;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_SHARD_H_
