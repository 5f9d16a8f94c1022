// Shared by the pipeline harnesses: the same records go through two pipelines, one fed batches
// cut where the input says, the other fed one item per batch (the same path, a batch of one),
// and their outputs must be identical, item for item.
//
// Records are kRecordBytes long: kind u8 | circuit u8 | flags u8 | 16 bytes that seed the cell.
// A record whose flags have the top bit set ends the batch early (batches of 1..64).
#ifndef RELAYCELL_FUZZ_PIPELINE_PAIR_H_
#define RELAYCELL_FUZZ_PIPELINE_PAIR_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "circuit/pipeline/shard.h"

namespace relaycell::fuzz {

inline constexpr size_t kRecordBytes = 19;

// Feeds `data` to both pipelines (make_input turns a record into an InCell), aborts unless
// their outputs are equal, and returns them for the harness's own checks. The batched
// pipeline's output holds `batched_buffer` items: smaller than a group (64), a relay group
// takes its working copies instead of a run of output items.
template <class MakeInput>
std::vector<OutItem> FeedBothAndCompare(ShardProcessor& batched, ShardProcessor& single,
                                        const uint8_t* data, size_t size, MakeInput make_input,
                                        size_t batched_buffer = 64) {
  DirectOutput batched_sink(true, batched_buffer), single_sink;
  InCell batch[64];
  size_t n = 0;
  auto run = [&] {
    batched.ProcessBatch(std::span<const InCell>(batch, n), batched_sink.output());
    for (size_t i = 0; i < n; ++i) {
      single.ProcessBatch(std::span<const InCell>(batch + i, 1), single_sink.output());
    }
    n = 0;
  };
  for (size_t at = 0; at + kRecordBytes <= size; at += kRecordBytes) {
    batch[n++] = make_input(data + at);
    if (n == 64 || (data[at + 2] & 0x80)) run();
  }
  run();
  const std::vector<OutItem>& outputs = batched_sink.items();
  const std::vector<OutItem>& expected = single_sink.items();
  if (outputs.size() != expected.size()) std::abort();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutItem& o = outputs[i];
    const OutItem& e = expected[i];
    if (o.kind != e.kind || o.channel != e.channel || o.hop != e.hop ||
        o.cell.bytes != e.cell.bytes) {
      std::abort();  // a batch must come out as its cells one at a time would
    }
  }
  return outputs;
}

}  // namespace relaycell::fuzz

#endif  // RELAYCELL_FUZZ_PIPELINE_PAIR_H_
