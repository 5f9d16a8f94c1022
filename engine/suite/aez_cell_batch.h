// The aez layer of many cells at once, each cell on its own hop direction: what lets a relay
// or client engine keep the AES units full across circuits (Tor does one cell at a time).
//
//   AezCellBatch batch;
//   batch.Add(direction, body, early, AezCellBatch::Op::kDecipher);  // at most once per
//   batch.Add(...);                                                       // direction per Run
//   batch.Run();  // every body transformed, every direction advanced: as if each cell had
//                 // gone through AezCellDirection::Encipher/Decipher on its own
//
// Run computes each cell's Δ (the hash is per cell: it depends on the direction's state), then
// runs all cells through AezEncipherBatch / AezDecipherBatch, then advances every direction,
// its AES-256 chain step interleaved with three others. A cell's Δ depends on the previous cell
// of its direction, so a direction may appear once per Run; the caller runs the batch before
// adding a second cell of a direction already in it.
#ifndef RELAYCELL_ENGINE_SUITE_AEZ_CELL_BATCH_H_
#define RELAYCELL_ENGINE_SUITE_AEZ_CELL_BATCH_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/suite/aez_layer.h"

namespace relaycell {

class AezCellBatch final : public LayerBatch {
 public:
  enum class Op : uint8_t { kEncipher, kDecipher };

  AezCellBatch() = default;
  ~AezCellBatch() override;  // wipes the saved cell heads and deltas
  AezCellBatch(const AezCellBatch&) = delete;
  AezCellBatch& operator=(const AezCellBatch&) = delete;

  size_t size() const override { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == kCapacity; }

  // Queues `in`, transformed into `out` by Run (the same span: in place; else no overlap).
  // False, nothing queued, when full. Both must stay valid and untouched until Run;
  // `direction` must not be queued already.
  bool Add(AezCellDirection& direction, ConstCellBody in, CellBody out, bool is_early, Op op,
           bool* recognized = nullptr);
  bool Add(AezCellDirection& direction, CellBody body, bool is_early, Op op,
           bool* recognized = nullptr) {
    return Add(direction, body, body, is_early, op, recognized);
  }
  // LayerBatch: `layer` is one of this suite's (suite_id() == kAezSuiteId).
  using LayerBatch::Add;
  void Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
           bool* recognized) override;

  // Transforms every queued cell and advances its direction; the batch is empty afterwards.
  size_t RunLeavingStack() override;

 private:
  struct Entry {
    AezCellDirection* direction;
    const uint8_t* in;
    uint8_t* out;
    bool is_early;
    Op op;
    bool* recognized;  // decipher: where the verdict goes, or null
  };
  std::array<Entry, kCapacity> entries_;
  size_t count_ = 0;
  alignas(16) uint8_t deltas_[kCapacity][kAezDeltaBytes];
  uint8_t heads_[kCapacity][kAezPrevBytes];  // each in-place cell's first 32 input bytes
  // Run's working lists (pointers only), here and not in Run's frame: the stack a caller of
  // RunLeavingStack wipes is then the kernels' frames and little more.
  AezBatchJob encipher_[kCapacity], decipher_[kCapacity];
  AezCellDirection* directions_[kCapacity];
  const uint8_t* plaintext_heads_[kCapacity];
  const uint8_t* ciphertext_heads_[kCapacity];
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_AEZ_CELL_BATCH_H_
