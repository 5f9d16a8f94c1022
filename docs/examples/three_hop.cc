// A three-hop aez circuit in memory: the client sends data to each hop and each hop answers.
// Returns non-zero on any mismatch. (docs/embedding.md walks through this file.)
#include <array>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "circuit/cell.h"
#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"

using namespace relaycell;

int main() {
  constexpr int kHops = 3;
  // Key seeds come from the host's handshakes (CREATE2/CREATED2); fixed bytes here.
  std::vector<std::vector<uint8_t>> seeds;
  for (int h = 0; h < kHops; ++h) seeds.emplace_back(32, uint8_t(0x41 + h));
  std::vector<std::span<const uint8_t>> seed_views(seeds.begin(), seeds.end());

  // The client, and each relay with its circuit ids towards the client and the next hop.
  ClientCircuit client;
  if (ClientCircuit::Create(AezCellSuite(), /*circ_id=*/10, seed_views, client) != SuiteError::kOk)
    return 1;
  std::array<RelayCircuit, kHops> relays;
  for (int h = 0; h < kHops; ++h) {
    const uint32_t towards_client = 10 + uint32_t(h);
    const uint32_t towards_next = h + 1 < kHops ? towards_client + 1 : 0;  // 0: last hop
    if (RelayCircuit::Create(AezCellSuite(), seeds[size_t(h)], towards_client, towards_next,
                             relays[size_t(h)]) != SuiteError::kOk) {
      return 1;
    }
  }

  std::array<uint8_t, kCellBytes> cell;
  for (int hop = 1; hop <= kHops; ++hop) {
    // Forward: the client originates a DATA cell to `hop`; relays peel until it is delivered.
    const char request[] = "GET / HTTP/1.0";
    const RelayHeader header{RelayCommand::kData, /*stream_id=*/7, uint16_t(sizeof request)};
    const std::span<const uint8_t> request_bytes(reinterpret_cast<const uint8_t*>(request),
                                                 sizeof request);
    if (client.Originate(hop, header, request_bytes, /*early=*/false, cell) !=
        OriginateError::kOk) {
      return 2;
    }
    for (int h = 0; h < hop; ++h) {
      const CellResult r = relays[size_t(h)].HandleForward(cell);
      const bool last = h + 1 == hop;
      if (!last && r.outcome != CellOutcome::kForward) return 3;
      if (last && (r.outcome != CellOutcome::kDelivered || r.data.size() != sizeof request ||
                   std::memcmp(r.data.data(), request, sizeof request) != 0)) {
        return 4;
      }
    }

    // Backward: the hop answers; the relays before it add their layers; the client delivers.
    const char reply[] = "HTTP/1.0 200 OK";
    const std::span<const uint8_t> reply_bytes(reinterpret_cast<const uint8_t*>(reply),
                                               sizeof reply);
    if (relays[size_t(hop - 1)].Originate({RelayCommand::kData, 7, uint16_t(sizeof reply)},
                                          reply_bytes, cell) != OriginateError::kOk) {
      return 5;
    }
    for (int h = hop - 2; h >= 0; --h) {
      if (relays[size_t(h)].HandleBackward(cell).outcome != CellOutcome::kForward) return 6;
    }
    const CellResult r = client.Receive(cell);
    if (r.outcome != CellOutcome::kDelivered || r.hop != hop || r.data.size() != sizeof reply ||
        std::memcmp(r.data.data(), reply, sizeof reply) != 0) {
      return 7;
    }
    std::printf("hop %d: request delivered, reply delivered\n", hop);
  }

  // Closing: the client tells hop 1; each relay passes DESTROY on.
  BuildDestroyCell(10, DestroyReason::kFinished, cell);
  if (relays[0].HandleForward(cell).outcome != CellOutcome::kDestroyed) return 8;
  return 0;
}
