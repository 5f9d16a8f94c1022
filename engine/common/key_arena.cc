#include "engine/common/key_arena.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>

namespace relaycell {
namespace {

size_t RoundUpToCacheLine(size_t bytes) { return (bytes + 63) & ~size_t{63}; }

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

KeyArena::KeyArena(size_t slot_bytes, size_t slots_per_slab, size_t prefetch_bytes)
    : slot_bytes_(RoundUpToCacheLine(slot_bytes == 0 ? 1 : slot_bytes)),
      slots_per_slab_(slots_per_slab == 0 ? 1 : slots_per_slab),
      prefetch_bytes_(std::min(prefetch_bytes, slot_bytes_)) {}

KeyArena::~KeyArena() {
  // sodium_free wipes the whole region before unmapping it.
  for (void* slab : slabs_) sodium_free(slab);
}

void* KeyArena::Allocate() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_slots_.empty()) {
    if (!SodiumReady()) return nullptr;
    // sodium_malloc aligns the END of the region to the guard page; pad so slot 0 is
    // 64-byte aligned and every slot after it too.
    const size_t bytes = slot_bytes_ * slots_per_slab_ + 64;
    void* region = sodium_malloc(bytes);
    if (region == nullptr) return nullptr;
    // sodium_malloc locked the region if it could, but says nothing when the kernel refused.
    // Locking locked pages again succeeds, so a failure here means the slab is not locked.
    if (sodium_mlock(region, bytes) != 0) ++unlocked_slabs_;
    sodium_memzero(region, bytes);
    slabs_.push_back(region);
    auto base = reinterpret_cast<uintptr_t>(region);
    const uintptr_t aligned = (base + 63) & ~uintptr_t{63};
    free_slots_.reserve(free_slots_.size() + slots_per_slab_);
    for (size_t i = slots_per_slab_; i-- > 0;) {
      free_slots_.push_back(reinterpret_cast<void*>(aligned + i * slot_bytes_));
    }
  }
  void* slot = free_slots_.back();
  free_slots_.pop_back();
  ++live_;
  return slot;
}

void KeyArena::Release(void* slot) {
  if (slot == nullptr) return;
  sodium_memzero(slot, slot_bytes_);
  std::lock_guard<std::mutex> lock(mutex_);
  free_slots_.push_back(slot);
  --live_;
}

size_t KeyArena::live_slots() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_;
}

size_t KeyArena::slab_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slabs_.size();
}

size_t KeyArena::unlocked_slabs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return unlocked_slabs_;
}

size_t KeyArena::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slabs_.size() * (slot_bytes_ * slots_per_slab_ + 64);
}

}  // namespace relaycell
