#include "engine/common/key_arena.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <vector>

namespace relaycell {
namespace {

TEST(KeyArena, SlotsAreAlignedDistinctAndZeroed) {
  KeyArena arena(100, 8);
  EXPECT_EQ(arena.slot_bytes(), 128u);
  std::set<uintptr_t> seen;
  std::vector<void*> slots;
  for (int i = 0; i < 20; ++i) {  // spans three slabs
    void* slot = arena.Allocate();
    ASSERT_NE(slot, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(slot) % 64, 0u);
    const auto* bytes = static_cast<const uint8_t*>(slot);
    for (size_t b = 0; b < arena.slot_bytes(); ++b) ASSERT_EQ(bytes[b], 0) << "slot " << i;
    EXPECT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(slot)).second);
    std::memset(slot, 0xA5, arena.slot_bytes());  // every byte writable: no overlap, no guard
    slots.push_back(slot);
  }
  EXPECT_EQ(arena.slab_count(), 3u);
  EXPECT_EQ(arena.live_slots(), 20u);
  for (void* slot : slots) arena.Release(slot);
  EXPECT_EQ(arena.live_slots(), 0u);
}

TEST(KeyArena, ReleasedSlotIsWipedBeforeReuse) {
  KeyArena arena(64, 4);
  auto* slot = static_cast<uint8_t*>(arena.Allocate());
  ASSERT_NE(slot, nullptr);
  std::memset(slot, 0x5C, 64);
  arena.Release(slot);
  // The slot's memory is still mapped (the slab lives), so we can check it was wiped.
  for (int b = 0; b < 64; ++b) ASSERT_EQ(slot[b], 0);
  EXPECT_EQ(arena.Allocate(), slot);  // LIFO reuse
}

struct Secret {
  uint8_t bytes[48];
  static inline int destroyed = 0;
  ~Secret() { ++destroyed; }
};

TEST(KeyArena, ArenaBoxDestroysAndReleases) {
  KeyArena arena(sizeof(Secret), 16);
  Secret::destroyed = 0;
  {
    auto box = MakeInArena<Secret>(arena);
    ASSERT_TRUE(box);
    box->bytes[0] = 7;
    auto moved = std::move(box);
    EXPECT_FALSE(box);
    EXPECT_EQ(moved->bytes[0], 7);
    EXPECT_EQ(arena.live_slots(), 1u);
  }
  EXPECT_EQ(Secret::destroyed, 1);
  EXPECT_EQ(arena.live_slots(), 0u);
}

TEST(KeyArena, RefusesObjectsLargerThanASlot) {
  KeyArena arena(16, 4);
  auto box = MakeInArena<Secret>(arena);  // 48 > 64? no: slot rounds to 64, so it fits
  EXPECT_TRUE(box);
  KeyArena tiny(16, 4);
  struct Big {
    uint8_t b[100];
  };
  EXPECT_FALSE(MakeInArena<Big>(tiny));
}

TEST(KeyArena, HundredThousandSlotsUseFewSlabs) {
  // A relay's worth of circuits: the point of slabs is one guarded region per many keys.
  KeyArena arena(512, 1024);
  std::vector<void*> slots;
  slots.reserve(100000);
  for (int i = 0; i < 100000; ++i) {
    void* s = arena.Allocate();
    ASSERT_NE(s, nullptr);
    slots.push_back(s);
  }
  EXPECT_EQ(arena.slab_count(), 98u);  // ceil(100000 / 1024)
  for (void* s : slots) arena.Release(s);
}

// An unprivileged relay may lock only RLIMIT_MEMLOCK bytes and libsodium ignores the refusal:
// the arena must notice and count the slab as unlocked, and still hand out working slots. The
// child process drops CAP_IPC_LOCK (root bypasses the limit) and lowers the limit below a slab.
void AllocateUnderTinyMemlockLimit() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2]{};
  if (syscall(SYS_capget, &header, caps) == 0) {
    caps[0].effective &= ~(1u << CAP_IPC_LOCK);
    (void)syscall(SYS_capset, &header, caps);
  }
  const rlimit tiny{16 * 1024, 16 * 1024};
  if (setrlimit(RLIMIT_MEMLOCK, &tiny) != 0) std::_Exit(2);
  KeyArena arena(704, 512);  // one slab: ~352 KiB, far over the limit
  void* slot = arena.Allocate();
  if (slot == nullptr) std::_Exit(3);
  std::memset(slot, 0xab, 704);  // usable
  arena.Release(slot);
  std::_Exit(arena.unlocked_slabs() == 1 ? 0 : 4);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockIsReal = false;  // AddressSanitizer turns mlock into a no-op that succeeds
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMlockIsReal = false;
#else
constexpr bool kMlockIsReal = true;
#endif
#else
constexpr bool kMlockIsReal = true;
#endif

TEST(KeyArenaDeathTest, CountsSlabsTheKernelRefusedToLock) {
  if (!kMlockIsReal) GTEST_SKIP() << "mlock is intercepted by AddressSanitizer";
  EXPECT_EXIT(AllocateUnderTinyMemlockLimit(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace relaycell
