// Arbitrary batches over many circuits into a RelayPipeline driven directly (one thread,
// deterministic): opens, cells, originates, closes, and next sides attached and detached, in any
// order, any bytes. The engine must never crash and every output must be well formed. The same
// items go through a pipeline fed batches and one fed an item at a time: their outputs and
// counters must be identical (a batch regroups cells across circuits, so this is the property
// that can break). The batched pipeline's output buffer is 7, 64 or 200 items (by the input's
// length), so groups go through working copies as well as straight into output runs.
//
// Input: repeated records  kind u8 | circuit u8 | batch_break u8 | 16 bytes that seed the cell.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "circuit/pipeline/relay_pipeline.h"
#include "fuzz/pipeline_pair.h"

namespace {

constexpr size_t kCircuits = 16;

relaycell::InCell MakeInput(const uint8_t* r) {
  using namespace relaycell;
  InCell in;
  const size_t c = r[1] % kCircuits;
  const uint32_t id = 1 + uint32_t(c);
  const bool from_next = r[1] & 0x80;
  in.channel = from_next ? 2 : 1;
  // Fill the whole cell from the 16 seed bytes so every field can take any value.
  for (size_t i = 0; i < kCellBytes; ++i)
    in.cell.bytes[i] = uint8_t(r[3 + i % 16] + i * (r[3] | 1));
  switch (r[0] % 8) {
    case 0: {  // open (sometimes malformed: then the bytes stay as they are)
      uint8_t seed[32];
      std::memcpy(seed, r + 3, 16);
      std::memcpy(seed + 16, r + 3, 16);
      if (!(r[2] & 0x40)) {
        EncodeRelayOpen(1, id, {SuiteId(r[2] & 1), 2, (r[2] & 2) ? 0x80000000u | id : 0, seed}, in);
      } else {
        in.kind = InKind::kOpen;
      }
      break;
    }
    case 1:
      in.kind = InKind::kClose;
      WriteCellHeader(id, CellCommand::kDestroy, in.cell.span());
      break;
    case 2:
      in.kind = InKind::kOriginate;
      WriteCellHeader(id, CellCommand::kRelay, in.cell.span());
      break;
    case 3:  // a next side for a last hop: the usual next id, or one taken by another circuit
      EncodeRelayAttachNext(
          1, id, 2, (r[2] & 4) ? 0x80000000u | uint32_t(1 + r[3] % kCircuits) : 0x80000000u | id,
          in);
      break;
    case 4:  // the next side is gone: named by either key
      EncodeRelayDetachNext(from_next ? 2 : 1, from_next ? 0x80000000u | id : id, in);
      break;
    default:  // a cell with a valid-looking header for a known id, or raw bytes
      if (!(r[2] & 0x20)) {
        WriteCellHeader(from_next ? 0x80000000u | id : id,
                        (r[2] & 0x10) ? CellCommand::kRelayEarly : CellCommand::kRelay,
                        in.cell.span());
      }
      break;
  }
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell;
  RelayPipelineConfig config;
  config.max_circuits = kCircuits;
  RelayPipeline batched(config);
  RelayPipeline single(config);
  constexpr size_t kBuffers[] = {7, 64, 200};
  const size_t buffer = kBuffers[(size / fuzz::kRecordBytes) % 3];
  for (const OutItem& o :
       fuzz::FeedBothAndCompare(batched, single, data, size, MakeInput, buffer)) {
    if (o.kind == OutKind::kDestroy || o.kind == OutKind::kClosed) {
      if (!ParseCell(o.cell.span()).ok()) std::abort();  // a DESTROY we send is well formed
    } else if (o.cell.circ_id() == 0) {
      std::abort();
    }
  }
  const RelayPipelineCounters& a = batched.counters();
  const RelayPipelineCounters& b = single.counters();
  if (a.forwarded != b.forwarded || a.delivered != b.delivered || a.ignored != b.ignored ||
      a.unknown_circuit != b.unknown_circuit || a.destroyed != b.destroyed ||
      a.opened != b.opened || a.open_failed != b.open_failed || a.attached != b.attached ||
      a.attach_refused != b.attach_refused || a.detached != b.detached ||
      a.detach_refused != b.detach_refused || a.next_destroyed != b.next_destroyed) {
    std::abort();
  }
  if (batched.open_circuits() > kCircuits) std::abort();
  return 0;
}
