#include "engine/suite/suite_registry.h"

#include <array>

namespace relaycell {
namespace {

// In id order: a suite's id is its index.
const auto& Registry() {
  static const std::array<const CellSuite*, 3> suites{&AezCellSuite(), &Tor1CellSuite(),
                                                      &CgoCellSuite()};
  return suites;
}

}  // namespace

const CellSuite* FindSuite(SuiteId id) {
  const auto& suites = Registry();
  return id < suites.size() ? suites[id] : nullptr;
}

const CellSuite* FindSuite(std::string_view name) {
  for (const CellSuite* suite : Registry()) {
    if (name == suite->name()) return suite;
  }
  return nullptr;
}

std::span<const CellSuite* const> AllSuites() { return Registry(); }

}  // namespace relaycell
