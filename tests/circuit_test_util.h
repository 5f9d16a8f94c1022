// A client and its relays wired together in memory, for the circuit tests.
#ifndef RELAYCELL_TESTS_CIRCUIT_TEST_UTIL_H_
#define RELAYCELL_TESTS_CIRCUIT_TEST_UTIL_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"

namespace relaycell::testing {

using Cell = std::array<uint8_t, kCellBytes>;

// Every registered suite, for INSTANTIATE_TEST_SUITE_P: a suite added to the registry is
// tested by every suite-parameterised test without a change here.
inline std::vector<SuiteId> AllSuiteIds() {
  std::vector<SuiteId> ids;
  for (const CellSuite* suite : AllSuites()) ids.push_back(suite->id());
  return ids;
}
inline std::string SuiteParamName(const ::testing::TestParamInfo<SuiteId>& info) {
  return FindSuite(info.param)->name();
}

inline std::vector<uint8_t> SeedFor(const CellSuite& suite, int hop) {
  std::vector<uint8_t> seed(suite.min_seed_bytes());
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = uint8_t(hop * 37 + i * 11 + 5);
  return seed;
}

struct Path {
  ClientCircuit client;
  std::vector<RelayCircuit> relays;
  int hops = 0;

  static constexpr uint32_t kBaseId = 7000;

  void Build(const CellSuite& suite, int n) {
    hops = n;
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int i = 0; i < n; ++i) seeds.push_back(SeedFor(suite, i + 1));
    for (auto& s : seeds) views.emplace_back(s);
    ASSERT_EQ(ClientCircuit::Create(suite, kBaseId, views, client), SuiteError::kOk);
    relays.resize(size_t(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(RelayCircuit::Create(suite, seeds[size_t(i)], kBaseId + uint32_t(i),
                                     i + 1 < n ? kBaseId + uint32_t(i) + 1 : 0, relays[size_t(i)]),
                SuiteError::kOk);
    }
  }
};

inline std::vector<uint8_t> TestData(size_t length, uint32_t salt) {
  std::vector<uint8_t> data(length);
  uint32_t x = salt * 2654435761u + 1;
  for (auto& b : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = uint8_t(x);
  }
  return data;
}

}  // namespace relaycell::testing

#endif  // RELAYCELL_TESTS_CIRCUIT_TEST_UTIL_H_
