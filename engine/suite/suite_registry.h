// Every cell suite this build knows, by id (the number kOpen parameters carry) and by name.
// circuit/ and the tools find suites here; adding a suite adds it here and nowhere above.
#ifndef RELAYCELL_ENGINE_SUITE_SUITE_REGISTRY_H_
#define RELAYCELL_ENGINE_SUITE_SUITE_REGISTRY_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "engine/suite/cell_suite.h"

namespace relaycell {

inline constexpr SuiteId kAezSuiteId = 0;
inline constexpr SuiteId kTor1SuiteId = 1;
inline constexpr SuiteId kCgoSuiteId = 2;
inline constexpr size_t kMaxSuites = 8;  // ids are below this

// nullptr if no suite has that id / name.
const CellSuite* FindSuite(SuiteId id);
const CellSuite* FindSuite(std::string_view name);
// In id order.
std::span<const CellSuite* const> AllSuites();

const CellSuite& AezCellSuite();
const CellSuite& Tor1CellSuite();
const CellSuite& CgoCellSuite();

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_SUITE_REGISTRY_H_
