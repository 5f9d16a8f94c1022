// RELAYCELL_UNDER_SANITIZER: defined when ASan or TSan instruments this build (g++ spells it
// one way, clang another). Tests whose subject the sanitizer changes (stack frames, address
// space, timing) skip on it.
#ifndef RELAYCELL_TESTS_SANITIZER_H_
#define RELAYCELL_TESTS_SANITIZER_H_

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RELAYCELL_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RELAYCELL_UNDER_SANITIZER 1
#endif
#endif

#endif  // RELAYCELL_TESTS_SANITIZER_H_
