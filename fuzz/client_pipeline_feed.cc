// Arbitrary batches over many client circuits into a ClientPipeline driven directly (one thread,
// deterministic): opens (well formed or not), originations to any hop, cells from hop 1, host
// closes, in any order and any bytes. The same items go through a pipeline fed batches and one
// fed an item at a time: outputs and counters must be identical (a batch runs the layers of
// several circuits in rounds, so this is the property that can break), and every output well
// formed.
//
// Input: repeated records  kind u8 | circuit u8 | flags u8 | 16 bytes that seed the cell.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "circuit/pipeline/client_pipeline.h"
#include "circuit/relay_header.h"
#include "engine/suite/tor1_layer.h"
#include "fuzz/pipeline_pair.h"
#include "engine/suite/suite_registry.h"

namespace {

constexpr size_t kCircuits = 16;

relaycell::InCell MakeInput(const uint8_t* r) {
  using namespace relaycell;
  InCell in;
  const uint32_t id = 1 + uint32_t(r[1] % kCircuits);
  const uint8_t flags = r[2];
  in.channel = 1;
  for (size_t i = 0; i < kCellBytes; ++i)
    in.cell.bytes[i] = uint8_t(r[3 + i % 16] + i * (r[3] | 1));
  switch (r[0] % 6) {
    case 0: {  // open with 1..3 hops, sometimes left as raw bytes (malformed)
      if (flags & 0x40) {
        in.kind = InKind::kOpen;
        break;
      }
      const SuiteId suite = (flags & 1) ? kTor1SuiteId : kAezSuiteId;
      const size_t seed_bytes = suite == kTor1SuiteId ? kTor1SeedBytes : 32;
      uint8_t seeds[3][kTor1SeedBytes];
      std::span<const uint8_t> views[3];
      const size_t hops = 1 + (flags >> 1) % 3;
      for (size_t h = 0; h < hops; ++h) {
        for (size_t i = 0; i < seed_bytes; ++i)
          seeds[h][i] = uint8_t(r[3 + (i + h) % 16] ^ (i * 7 + h));
        views[h] = std::span<const uint8_t>(seeds[h], seed_bytes);
      }
      EncodeClientOpen(1, id, {suite, std::span<const std::span<const uint8_t>>(views, hops)}, in);
      break;
    }
    case 1:
      in.kind = InKind::kClose;
      WriteCellHeader(id, CellCommand::kDestroy, in.cell.span());
      break;
    case 2: {  // a payload to some hop: well formed data, or whatever the bytes say
      in.kind = InKind::kOriginate;
      in.hop = uint8_t(flags % 5);  // 0 and past the circuit's length are refused
      WriteCellHeader(id, (flags & 0x20) ? CellCommand::kRelayEarly : CellCommand::kRelay,
                      in.cell.span());
      if (!(flags & 0x10)) {
        const uint8_t data[8] = {r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]};
        BuildRelayPayload((flags & 1) ? kTor1RelayFormat : kAezRelayFormat,
                          {RelayCommand::kData, uint16_t(1 + r[11]), uint16_t(r[12] % 9)},
                          std::span<const uint8_t>(data, r[12] % 9), in.cell.payload());
      }
      break;
    }
    default:  // a cell from hop 1: a valid-looking header, or raw bytes
      if (!(flags & 0x20)) {
        WriteCellHeader(id, (flags & 0x10) ? CellCommand::kPadding : CellCommand::kRelay,
                        in.cell.span());
      }
      break;
  }
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell;
  ClientPipelineConfig config;
  config.max_circuits = kCircuits;
  ClientPipeline batched(config);
  ClientPipeline single(config);
  for (const OutItem& o : fuzz::FeedBothAndCompare(batched, single, data, size, MakeInput)) {
    if (!ParseCell(o.cell.span()).ok() && o.kind != OutKind::kDeliver) std::abort();
  }
  const ClientPipelineCounters& a = batched.counters();
  const ClientPipelineCounters& b = single.counters();
  if (a.originated != b.originated || a.delivered != b.delivered || a.ignored != b.ignored ||
      a.opened != b.opened || a.open_failed != b.open_failed || a.destroyed != b.destroyed ||
      a.unknown_circuit != b.unknown_circuit || a.originate_refused != b.originate_refused) {
    std::abort();
  }
  return 0;
}
