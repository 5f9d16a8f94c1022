// Locked, guarded memory for long-lived keys, in slabs.
//
// A libsodium guarded allocation costs three or more pages (guard pages and a canary), so one
// per key does not scale to a relay's 100,000 circuits. KeyArena takes one sodium_malloc region
// per slab of many equal-size slots: the slab is mlock()ed (never swapped), excluded from core
// dumps, and guarded at both ends. Freed slots are wiped at once; slabs are wiped on release.
//
// Locking can be refused: an unprivileged process may lock only RLIMIT_MEMLOCK bytes (8 MiB by
// default on Debian, about 5,000 aez relay circuits), and libsodium ignores a refused mlock.
// The arena asks again and counts the slabs left unlocked (unlocked_slabs()): still guarded,
// wiped and kept out of core dumps, but they may be swapped. A relay should raise the limit
// (systemd: LimitMEMLOCK=) and watch that count.
#ifndef RELAYCELL_ENGINE_COMMON_KEY_ARENA_H_
#define RELAYCELL_ENGINE_COMMON_KEY_ARENA_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>
#include "kernels/prefetch.h"

namespace relaycell {

class KeyArena {
 public:
  static constexpr size_t kWholeSlot = ~size_t{0};
  // slot_bytes is rounded up to 64 (a cache line, and alignment for SIMD loads).
  // prefetch_bytes: how much of a slot, from its start, ArenaBox::Prefetch pulls in while a
  // relay stages a batch (a suite whose batch fetches its own keys ahead takes less, or none).
  explicit KeyArena(size_t slot_bytes, size_t slots_per_slab = 512,
                    size_t prefetch_bytes = kWholeSlot);
  ~KeyArena();
  KeyArena(const KeyArena&) = delete;
  KeyArena& operator=(const KeyArena&) = delete;

  // A zeroed slot, or nullptr if no locked memory can be had. Thread-safe.
  void* Allocate();
  // Wipes the slot and returns it to the arena. nullptr is ignored. Thread-safe.
  void Release(void* slot);

  size_t slot_bytes() const { return slot_bytes_; }
  size_t prefetch_bytes() const { return prefetch_bytes_; }
  size_t live_slots() const;
  size_t slab_count() const;
  // Bytes of locked memory held, for the bytes-per-circuit figure.
  size_t reserved_bytes() const;
  // Slabs whose mlock the kernel refused (RLIMIT_MEMLOCK): they may be swapped out.
  size_t unlocked_slabs() const;

 private:
  const size_t slot_bytes_;
  const size_t slots_per_slab_;
  const size_t prefetch_bytes_;
  mutable std::mutex mutex_;
  std::vector<void*> slabs_;
  std::vector<void*> free_slots_;
  size_t live_ = 0;
  size_t unlocked_slabs_ = 0;
};

// Owns one object of type T constructed in a KeyArena slot; destroys and wipes it on reset.
// T must fit in the arena's slot and be trivially relocatable by the caller's standards (it is
// never moved: the pointer is stable for the object's life).
template <class T>
class ArenaBox {
 public:
  ArenaBox() = default;
  ArenaBox(KeyArena& arena, T* object) : arena_(&arena), object_(object) {}
  ArenaBox(ArenaBox&& other) noexcept
      : arena_(std::exchange(other.arena_, nullptr)),
        object_(std::exchange(other.object_, nullptr)) {}
  ArenaBox& operator=(ArenaBox&& other) noexcept {
    if (this != &other) {
      reset();
      arena_ = std::exchange(other.arena_, nullptr);
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ~ArenaBox() { reset(); }

  void reset() {
    if (object_ != nullptr) {
      object_->~T();
      arena_->Release(object_);
      object_ = nullptr;
    }
  }
  // Gives up ownership without destroying: the object stays in its slot, and the caller must
  // hand it (with the arena returned here) to another box.
  KeyArena* Release() {
    object_ = nullptr;
    return std::exchange(arena_, nullptr);
  }
  T* get() const { return object_; }
  // Starts pulling the slot (its arena's prefetch_bytes) into cache without touching it (the
  // size comes from the arena, which is hot): a batch prefetches many circuits' keys before it
  // needs them.
  void Prefetch() const {
    if (object_ == nullptr) return;
    kernels::PrefetchBytes(object_, arena_->prefetch_bytes());
  }
  // The whole slot, whatever the arena's prefetch_bytes (a client's later layer rounds read
  // every line of layers whose cells the batch kernels have not reached yet).
  void PrefetchWhole() const {
    if (object_ == nullptr) return;
    kernels::PrefetchBytes(object_, arena_->slot_bytes());
  }
  T* operator->() const { return object_; }
  T& operator*() const { return *object_; }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  KeyArena* arena_ = nullptr;
  T* object_ = nullptr;
};

// Constructs a T in `arena`; an empty box if the arena is out of locked memory.
template <class T, class... Args>
ArenaBox<T> MakeInArena(KeyArena& arena, Args&&... args) {
  static_assert(alignof(T) <= 64, "arena slots are 64-byte aligned");
  if (sizeof(T) > arena.slot_bytes()) return {};
  void* slot = arena.Allocate();
  if (slot == nullptr) return {};
  return ArenaBox<T>(arena, new (slot) T(std::forward<Args>(args)...));
}

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_KEY_ARENA_H_
