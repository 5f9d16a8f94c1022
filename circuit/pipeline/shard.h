// One shard of a pipeline: a worker thread that alone owns a share of the
// circuits, fed by one SPSC queue from the host and answering on one SPSC queue to the host.
//
// The vocabulary of the engine lives here too: what goes in (InCell), what comes out
// (OutItem), and the ShardProcessor interface through which the real circuit code plugs in.
// Items are fixed-size plain structs so queues and batches are flat arrays: no allocation per
// cell anywhere between Submit and the host's sink.
#ifndef RELAYCELL_CIRCUIT_PIPELINE_SHARD_H_
#define RELAYCELL_CIRCUIT_PIPELINE_SHARD_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "circuit/cell.h"
#include "engine/common/byte_io.h"
#include "circuit/pipeline/spsc_queue.h"

namespace relaycell {

// A cell as on the wire (circuit/cell.h: circ_id u32 big-endian | command u8 | payload[509]),
// held by value so queues and batches are flat arrays. span() plugs it into circuit/cell.h's
// parsers and builders.
struct WireCell {
  std::array<uint8_t, kCellBytes> bytes{};

  WireCell() noexcept = default;
  WireCell(const WireCell& other) noexcept { CopyFrom(other); }
  WireCell& operator=(const WireCell& other) noexcept {
    CopyFrom(other);
    return *this;
  }
  // In 64-byte pieces (each a few vector moves): a plain struct copy of 514 bytes compiles to
  // `rep movsq`, whose start-up cost made the copies the pipeline's largest item.
  void CopyFrom(const WireCell& other) noexcept {
    constexpr size_t kPiece = 64, kPieces = kCellBytes / kPiece;
    for (size_t i = 0; i < kPieces; ++i) {
      std::memcpy(bytes.data() + i * kPiece, other.bytes.data() + i * kPiece, kPiece);
    }
    std::memcpy(bytes.data() + kPieces * kPiece, other.bytes.data() + kPieces * kPiece,
                kCellBytes - kPieces * kPiece);
  }

  CellBytes span() { return CellBytes(bytes); }
  ConstCellBytes span() const { return ConstCellBytes(bytes); }
  uint32_t circ_id() const { return LoadBe<uint32_t>(bytes, 0); }
  uint8_t command() const { return bytes[4]; }
  std::span<uint8_t, kCellBodyBytes> payload() { return CellPayload(span()); }
  std::span<const uint8_t, kCellBodyBytes> payload() const { return CellPayload(span()); }
};

// What the host hands the engine. Control items travel in the same queue as cells so that
// "open circuit, then its first cell" and "last cell, then close" keep their order.
enum class InKind : uint8_t {
  kCell = 0,    // `cell` arrived on `channel`
  kOpen,        // open circuit (channel, cell.circ_id()); cell.payload() carries the processor's
                // parameters (e.g. key seeds): the processor defines their layout
  kClose,       // close circuit (channel, cell.circ_id()) on the host's behalf; the payload may
                // say how (a relay's: EncodeRelayClose)
  kOriginate,   // send a cell of our own on circuit (channel, cell.circ_id()): cell.payload() is
                // the plaintext relay payload (the suite's layout), `hop` its destination
                // (client engines: 1..hops; relay engines: ignored, it goes towards the client),
                // cell.command() RELAY or RELAY_EARLY
  kAttachNext,  // relay: circuit (channel, cell.circ_id()), so far the last hop, gets a next
                // side carried in the payload (EncodeRelayAttachNext)
  kDetachNext,  // relay: circuit (channel, cell.circ_id()), by either key, loses its next side
                // and stays open as the last hop (EncodeRelayDetachNext)
};

struct InCell {
  uint32_t channel = 0;
  InKind kind = InKind::kCell;
  WireCell cell;
  uint8_t hop = 0;  // kOriginate only (sits in the struct's tail padding: no size change)
};

// Zeroes the payload of every kOpen item in `items`: those carry key seeds, which must not
// outlive their use in a queue slot or a host buffer. Other items are left alone (a kind
// byte's test each), so this is cheap to run over every batch.
void WipeKeyParameters(std::span<InCell> items);

// What the engine hands back.
enum class OutKind : uint8_t {
  kSend = 0,  // send `cell` on `channel`
  kDeliver,   // a cell for the host itself (recognized here) on circuit (channel, circ_id)
  kDestroy,   // the circuit (channel, cell.circ_id()) is gone; `cell` is the DESTROY to send
  kClosed,    // the circuit (channel, cell.circ_id()) is gone and nothing is owed to that side
              // (e.g. the peer's own DESTROY arrived there); `cell` is a DESTROY with the reason
  kNextDestroyed,  // relay: the next hop's DESTROY arrived; circuit (channel, cell.circ_id()),
                   // named by its client side, is open as the last hop. `cell` is a DESTROY
                   // with the next hop's reason (payload byte 0): originate TRUNCATED with it
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
  // The next `n` items (n <= capacity()), contiguous, to fill in place: a processor's batch
  // writes its cells straight into them. Emitted like n Appends.
  std::span<OutItem> AppendRun(size_t n) {
    if (buffer_.size() - count_ < n) flush_(*this);
    count_ += n;
    return {buffer_.data() + count_ - n, n};
  }
  // Takes back the last `n` items appended (at most what AppendRun gave, directly after it
  // or after Appends that filled in place): the processor emits them again later, one by one.
  void TakeBack(size_t n) { count_ -= n; }
  size_t capacity() const { return buffer_.size(); }

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
    if (self->keep_)
      self->items_.insert(self->items_.end(), out.buffer_.begin(),
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
    if (HasSleepers()) WakeAll();
  }
  // Notify in two halves, for a notifier that wakes only when the sleeper's condition holds:
  // publish the work, call HasSleepers() (the RMW above), and only if it is true read what the
  // sleeper published before sleeping (the RMW chain makes it visible) and call WakeAll().
  bool HasSleepers() { return sleepers_.fetch_add(0, std::memory_order_seq_cst) != 0; }
  void WakeAll() {
    std::lock_guard<std::mutex> lock(mutex_);
    condition_.notify_all();
  }
  // Returns ready()'s last value: false when the timeout passed first.
  template <class Ready>
  bool Wait(Ready ready, std::chrono::microseconds timeout) {
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    bool result;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      result = condition_.wait_for(lock, timeout, ready);
    }
    sleepers_.fetch_sub(1, std::memory_order_release);
    return result;
  }

 private:
  std::atomic<uint32_t> sleepers_{0};
  std::mutex mutex_;
  std::condition_variable condition_;
};

// Where the host thread parks when it can neither submit nor poll (ShardedPipeline::
// WaitForProgress), shared by the engine and its shards. Before sleeping the host publishes
// what it waits for in `want`; a worker, after each batch, wakes it only if its own queues now
// satisfy that (HostWantsWake), so a host parked on full queues is woken once per run of
// host_wake_items cells, not once per batch: on a machine with as many workers as cores each
// host wake-up preempts a worker.
struct HostWake {
  static constexpr size_t kAnyOutput = SIZE_MAX;     // nothing refused: any output will do
  static constexpr size_t kDraining = SIZE_MAX - 1;  // Stop: outputs in runs, or a worker done
  // Otherwise `want` is the index of the shard whose full in-queue refused the last Submit.
  std::atomic<size_t> want{kAnyOutput};
  WakeSignal signal;
};

struct ShardConfig {
  size_t queue_capacity = 1024;  // items per queue, each direction (rounded to a power of two)
  size_t max_batch = 64;         // inputs per ProcessBatch call
  size_t output_buffer = 64;     // outputs gathered before they are pushed to the host queue
  // A host parked in WaitForProgress on full queues is woken when the queue that refused it has
  // this much room, or an out-queue holds this many items (or a worker ran out of input).
  // 0: queue_capacity / 8, at least max_batch. Larger: fewer host wake-ups, later outputs.
  size_t host_wake_items = 0;
};

// Counters the worker publishes once per batch (relaxed: a snapshot for monitoring).
struct ShardStats {
  uint64_t inputs = 0;         // items processed
  uint64_t outputs = 0;        // items pushed to the host
  uint64_t batches = 0;        // ProcessBatch calls
  uint64_t output_stalls = 0;  // times the worker waited for the host to drain its queue
};

class Shard {
 public:
  // `host_wake` is the engine's, shared by its shards; it outlives the shard's worker.
  Shard(size_t index, std::unique_ptr<ShardProcessor> processor, const ShardConfig& config,
        HostWake& host_wake);
  ~Shard();  // joins the worker if the engine did not (queued outputs are then discarded)
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void Start();

  // ---- host thread only ----
  // Queues in place: up to `max` free slots, contiguous (empty when full); fill a prefix, then
  // CommitInputs(n) makes it visible to the worker.
  std::span<InCell> InputRoom(size_t max) { return input_.PeekWritable(max); }
  void CommitInputs(size_t n) { input_.Commit(n); }
  // Wakes the worker after a run of submissions.
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
  // Whether this shard's queues satisfy what a host waiting with HostWake::want == `want` waits
  // for. The worker asks it after each batch (to decide whether to wake the host), the host
  // before sleeping: both see the same queues, so a false here is followed by the worker's
  // next check, never by a silent change.
  bool HostWantsWake(size_t want) const;
  ShardStats stats() const;
  // For inspection when the worker is not running (before Start, after Join).
  ShardProcessor& processor() { return *processor_; }

 private:
  void Run();
  static void FlushOutput(ShardOutput& out);
  void PushOutputs(ShardOutput& out);
  void ReportProgress();  // worker: wake a parked host if it waits for what just happened

  const size_t index_;
  const size_t max_batch_;
  const size_t host_wake_items_;
  const std::unique_ptr<ShardProcessor> processor_;
  SpscQueue<InCell> input_;
  SpscQueue<OutItem> output_;
  ShardOutput pending_;
  WakeSignal work_signal_;  // host -> worker: input queued or stop requested
  WakeSignal room_signal_;  // host -> worker: output queue drained
  HostWake& host_wake_;     // worker -> host: progress (the engine's, shared by all shards)
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> inputs_{0}, outputs_{0}, batches_{0}, output_stalls_{0};
  std::thread worker_;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PIPELINE_SHARD_H_
