#include "circuit/pipeline/circuit_table.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace relaycell {
namespace {

uint64_t RandomSeed() {
  if (sodium_init() < 0) std::abort();  // no CSPRNG: refuse to run with a guessable hash
  uint64_t seed;
  randombytes_buf(&seed, sizeof seed);
  return seed;
}

}  // namespace

CircuitKeyHash::CircuitKeyHash() : seed0_(RandomSeed()), seed1_(RandomSeed()) {}

CircuitTable::CircuitTable(size_t max_circuits) : CircuitTable(max_circuits, CircuitKeyHash()) {}

CircuitTable::CircuitTable(size_t max_circuits, CircuitKeyHash hash)
    : max_circuits_(std::min<size_t>(max_circuits, size_t{1} << 31)),
      map_(0, PackedHash{hash}),
      free_slots_(std::make_unique_for_overwrite<CircuitSlot[]>(max_circuits_)) {
  // absl gives capacity >= 8/7 of what is reserved; 9/8 more keeps max_circuits <= 25/32 of
  // the capacity, the bound under which absl cleans erased markers without reallocating.
  map_.reserve(max_circuits_ + max_circuits_ / 8 + 1);
}

CircuitInsert CircuitTable::Insert(CircuitKey key) {
  if (map_.size() == max_circuits_) {
    const bool present = map_.contains(key.packed());
    return {present ? CircuitTableError::kAlreadyPresent : CircuitTableError::kFull,
            kNoCircuitSlot};
  }
  const CircuitSlot slot = free_count_ > 0 ? free_slots_[free_count_ - 1] : next_unused_;
  if (!map_.try_emplace(key.packed(), slot).second) {
    return {CircuitTableError::kAlreadyPresent, kNoCircuitSlot};
  }
  if (free_count_ > 0) {
    --free_count_;
  } else {
    ++next_unused_;
  }
  return {CircuitTableError::kOk, slot};
}

bool CircuitTable::Erase(CircuitKey key) {
  const auto it = map_.find(key.packed());
  if (it == map_.end()) return false;
  free_slots_[free_count_++] = it->second;
  map_.erase(it);
  return true;
}

size_t CircuitTable::MemoryBytes() const {
  // absl's backing array: capacity + 1 + 15 control bytes, padded to the slot alignment, then
  // capacity slots.
  using Slot = std::pair<const uint64_t, CircuitSlot>;
  const size_t capacity = map_.bucket_count();
  const size_t control = (capacity + 16 + alignof(Slot) - 1) / alignof(Slot) * alignof(Slot);
  return sizeof(*this) + control + capacity * sizeof(Slot) + max_circuits_ * sizeof(CircuitSlot);
}

}  // namespace relaycell
