// Suite "tor1" (protocol §5): Tor's relay crypto, bit-compatible with Tor and Arti.
//
// Per hop and direction: AES-128-CTR with a zero IV, one keystream for the circuit's life, and a
// running SHA-1 digest seeded with Df / Db. Key material Df[20] | Db[20] | Kf[16] | Kb[16].
// A cell is recognized when recognized == 0 and the digest field equals the first 4 bytes of
// the running digest over the cell with that field zeroed. No RELAY_REKEY.
#ifndef RELAYCELL_ENGINE_SUITE_TOR1_LAYER_H_
#define RELAYCELL_ENGINE_SUITE_TOR1_LAYER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/suite/cell_suite.h"
#include "engine/common/key_arena.h"
#include "engine/suite/tor1_direction.h"

namespace relaycell {

inline constexpr size_t kTor1SeedBytes = 72;

// The tor1 suite object; see CellSuite. Layers keep their direction state in KeyArena slots.
class Tor1Suite final : public CellSuite {
 public:
  SuiteId id() const override { return kTor1SuiteId; }
  const char* name() const override { return "tor1"; }
  size_t min_seed_bytes() const override { return kTor1SeedBytes; }
  size_t max_seed_bytes() const override { return kTor1SeedBytes; }
  const RelayFormat& relay_format() const override { return kTor1RelayFormat; }
  bool supports_rekey() const override { return false; }
  SuiteError MakeHop(std::span<const uint8_t> seed, HopLayers& out) const override;
  // tor1 runs cell by cell: one AES-CTR job and one SHA-1 per cell, nothing to interleave.
  std::unique_ptr<LayerBatch> MakeBatch() const override {
    return std::make_unique<SerialLayerBatch>();
  }
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_TOR1_LAYER_H_
