// Shows that the constant-time check fails when it should: two planted leaks on a secret the
// engine marked itself (AezKey::Init marks I, J and L), and a control without them.
//
//   ct_check_leak none     constant-time compare and a computed S-box: valgrind exits 0
//   ct_check_leak branch   key bytes compared with an early exit: a branch on a secret
//   ct_check_leak index    an S-box looked up in a table at key bytes: a secret address
//
// ctest runs each under `valgrind --error-exitcode=1` and expects exit 0 for `none` and exit 1
// with memcheck's report naming the planted function for the other two (tests/CMakeLists.txt).
// The program itself exits 0, or 2 when misused, so a 1 can only come from memcheck.
#include <sodium.h>
#include <valgrind/valgrind.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "engine/aez/aez.h"
#include "engine/common/ct_check.h"
#include "kernels/aes_rounds.h"

namespace {

volatile uint8_t sink;

// The leak of a hand-written compare (memcmp, or a loop like this one in a MAC check): it
// returns at the first differing byte, so its time says how many leading bytes of a guess
// were right.
__attribute__((noinline)) bool EarlyExitEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// The leak of table-driven AES: the S-box row fetched depends on a key byte, so the cache
// line touched does too.
uint8_t kSbox[256];
__attribute__((noinline)) void SboxLookup(const uint8_t* secret, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; ++i) acc ^= kSbox[secret[i]];
  sink = acc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || !RUNNING_ON_VALGRIND || sodium_init() < 0) {
    std::fprintf(stderr, "usage: valgrind ct_check_leak none|branch|index\n");
    return 2;
  }
  for (int i = 0; i < 256; ++i) kSbox[i] = static_cast<uint8_t>(i * 7 + 99);

  uint8_t raw[relaycell::kAezKeyBytes];
  for (size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<uint8_t>(i * 13 + 5);
  const relaycell::AezKey key{std::span<const uint8_t, relaycell::kAezKeyBytes>(raw)};
  // A tag under the key: secret until the verdict on it is.
  alignas(16) const uint8_t delta[16] = {}, zeros[16] = {};
  uint8_t tag[16];
  relaycell::AezEncipher(key, delta, zeros, tag);
  const uint8_t guess[16] = {0x42};

  const char* mode = argv[1];
  if (std::strcmp(mode, "none") == 0) {
    bool equal = sodium_memcmp(tag, guess, sizeof tag) == 0;
    RELAYCELL_CT_PUBLIC(&equal, sizeof equal);  // a MAC verdict, as wc_mac::VerifyTag has it
    uint8_t round[16];
    relaycell::kernels::AesRoundReference(key.I().data(), key.J().data(), round);  // computed
    sink = round[0];
    std::printf("none: equal=%d\n", equal ? 1 : 0);
  } else if (std::strcmp(mode, "branch") == 0) {
    // On key bytes, not on the tag: memcheck keeps the origin (the marking in AezKey::Init)
    // through copies and XORs, but not through AESENC, and the wrapper checks the origin.
    std::printf("branch: equal=%d\n", EarlyExitEqual(key.I().data(), guess, 16) ? 1 : 0);
  } else if (std::strcmp(mode, "index") == 0) {
    SboxLookup(key.I().data(), 16);
    std::printf("index: done\n");
  } else {
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
