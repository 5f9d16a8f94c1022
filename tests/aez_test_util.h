// Shared helpers for the AEZ tests: deterministic random bytes and key setup.
#ifndef RELAYCELL_TESTS_AEZ_TEST_UTIL_H_
#define RELAYCELL_TESTS_AEZ_TEST_UTIL_H_

#include <cstdint>
#include <random>
#include <vector>

#include "engine/aez/aez.h"

namespace relaycell::aez_test {

inline std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

struct TestKey {
  std::vector<uint8_t> extracted;
  AezKey key;
  explicit TestKey(std::mt19937_64& rng) : extracted(RandomBytes(rng, 48)) {
    key.Init(std::span<const uint8_t, 48>(extracted.data(), 48));
  }
  std::span<const uint8_t, 48> raw() const {
    return std::span<const uint8_t, 48>(extracted.data(), 48);
  }
};

}  // namespace relaycell::aez_test

#endif  // RELAYCELL_TESTS_AEZ_TEST_UTIL_H_
