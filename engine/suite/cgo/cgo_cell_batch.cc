#include "engine/suite/cgo/cgo_cell_batch.h"

#include <sodium.h>

#include <cassert>
#include <cstring>

#include "engine/common/wipe_stack.h"

namespace relaycell {

CgoCellBatch::~CgoCellBatch() { sodium_memzero(scratch_.data(), sizeof scratch_); }

bool CgoCellBatch::Add(CgoDirection& direction, CellBody body, uint8_t cmd, CgoOp op,
                       bool* recognized) {
  if (full()) return false;
#ifndef NDEBUG
  for (size_t i = 0; i < count_; ++i) {
    assert(cells_[i].direction != &direction);
    assert(cells_[i].body != body.data());
  }
#endif
  cells_[count_++] = {&direction, body.data(), recognized, op, cmd};
  return true;
}

// CGO transforms in place: out of place, the cell is copied to where it goes first.
void CgoCellBatch::Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
                       bool* recognized) {
  assert(layer.suite_id() == kCgoSuiteId);
  if (in.data() != out.data()) std::memcpy(out.data(), in.data(), kCellBodyBytes);
  Add(static_cast<CgoDirection&>(layer), out, early ? kCgoCmdRelayEarly : kCgoCmdRelay,
      CgoDirection::CgoOpOf(op), recognized);
}

size_t CgoCellBatch::RunLeavingStack() {
  if (count_ == 0) return 0;
  CgoDirection::RunMany(std::span<const CgoCell>(cells_.data(), count_),
                        std::span<CgoCellScratch>(scratch_.data(), count_));
  count_ = 0;
  // Round keys and POLYVAL state the kernels spilled, and the frames they left, for the caller
  // to wipe (LayerBatch::Run does at once; a pipeline once per batch of groups). This frame
  // holds pointers only.
  return kCellCallStackWipeBytes;
}

}  // namespace relaycell
