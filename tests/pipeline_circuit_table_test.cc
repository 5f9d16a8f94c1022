#include "circuit/pipeline/circuit_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace relaycell {
namespace {

TEST(PipelineCircuitTable, InsertFindErase) {
  CircuitTable table(100);
  EXPECT_EQ(table.Find({1, 7}), kNoCircuitSlot);
  const CircuitInsert a = table.Insert({1, 7});
  ASSERT_EQ(a.error, CircuitTableError::kOk);
  const CircuitInsert b = table.Insert({2, 7});  // same circ_id, other channel: other circuit
  ASSERT_EQ(b.error, CircuitTableError::kOk);
  EXPECT_NE(a.slot, b.slot);
  EXPECT_EQ(table.Find({1, 7}), a.slot);
  EXPECT_EQ(table.Find({2, 7}), b.slot);
  EXPECT_EQ(table.Insert({1, 7}).error, CircuitTableError::kAlreadyPresent);
  EXPECT_EQ(table.Find({1, 7}), a.slot);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(table.Erase({1, 7}));
  EXPECT_FALSE(table.Erase({1, 7}));
  EXPECT_EQ(table.Find({1, 7}), kNoCircuitSlot);
  EXPECT_EQ(table.Find({2, 7}), b.slot);
  EXPECT_EQ(table.size(), 1u);
}

TEST(PipelineCircuitTable, FullTableRefusesAndSlotsAreReused) {
  CircuitTable table(3);
  std::set<CircuitSlot> slots;
  for (uint32_t id = 1; id <= 3; ++id) {
    const CircuitInsert r = table.Insert({9, id});
    ASSERT_EQ(r.error, CircuitTableError::kOk);
    EXPECT_LT(r.slot, 3u);
    slots.insert(r.slot);
  }
  EXPECT_EQ(slots.size(), 3u);
  EXPECT_EQ(table.Insert({9, 4}).error, CircuitTableError::kFull);
  EXPECT_EQ(table.Insert({9, 4}).slot, kNoCircuitSlot);
  const CircuitSlot freed = table.Find({9, 2});
  ASSERT_TRUE(table.Erase({9, 2}));
  const CircuitInsert again = table.Insert({9, 4});
  ASSERT_EQ(again.error, CircuitTableError::kOk);
  EXPECT_EQ(again.slot, freed);
}

// Random inserts and erases against std::map, in small tables that are often full, with a fixed
// (seed 0) hash too: erased markers pile up and must be cleaned without the table growing.
void CheckAgainstModel(CircuitKeyHash hash, size_t max_circuits, uint32_t key_space, int seed) {
  CircuitTable table(max_circuits, hash);
  const size_t buckets = table.bucket_count();
  std::map<uint64_t, CircuitSlot> model;
  std::mt19937 rng(seed);
  for (int step = 0; step < 200000; ++step) {
    const CircuitKey key{uint32_t(rng() % 4), uint32_t(1 + rng() % key_space)};
    const int op = rng() % 3;
    if (op == 0) {
      const CircuitInsert r = table.Insert(key);
      if (model.count(key.packed())) {
        ASSERT_EQ(r.error, CircuitTableError::kAlreadyPresent);
      } else if (model.size() == max_circuits) {
        ASSERT_EQ(r.error, CircuitTableError::kFull);
      } else {
        ASSERT_EQ(r.error, CircuitTableError::kOk);
        ASSERT_LT(r.slot, max_circuits);
        model[key.packed()] = r.slot;
      }
    } else if (op == 1) {
      ASSERT_EQ(table.Erase(key), model.erase(key.packed()) == 1);
    } else {
      auto it = model.find(key.packed());
      ASSERT_EQ(table.Find(key), it == model.end() ? kNoCircuitSlot : it->second);
    }
    ASSERT_EQ(table.size(), model.size());
  }
  std::set<CircuitSlot> live;
  for (auto& [packed, slot] : model) {
    ASSERT_EQ(table.Find({uint32_t(packed >> 32), uint32_t(packed)}), slot);
    live.insert(slot);
  }
  EXPECT_EQ(live.size(), model.size());      // no slot handed out twice
  EXPECT_EQ(table.bucket_count(), buckets);  // never reallocated
}

TEST(PipelineCircuitTable, MatchesAModelUnderChurn) {
  CheckAgainstModel(CircuitKeyHash(), 40, 30, 1);
  CheckAgainstModel(CircuitKeyHash(0, 0), 40, 30, 2);
  CheckAgainstModel(CircuitKeyHash(), 1000, 500, 3);
}

TEST(PipelineCircuitTable, MemoryPerEntryAt100kCircuits) {
  CircuitTable table(100000);
  for (uint32_t i = 0; i < 100000; ++i) {
    ASSERT_EQ(table.Insert({i % 64, i + 1}).error, CircuitTableError::kOk);
  }
  for (uint32_t i = 0; i < 100000; i += 997) ASSERT_NE(table.Find({i % 64, i + 1}), kNoCircuitSlot);
  const double per_entry = double(table.MemoryBytes()) / 100000;
  RecordProperty("bytes_per_entry", std::to_string(per_entry));
  std::printf("circuit table: %zu buckets, %.2f bytes per entry at 100,000 circuits\n",
              table.bucket_count(), per_entry);
  // 131071 buckets x (16-byte slot + 1 control byte) + 4 bytes of free list per circuit.
  EXPECT_LT(per_entry, 27.0);
  EXPECT_GT(per_entry, 12.0);
}

TEST(PipelineCircuitTable, KeyedHashDependsOnTheSeed) {
  const CircuitKeyHash a(1, 2), b(3, 4);
  int same = 0;
  for (uint32_t id = 1; id < 1000; ++id) same += a({5, id}) == b({5, id});
  EXPECT_LT(same, 2);
  EXPECT_EQ(a({5, 6}), CircuitKeyHash(1, 2)({5, 6}));
}

}  // namespace
}  // namespace relaycell
