// The stack probe of tests/key_gone_test.cc and tests/net_stack_wipe_test.cc: paint the stack
// below a frame, run some work on it, copy the painted region out, and compare two runs that
// differ only in their keys. Bytes that differ are what the work left behind that depends on
// a key.
#ifndef RELAYCELL_TESTS_STACK_PROBE_H_
#define RELAYCELL_TESTS_STACK_PROBE_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/common/kdf.h"
#include "engine/common/key_arena.h"
#include "engine/suite/aez_layer.h"
#include "kernels/kernel_path.h"
#include "kernels/path_choice.h"
#include "tests/sanitizer.h"

namespace relaycell::testing {

#if defined(__x86_64__)
constexpr bool kCanReadStack = true;
#ifdef RELAYCELL_UNDER_SANITIZER
constexpr bool kCanProbeStack = false;  // its frames are not the shipped code's
#else
constexpr bool kCanProbeStack = true;
#endif

// The probe reads stack memory below the stack pointer, which no C++ expression may do; it
// does it in assembly, which the compiler treats as opaque. The region stays untouched
// between the work and the read: nothing is called in between, and no signal is handled.
inline void CopyStack(const uint8_t* from, uint8_t* to, size_t n) {
  __asm__ __volatile__("rep movsb" : "+S"(from), "+D"(to), "+c"(n) : : "memory");
}
// Zeroes the callee-saved registers, whose values the work's functions push on the stack: left
// as the test had them, they would differ between two runs for reasons that are not keys.
inline void ClearCalleeSavedRegisters() {
  __asm__ __volatile__(
      "xor %%ebx, %%ebx\n\txor %%r12d, %%r12d\n\txor %%r13d, %%r13d\n\t"
      "xor %%r14d, %%r14d\n\txor %%r15d, %%r15d" ::
          : "rbx", "r12", "r13", "r14", "r15", "memory");
}
#else
constexpr bool kCanReadStack = false;
constexpr bool kCanProbeStack = false;
inline void CopyStack(const uint8_t*, uint8_t*, size_t) {}
inline void ClearCalleeSavedRegisters() {}
#endif

constexpr uint8_t kPaint = 0xA5;
constexpr size_t kProbeBytes = 48 * 1024;  // Run's frame (~7 KiB), its callees', and more

// Fills `bytes` of stack below this function's frame with kPaint and returns where they start
// (laundered through asm: the compiler would replace a returned stack address with null).
inline __attribute__((noinline)) uint8_t* PaintStackBelow(size_t bytes) {
  uint8_t* region = static_cast<uint8_t*>(__builtin_alloca(bytes));
  std::memset(region, kPaint, bytes);
  __asm__ __volatile__("" : "+r"(region) : : "memory");
  return region;
}

// Paints the stack, runs work(context) on it, and copies the painted region into the dump
// (one static buffer: a different destination per run would itself differ on the stack).
inline std::array<uint8_t, kProbeBytes> g_dump;
using Work = void (*)(void* context);
inline __attribute__((noinline)) void DumpStackAfter(Work work, void* context) {
  ClearCalleeSavedRegisters();
  uint8_t* region = PaintStackBelow(kProbeBytes);
  work(context);
  CopyStack(region, g_dump.data(), kProbeBytes);
}

// Bytes that differ between two dumps: what the work left that depends on what differed.
inline size_t DifferingBytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

// Key-dependent bytes work(&probe) leaves on the stack. probe.Install(salt) gives the work keys
// that differ with the salt and nothing else (same slots, same inputs). The first run takes
// first use (lazy set-up) out of the picture; the next two differ only in their keys.
template <class Probe>
size_t KeyDependentStackBytes(Probe& probe, Work work) {
  probe.Install(1);
  work(&probe);
  std::vector<uint8_t> dumps[2];
  for (int run = 0; run < 2; ++run) {
    probe.Install(uint8_t(run + 2));
    if (::testing::Test::HasFatalFailure()) return 0;
    DumpStackAfter(work, &probe);
    dumps[run].assign(g_dump.begin(), g_dump.end());
  }
  EXPECT_NE(std::count(dumps[0].begin(), dumps[0].end(), kPaint), ptrdiff_t(kProbeBytes))
      << "the work did not run on the painted stack";
  return DifferingBytes(dumps[0], dumps[1]);
}

// Fresh AEZ directions (forward, backward, ...) keyed from key_salt, in the same KeyArena slots
// as the ones they replace: released last first, so allocated again in the same order.
inline void ReinstallAezDirections(std::span<AezCellDirectionBox> directions, uint8_t key_salt) {
  std::vector<const void*> before;
  for (const auto& d : directions) before.push_back(d.get());
  for (size_t i = directions.size(); i-- > 0;) directions[i].reset();
  for (size_t i = 0; i < directions.size(); ++i) {
    uint8_t material[kKdfOutputBytes];
    for (size_t j = 0; j < sizeof material; ++j) material[j] = uint8_t(key_salt * 131 + j * 7 + i);
    const HopKeyMaterialView k = SplitKeyMaterial(material);
    directions[i] = MakeInArena<AezCellDirection>(AezCellDirection::Arena(), i % 2 == 0, k.aez_key,
                                                  k.chain_key, k.chain_fwd);
    ASSERT_TRUE(directions[i]);
    if (before[i] != nullptr) {
      ASSERT_EQ(directions[i].get(), before[i]);
    }
  }
}

// KeyDependentStackBytes on every path of each family this CPU runs, each forced in turn.
struct PathLeftovers {
  size_t worst = 0;    // the most any path left
  size_t paths = 0;    // paths run
  std::string report;  // "family:path=bytes ..."
};
template <class Probe>
PathLeftovers KeyDependentStackBytesPerPath(Probe& probe, Work work,
                                            std::initializer_list<kernels::KernelFamily> families) {
  PathLeftovers left;
  for (kernels::KernelFamily family : families) {
    for (kernels::KernelPath path : kernels::RunnablePaths(family)) {
      const kernels::ScopedPathOverride force(family, path);
      const size_t bytes = KeyDependentStackBytes(probe, work);
      if (::testing::Test::HasFatalFailure()) return left;
      left.worst = std::max(left.worst, bytes);
      ++left.paths;
      left.report += std::string(kernels::FamilyName(family)) + ":" + path.Name() + "=" +
                     std::to_string(bytes) + " ";
    }
  }
  return left;
}

}  // namespace relaycell::testing

#endif  // RELAYCELL_TESTS_STACK_PROBE_H_
