// A bounded single-producer / single-consumer ring: the only channel between the host thread and
// one shard worker, in each direction.
//
// Lock-free: the producer owns `tail_`, the consumer owns `head_`; each publishes its index with
// a release store and reads the other's with an acquire load, and only when its cached copy of
// that index says the ring looks full (producer) or empty (consumer), so the two cores touch
// each other's cache line about once per batch, not once per item.
//
// Bounded by design: the capacity is fixed at construction (rounded up to a power of two) and
// the ring never grows. A full ring is back-pressure: TryPush fails and the producer decides
// what to do; nothing is dropped. Indices count up forever (64 bits do not wrap in practice),
// so `tail_ - head_` is the fill level and no slot is sacrificed to tell full from empty.
//
// Besides copy-in/copy-out (TryPush/TryPop and their batch forms), each side can work in the
// ring's memory directly: the consumer reads a contiguous run of items with PeekReadable() and
// releases it with Consume(); the producer fills a run from PeekWritable() and publishes it with
// Commit(). The sharded engine processes cells in place this way (one copy fewer per cell).
#ifndef RELAYCELL_CIRCUIT_PIPELINE_SPSC_QUEUE_H_
#define RELAYCELL_CIRCUIT_PIPELINE_SPSC_QUEUE_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

namespace relaycell {

// Indices live 128 bytes apart: x86 prefetchers pull cache lines in adjacent pairs, so 64 bytes
// of padding still lets the producer's and the consumer's lines ping-pong together.
inline constexpr size_t kQueueIndexPadding = 128;

template <class T>
class SpscQueue {
  static_assert(std::is_nothrow_default_constructible_v<T>);
  static_assert(std::is_nothrow_copy_assignable_v<T>);

 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscQueue(size_t capacity)
      : mask_(std::bit_ceil(std::max<size_t>(capacity, 2)) - 1),
        slots_(std::make_unique<T[]>(mask_ + 1)) {}
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // ---- producer side (one thread) ----

  bool TryPush(const T& item) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - producer_head_cache_ > mask_) {
      producer_head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - producer_head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Pushes a prefix of `items`; returns its length (0 when full). Publishes once.
  size_t TryPushBatch(std::span<const T> items) {
    std::span<T> room = PeekWritable(items.size());
    size_t done = 0;
    while (!room.empty()) {  // at most two runs: up to the ring's end, then from its start
      std::copy_n(items.begin() + done, room.size(), room.begin());
      done += room.size();
      Commit(room.size());
      room = PeekWritable(items.size() - done);
    }
    return done;
  }

  // A contiguous run of at most `max` free slots (empty when full). The producer fills it and
  // calls Commit(n) with n <= its size; until then the consumer cannot see those slots.
  std::span<T> PeekWritable(size_t max) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    size_t free = capacity() - (tail - producer_head_cache_);
    if (free < max) {
      producer_head_cache_ = head_.load(std::memory_order_acquire);
      free = capacity() - (tail - producer_head_cache_);
    }
    const size_t index = tail & mask_;
    const size_t run = std::min({max, free, capacity() - index});
    return {slots_.get() + index, run};
  }
  void Commit(size_t n) {
    tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  // ---- consumer side (one thread) ----

  bool TryPop(T& item) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == consumer_tail_cache_) {
      consumer_tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == consumer_tail_cache_) return false;
    }
    item = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Pops into a prefix of `items`; returns its length (0 when empty). Releases once per run.
  size_t TryPopBatch(std::span<T> items) {
    std::span<T> run = PeekReadable(items.size());
    size_t done = 0;
    while (!run.empty()) {
      std::copy_n(run.begin(), run.size(), items.begin() + done);
      done += run.size();
      Consume(run.size());
      run = PeekReadable(items.size() - done);
    }
    return done;
  }

  // A contiguous run of at most `max` queued items (empty when none). The items stay in the
  // ring, owned by the consumer, until Consume(n) with n <= the run's size hands them back.
  std::span<T> PeekReadable(size_t max) {
    const size_t head = head_.load(std::memory_order_relaxed);
    size_t ready = consumer_tail_cache_ - head;
    if (ready < max) {
      consumer_tail_cache_ = tail_.load(std::memory_order_acquire);
      ready = consumer_tail_cache_ - head;
    }
    const size_t index = head & mask_;
    const size_t run = std::min({max, ready, capacity() - index});
    return {slots_.get() + index, run};
  }
  void Consume(size_t n) {
    head_.store(head_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }

  // ---- either side, or a third thread: a snapshot that may be stale when it returns ----

  size_t SizeApprox() const {
    const size_t head = head_.load(std::memory_order_acquire);
    const size_t tail = tail_.load(std::memory_order_acquire);
    return tail - head;  // head is read first: the tail read after it is never behind it
  }
  bool EmptyApprox() const { return SizeApprox() == 0; }

 private:
  // Consumer's line: its index and its cached view of the producer's.
  alignas(kQueueIndexPadding) std::atomic<size_t> head_{0};
  size_t consumer_tail_cache_ = 0;
  // Producer's line.
  alignas(kQueueIndexPadding) std::atomic<size_t> tail_{0};
  size_t producer_head_cache_ = 0;
  // Read-only after construction, shared by both.
  alignas(kQueueIndexPadding) const size_t mask_;
  const std::unique_ptr<T[]> slots_;
};

}  // namespace relaycell

#endif  // RELAYCELL_CIRCUIT_PIPELINE_SPSC_QUEUE_H_
