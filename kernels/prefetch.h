// Software prefetch that the compiler keeps.
//
// GCC gives __builtin_prefetch no side effect: a function or lambda that only reads memory and
// prefetches is found pure (-O2's local-pure-const pass), and a call to it whose result is unused
// is deleted, prefetches and all. That is how the relay pipeline's key-state and table-bucket
// prefetches vanished from its staging loop (GCC 12, -O2 and -O3), leaving only the ones in a
// lambda that also stored something. A volatile asm is a side effect the compiler must keep.
//
// Inside a function that stores anyway (a kernel), __builtin_prefetch is kept, and GCC schedules
// it more freely than an asm: the 512-bit AEZ kernel's key prefetch stays a builtin (as an asm
// the relay peel at 10,000 circuits went from 122-123 to 130-131 ns).
#ifndef RELAYCELL_KERNELS_PREFETCH_H_
#define RELAYCELL_KERNELS_PREFETCH_H_

#include <cstddef>

namespace relaycell::kernels {

// Starts pulling the cache line holding `address` into every cache level (a read hint).
inline void PrefetchLine(const void* address) {
#if defined(__x86_64__) || defined(__i386__)
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(address)));
#else
  __builtin_prefetch(address);
  asm volatile("");  // makes the caller impure, so the prefetch stays
#endif
}

// Every line of [address, address + bytes), from the first.
inline void PrefetchBytes(const void* address, size_t bytes) {
  const char* at = static_cast<const char*>(address);
  for (size_t line = 0; line < bytes; line += 64) PrefetchLine(at + line);
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_PREFETCH_H_
