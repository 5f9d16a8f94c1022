#include "engine/suite/aez_cell_batch.h"

#include <sodium.h>

#include <cassert>
#include <cstring>

#include "engine/aez/aez.h"
#include "engine/common/wipe_stack.h"

namespace relaycell {
namespace {

// How deep Run's callees (AEZ-core, AEZ-hash, the chain steps) leave the stack below Run's own
// frame, which holds only pointers. Measured in a batch of 64 (g++ 12 -O3, x86-64): about
// 3.6 KiB on the raw VAES paths, 7.3 to 7.7 KiB on Highway's AVX2, AVX3 and SSSE3 targets,
// 8.1 KiB on scalar; tests/key_gone_test.cc checks every path this CPU runs and fails with 4 KiB,
// passes with 8. A quarter more for other compilers. About 70 ns a batch: 1% of a full batch.
constexpr size_t kRunStackWipeBytes = 10 * 1024;
// Run's own frame (6.6 KiB with g++ 12 -O3: the job and head arrays), which lies between its
// caller's frame and its callees'.
constexpr size_t kRunFrameBytes = 8 * 1024;

}  // namespace

AezCellBatch::~AezCellBatch() {
  sodium_memzero(heads_, sizeof heads_);
  sodium_memzero(deltas_, sizeof deltas_);
}

void AezCellBatch::Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
                       bool* recognized) {
  assert(layer.suite_id() == kAezSuiteId);
  Add(static_cast<AezCellDirection&>(layer), in, out, early,
      IsDecryptOp(op) ? Op::kDecipher : Op::kEncipher, recognized);
}

bool AezCellBatch::Add(AezCellDirection& direction, ConstCellBody in, CellBody out, bool is_early,
                       Op op, bool* recognized) {
  if (full()) return false;
#ifndef NDEBUG
  for (size_t i = 0; i < count_; ++i) assert(entries_[i].direction != &direction);
#endif
  entries_[count_++] = {&direction, in.data(), out.data(), is_early, op, recognized};
  return true;
}

size_t AezCellBatch::RunLeavingStack() {
  if (count_ == 0) return 0;
  AezBatchJob encipher[kCapacity], decipher[kCapacity];
  size_t encipher_count = 0, decipher_count = 0;
  for (size_t i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    e.direction->Prepare(e.is_early, deltas_[i]);
    // In place, the input's head is gone after the batch: keep it. Out of place it stays.
    if (e.in == e.out) std::memcpy(heads_[i], e.in, kAezPrevBytes);
    const AezBatchJob job{&e.direction->key(), deltas_[i], e.in, e.out, kCellBodyBytes};
    if (e.op == Op::kEncipher) {
      encipher[encipher_count++] = job;
    } else {
      decipher[decipher_count++] = job;
    }
  }
  AezEncipherBatch(std::span<const AezBatchJob>(encipher, encipher_count));
  AezDecipherBatch(std::span<const AezBatchJob>(decipher, decipher_count));

  // Encipher: the saved head is plaintext, the body's is ciphertext; decipher the reverse.
  AezCellDirection* directions[kCapacity];
  const uint8_t* plaintext_heads[kCapacity];
  const uint8_t* ciphertext_heads[kCapacity];
  for (size_t i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    directions[i] = e.direction;
    const bool enciphered = e.op == Op::kEncipher;
    const uint8_t* input_head = e.in == e.out ? heads_[i] : e.in;
    plaintext_heads[i] = enciphered ? input_head : e.out;
    ciphertext_heads[i] = enciphered ? e.out : input_head;
  }
  AezCellDirection::FinishMany(std::span<AezCellDirection* const>(directions, count_),
                               std::span<const uint8_t* const>(plaintext_heads, count_),
                               std::span<const uint8_t* const>(ciphertext_heads, count_));
  for (size_t i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    if (e.recognized != nullptr) *e.recognized = AezCellRecognized(CellBody(e.out, kCellBodyBytes));
  }
  sodium_memzero(heads_, count_ * kAezPrevBytes);
  sodium_memzero(deltas_, count_ * kAezDeltaBytes);
  count_ = 0;
  // Round keys and cipher state the kernels spilled, and the frames they left, for the caller
  // to wipe (LayerBatch::Run does at once; a pipeline once per batch of groups).
  return kRunFrameBytes + kRunStackWipeBytes;
}

}  // namespace relaycell
