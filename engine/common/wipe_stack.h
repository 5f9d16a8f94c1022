// Wiping the stack a cipher leaves behind.
//
// sodium_memzero wipes the buffers a function names; it cannot reach what the compiler put on
// the stack by itself: AES round keys and cipher state spilled from vector registers, the
// frames of callees that have returned. WipeStack(bytes) zeroes the `bytes` of stack just
// below its caller's frame, where the functions the caller called kept those frames: call it
// after a batch of key-dependent work, from the function that started that work, with the
// depth those callees reach (LayerBatch::RunLeavingStack returns it for a batch, measured).
//
//   AezEncipherBatch(jobs);         // its callees' frames now lie below us, dead but intact
//   WipeStack(kRunStackWipeBytes);  // and now they are zeros
//
// It cannot be optimized away (engine/common/wipe_stack.cc says how) and costs about a memset
// of `bytes` on memory the callees just used (in L1): 10 KiB take about 70 ns.
#ifndef RELAYCELL_ENGINE_COMMON_WIPE_STACK_H_
#define RELAYCELL_ENGINE_COMMON_WIPE_STACK_H_

#include <cstddef>

namespace relaycell {

// The most one call wipes; larger requests are cut to it (the stack of a worker thread is
// 8 MiB on Linux, but a wipe deeper than a cipher's frames is wasted work).
inline constexpr size_t kMaxWipeStackBytes = 64 * 1024;

// What a host of single-cell calls (ClientCircuit, RelayCircuit, CellLayer::Apply) wipes
// after a burst of them, from the function that made them, and what the tor1 and cgo batches
// wipe behind themselves: the deepest frames any suite leaves on any kernel path, with room.
// Measured by tests/key_gone_test.cc's probe: cgo on the SSSE3 POLYVAL path reaches past
// 20 KiB (24 KiB clears it), every other suite and path stays under 16 KiB.
inline constexpr size_t kCellCallStackWipeBytes = 32 * 1024;

// Zeroes `bytes` (at most kMaxWipeStackBytes) of the stack below the caller's frame.
void WipeStack(size_t bytes);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_WIPE_STACK_H_
