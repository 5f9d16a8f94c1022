// Suite "cgo": Tor's Counter Galois Onion (proposal 359), bit-compatible with Tor 0.4.9 and
// Arti. Each hop and direction is a CgoDirection; cells of many circuits run in a CgoCellBatch.
// CGO rekeys itself on every recognized or originated cell, so it takes no RELAY_REKEY (a REKEY
// on a cgo circuit is a protocol error, as on tor1).
//
// Key material per hop: 160 bytes as Tor's relay_crypto_init splits them for CGO: forward
// K (64) | N (16), then backward K (64) | N (16); T' starts as zeros.
// Relay payload: Tor's relay message format v1 (RELAY_CELL_FORMAT_V1): the tag's 16 bytes, the
// command at 16, the length at 17-18, a stream id at 19-20 for the commands Tor gives one
// (BEGIN, DATA, END, CONNECTED, RESOLVE, RESOLVED, BEGIN_DIR, XOFF, XON, and this protocol's
// DSKE), then the data.
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_SUITE_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_SUITE_H_

#include <cstdint>
#include <memory>
#include <span>

#include "engine/suite/cell_suite.h"
#include "engine/suite/cgo/cgo_direction.h"
#include "engine/suite/relay_format.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {

// Relay commands that carry a stream id in format v1 (Tor's relay_cmd_expects_streamid_in_v1,
// plus DSKE = 29).
inline constexpr uint64_t kCgoStreamIdCommands =
    uint64_t{1} << 1 | uint64_t{1} << 2 | uint64_t{1} << 3 | uint64_t{1} << 4 | uint64_t{1} << 11 |
    uint64_t{1} << 12 | uint64_t{1} << 13 | uint64_t{1} << 29 | uint64_t{1} << 43 |
    uint64_t{1} << 44;

// No zero field: the layer's tag check is the whole recognition. The tag's 16 bytes are the
// layer's (zeros from the sender, the nonce once recognized).
inline constexpr RelayFormat kCgoRelayFormat{16, 17, 19,    21, 19, kCgoStreamIdCommands,
                                             0,  0,  false, 0,  16};

class CgoSuite final : public CellSuite {
 public:
  SuiteId id() const override { return kCgoSuiteId; }
  const char* name() const override { return "cgo"; }
  size_t min_seed_bytes() const override { return kCgoHopSeedBytes; }
  size_t max_seed_bytes() const override { return kCgoHopSeedBytes; }
  const RelayFormat& relay_format() const override { return kCgoRelayFormat; }
  bool supports_rekey() const override { return false; }
  SuiteError MakeHop(std::span<const uint8_t> seed, HopLayers& out) const override;
  std::unique_ptr<LayerBatch> MakeBatch() const override;
};

const CellSuite& CgoCellSuite();

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_SUITE_H_
