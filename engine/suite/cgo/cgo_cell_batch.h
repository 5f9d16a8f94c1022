// CGO cells of many directions at once: what lets a relay or client pipeline batch the ET
// masks and PRF hashes (PolyvalBatch), the ET blocks (four AES-NI chains interleaved) and the
// PRF's AES-CTR jobs (back to back on one ipsec-mb manager) across circuits.
//
//   CgoCellBatch batch;                        // ~42 KiB of scratch: keep one, off the stack
//   batch.Add(*hop.forward, body, cmd, CgoOp::kRelayForward, &recognized);
//   batch.Add(...);                            // each direction and each body at most once
//   batch.Run();                               // every body transformed, every verdict written
//
// Run is CgoDirection::RunMany over the queued cells, the same code a single
// CgoDirection::Apply runs: the result is as if each cell had gone through its direction alone.
// A cell's T' and keys come from the previous cell of its direction, so a direction may appear
// once per Run; a body too (a client's layers of one cell are one Run per layer).
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_CELL_BATCH_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_CELL_BATCH_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/suite/cgo/cgo_direction.h"

namespace relaycell {

class CgoCellBatch final : public LayerBatch {
 public:
  CgoCellBatch() = default;
  ~CgoCellBatch() override;  // wipes the scratch
  CgoCellBatch(const CgoCellBatch&) = delete;
  CgoCellBatch& operator=(const CgoCellBatch&) = delete;

  size_t size() const override { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == kCapacity; }

  // Queues `body` for `op` on `direction`. False, nothing queued, when full. `body` and
  // `recognized` must stay valid and untouched until Run; `direction` must not be queued
  // already. `recognized` (may be null) receives the op's verdict at Run.
  bool Add(CgoDirection& direction, CellBody body, uint8_t cmd, CgoOp op,
           bool* recognized = nullptr);

  // LayerBatch: `layer` is one of this suite's (suite_id() == kCgoSuiteId).
  using LayerBatch::Add;
  void Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
           bool* recognized) override;

  // Runs every queued cell and advances its direction; the batch is empty afterwards.
  size_t RunLeavingStack() override;

 private:
  std::array<CgoCell, kCapacity> cells_;
  size_t count_ = 0;
  std::array<CgoCellScratch, kCapacity> scratch_;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_CELL_BATCH_H_
