// The constant-time check (docs/security.md): with -DRELAYCELL_CT_CHECK=ON (the `ctcheck`
// preset) every secret is marked undefined for Valgrind's memcheck where it enters the engine,
// and marked defined again only where it becomes public by design. Memcheck then reports every
// branch and every memory address that depends on a secret ("Conditional jump or move depends
// on uninitialised value(s)", "Use of uninitialised value of size 8"), and tests/ct_check_test.cc
// runs under `valgrind --error-exitcode=1`.
//
// Without RELAYCELL_CT_CHECK both macros compile to nothing (their arguments are not even
// evaluated), so the default builds are unchanged. Under the check but outside Valgrind they
// cost a few instructions each (a client request is a no-op on real hardware).
//
//   RELAYCELL_CT_SECRET(ptr, len)  the len bytes at ptr are secret from here on. Only where a
//                                  secret enters: a key seed, a KDF output, an AEZ key, Shamir's
//                                  secret and coefficient key, AMD's key and x, a PSRD read.
//   RELAYCELL_CT_PUBLIC(ptr, len)  they are public from here on. Only where a value is public by
//                                  design (a cell that leaves its layer, a recognized flag, a MAC
//                                  or AEAD verdict), each with a comment saying why.
#ifndef RELAYCELL_ENGINE_COMMON_CT_CHECK_H_
#define RELAYCELL_ENGINE_COMMON_CT_CHECK_H_

#ifdef RELAYCELL_CT_CHECK
#include <valgrind/memcheck.h>

#define RELAYCELL_CT_SECRET(ptr, len) \
  static_cast<void>(VALGRIND_MAKE_MEM_UNDEFINED(static_cast<const void*>(ptr), (len)))
#define RELAYCELL_CT_PUBLIC(ptr, len) \
  static_cast<void>(VALGRIND_MAKE_MEM_DEFINED(static_cast<const void*>(ptr), (len)))
#else
#define RELAYCELL_CT_SECRET(ptr, len) static_cast<void>(sizeof(ptr) + sizeof(len))
#define RELAYCELL_CT_PUBLIC(ptr, len) static_cast<void>(sizeof(ptr) + sizeof(len))
#endif

#endif  // RELAYCELL_ENGINE_COMMON_CT_CHECK_H_
