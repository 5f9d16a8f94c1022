#include "circuit/pipeline/spsc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <thread>
#include <vector>

namespace relaycell {
namespace {

TEST(SpscQueue, CapacityIsAPowerOfTwoAndNeverGrows) {
  SpscQueue<uint64_t> queue(5);
  EXPECT_EQ(queue.capacity(), 8u);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(queue.TryPush(i));
  EXPECT_FALSE(queue.TryPush(99));  // full is back-pressure, not growth
  EXPECT_EQ(queue.SizeApprox(), 8u);
  uint64_t item = 0;
  EXPECT_TRUE(queue.TryPop(item));
  EXPECT_EQ(item, 0u);
  EXPECT_TRUE(queue.TryPush(8));
  EXPECT_FALSE(queue.TryPush(9));
  EXPECT_EQ(SpscQueue<int>(0).capacity(), 2u);
  EXPECT_EQ(SpscQueue<int>(1024).capacity(), 1024u);
}

TEST(SpscQueue, FifoAcrossManyWraps) {
  SpscQueue<uint32_t> queue(4);
  uint32_t next_in = 0, next_out = 0;
  std::mt19937 rng(1);
  for (int round = 0; round < 10000; ++round) {
    const int pushes = rng() % 6, pops = rng() % 6;
    for (int i = 0; i < pushes; ++i) {
      if (queue.TryPush(next_in)) ++next_in;
    }
    for (int i = 0; i < pops; ++i) {
      uint32_t item;
      if (!queue.TryPop(item)) {
        EXPECT_EQ(next_in, next_out);  // empty only when everything pushed was popped
        break;
      }
      ASSERT_EQ(item, next_out++);
    }
  }
  EXPECT_GT(next_out, 1000u);
}

TEST(SpscQueue, BatchesSplitAtTheRingsEndAndStopWhenFull) {
  SpscQueue<int> queue(8);
  const std::vector<int> first = {0, 1, 2, 3, 4, 5};
  EXPECT_EQ(queue.TryPushBatch(first), 6u);
  std::vector<int> out(4);
  EXPECT_EQ(queue.TryPopBatch(out), 4u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3}));
  // Six free slots, split 2 at the end + 4 at the start; only 6 of 9 fit.
  const std::vector<int> second = {6, 7, 8, 9, 10, 11, 12, 13, 14};
  EXPECT_EQ(queue.TryPushBatch(second), 6u);
  EXPECT_EQ(queue.TryPushBatch(second), 0u);
  std::vector<int> all(16, -1);
  EXPECT_EQ(queue.TryPopBatch(all), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(all[i], 4 + i);
  EXPECT_EQ(all[8], -1);  // nothing written past what was popped
  EXPECT_EQ(queue.TryPopBatch(all), 0u);
}

TEST(SpscQueue, PeekAndCommitWorkInPlace) {
  SpscQueue<int> queue(4);
  std::span<int> room = queue.PeekWritable(3);
  ASSERT_EQ(room.size(), 3u);
  room[0] = 10, room[1] = 11, room[2] = 12;
  EXPECT_TRUE(queue.EmptyApprox());  // not visible before Commit
  queue.Commit(2);
  std::span<int> ready = queue.PeekReadable(8);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0], 10);
  EXPECT_EQ(ready[1], 11);
  queue.Consume(1);
  EXPECT_EQ(queue.SizeApprox(), 1u);
  // Writable run stops at the ring's end (index 2 .. 3), then wraps.
  EXPECT_EQ(queue.PeekWritable(8).size(), 2u);
}

// Two threads, millions of items, random batch sizes on both sides; every item arrives once,
// in order. Also the test ThreadSanitizer runs to check the memory ordering.
TEST(SpscQueue, TwoThreadStressKeepsSequence) {
  constexpr uint64_t kItems = 2'000'000;
  SpscQueue<uint64_t> queue(256);
  std::thread producer([&] {
    std::mt19937 rng(7);
    std::vector<uint64_t> batch;
    uint64_t next = 0;
    while (next < kItems) {
      size_t pushed;
      if (rng() % 2) {
        pushed = queue.TryPush(next) ? 1 : 0;
      } else {
        batch.clear();
        const uint64_t n = std::min<uint64_t>(1 + rng() % 64, kItems - next);
        for (uint64_t i = 0; i < n; ++i) batch.push_back(next + i);
        pushed = queue.TryPushBatch(batch);
      }
      next += pushed;
      // The machine may have fewer free cores than threads here: give the consumer the core.
      if (pushed == 0) std::this_thread::yield();
    }
  });
  std::mt19937 rng(8);
  std::vector<uint64_t> batch(64);
  uint64_t expected = 0, out_of_order = 0;
  while (expected < kItems) {
    if (queue.EmptyApprox()) std::this_thread::yield();
    const int mode = rng() % 3;
    if (mode == 0) {
      uint64_t item;
      if (queue.TryPop(item)) out_of_order += item != expected++;
    } else if (mode == 1) {
      const size_t n = queue.TryPopBatch(std::span(batch).first(1 + rng() % 64));
      for (size_t i = 0; i < n; ++i) out_of_order += batch[i] != expected++;
    } else {
      std::span<uint64_t> run = queue.PeekReadable(1 + rng() % 64);
      for (uint64_t item : run) out_of_order += item != expected++;
      queue.Consume(run.size());
    }
  }
  producer.join();
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(expected, kItems);
  uint64_t extra;
  EXPECT_FALSE(queue.TryPop(extra));
}

}  // namespace
}  // namespace relaycell
