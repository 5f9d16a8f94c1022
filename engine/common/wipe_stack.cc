#include "engine/common/wipe_stack.h"

#include <sodium.h>

#include <algorithm>

namespace relaycell {

// noinline and in its own file, so the wipe starts at the caller's stack pointer whatever the
// caller's compiler knows.
//
// x86-64: the stack pointer is lowered by `bytes` first, then the region above it is zeroed
// with `rep stosb` and the stack pointer put back, all in one asm statement (which nothing can
// remove or reorder). This function makes no frame of its own (the statement uses only
// call-clobbered registers), so the zeros reach from just below its return address down:
// every byte of the callees' dead frames, none skipped for alignment or saved registers, and a
// signal arriving meanwhile is handled below the region instead of inside it.
//
// Elsewhere: an alloca'd region zeroed with sodium_memzero, which the optimizer cannot elide
// (it escapes to a library call, and the asm after it reads it). It misses the few bytes of
// this function's own frame (saved registers, alignment) at the top of the region.
__attribute__((noinline)) void WipeStack(size_t bytes) {
  bytes = std::min(bytes, kMaxWipeStackBytes);
  if (bytes == 0) return;
#if defined(__x86_64__)
  __asm__ __volatile__(
      "mov %%rsp, %%rdx\n\t"
      "sub %%rcx, %%rsp\n\t"
      "mov %%rsp, %%rdi\n\t"
      "xor %%eax, %%eax\n\t"
      "rep stosb\n\t"
      "mov %%rdx, %%rsp"
      : "+c"(bytes)
      :
      : "rax", "rdx", "rdi", "memory", "cc");
#else
  void* region = __builtin_alloca(bytes);
  sodium_memzero(region, bytes);
  __asm__ __volatile__("" : : "r"(region) : "memory");
#endif
}

}  // namespace relaycell
