#include "engine/suite/cgo/cgo_suite.h"

#include "engine/suite/cgo/cgo_cell_batch.h"

namespace relaycell {

SuiteError CgoSuite::MakeHop(std::span<const uint8_t> seed, HopLayers& out) const {
  if (seed.size() != kCgoHopSeedBytes) return SuiteError::kBadSeedLength;
  CgoHopDirections directions;
  if (!MakeCgoHop(seed.first<kCgoHopSeedBytes>(), directions)) return SuiteError::kOutOfKeyMemory;
  out.forward = AsLayerBox(std::move(directions.forward));
  out.backward = AsLayerBox(std::move(directions.backward));
  return SuiteError::kOk;
}

// The batch holds 64 cells' scratch (about 42 KiB): on the heap, made once per pipeline.
std::unique_ptr<LayerBatch> CgoSuite::MakeBatch() const { return std::make_unique<CgoCellBatch>(); }

const CellSuite& CgoCellSuite() {
  static const CgoSuite suite;
  return suite;
}

}  // namespace relaycell
