// Feeds an arbitrary stream of cells into a relay circuit (both sides) and a client circuit.
// Input: a suite byte, then records of [direction byte][up to 514 cell bytes]. Invariants: a
// destroyed circuit never delivers again; a delivered cell's data lies inside the cell; every
// protocol error is counted.
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/tor1_layer.h"
#include "engine/suite/suite_registry.h"

namespace {

using namespace relaycell;

void Check(const CellResult& r, std::array<uint8_t, kCellBytes>& cell, bool was_open,
           const CircuitErrorCounters& before, const CircuitErrorCounters& after) {
  if (!was_open && r.outcome != CellOutcome::kClosed) __builtin_trap();
  if (r.outcome == CellOutcome::kDelivered &&
      (r.data.data() < cell.data() || r.data.data() + r.data.size() > cell.data() + cell.size())) {
    __builtin_trap();
  }
  if (r.error != ProtocolError::kNone && after.Total() != before.Total() + 1) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const CellSuite& suite = (data[0] & 1) ? Tor1CellSuite() : AezCellSuite();
  std::vector<uint8_t> seed(suite.id() == kTor1SuiteId ? kTor1SeedBytes : 32, 0x5a);
  const std::span<const uint8_t> seeds[2] = {seed, seed};
  ClientCircuit client;
  RelayCircuit relay;
  if (ClientCircuit::Create(suite, 1, seeds, client) != SuiteError::kOk) return 0;
  if (RelayCircuit::Create(suite, seed, 1, 2, relay) != SuiteError::kOk) return 0;
  size_t at = 1;
  while (at < size) {
    const uint8_t direction = data[at++] % 3;
    std::array<uint8_t, kCellBytes> cell{};
    const size_t n = size - at < cell.size() ? size - at : cell.size();
    std::memcpy(cell.data(), data + at, n);
    at += n;
    if (direction == 0) {
      const bool open = relay.is_open();
      const CircuitErrorCounters before = relay.errors();
      const CellResult r = relay.HandleForward(cell);
      Check(r, cell, open, before, relay.errors());
    } else if (direction == 1) {
      const bool open = relay.is_open();
      const CircuitErrorCounters before = relay.errors();
      const CellResult r = relay.HandleBackward(cell);
      Check(r, cell, open, before, relay.errors());
    } else {
      const bool open = client.is_open();
      const CircuitErrorCounters before = client.errors();
      const CellResult r = client.Receive(cell);
      Check(r, cell, open, before, client.errors());
    }
  }
  return 0;
}
