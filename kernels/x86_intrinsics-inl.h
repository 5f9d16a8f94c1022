// Private to kernels/: <immintrin.h> for the raw AVX-512 kernels. GCC 12's AVX-512 headers
// seed inserts, broadcasts and zero-extends with a self-initialised "undefined" vector and then
// warn about it (GCC bug 105593, fixed in 13); the warning is silenced for the header only.
#ifndef RELAYCELL_KERNELS_X86_INTRINSICS_INL_H_
#define RELAYCELL_KERNELS_X86_INTRINSICS_INL_H_

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // RELAYCELL_KERNELS_X86_INTRINSICS_INL_H_
