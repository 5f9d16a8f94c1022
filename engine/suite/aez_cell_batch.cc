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
// Run's own frame, between its caller's frame and its callees' (56 bytes with g++ 12 -O3: its
// working lists are members).
constexpr size_t kRunFrameBytes = 1024;

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
  size_t encipher_count = 0, decipher_count = 0;
  for (size_t i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    e.direction->Prepare(e.is_early, deltas_[i]);
    // In place, the input's head is gone after the batch: keep it. Out of place it stays.
    if (e.in == e.out) std::memcpy(heads_[i], e.in, kAezPrevBytes);
    const AezBatchJob job{&e.direction->key(), deltas_[i], e.in, e.out, kCellBodyBytes};
    if (e.op == Op::kEncipher) {
      encipher_[encipher_count++] = job;
    } else {
      decipher_[decipher_count++] = job;
    }
  }
  AezEncipherBatch(std::span<const AezBatchJob>(encipher_, encipher_count));
  AezDecipherBatch(std::span<const AezBatchJob>(decipher_, decipher_count));

  // Encipher: the saved head is plaintext, the body's is ciphertext; decipher the reverse.
  for (size_t i = 0; i < count_; ++i) {
    const Entry& e = entries_[i];
    directions_[i] = e.direction;
    const bool enciphered = e.op == Op::kEncipher;
    const uint8_t* input_head = e.in == e.out ? heads_[i] : e.in;
    plaintext_heads_[i] = enciphered ? input_head : e.out;
    ciphertext_heads_[i] = enciphered ? e.out : input_head;
  }
  AezCellDirection::FinishMany(std::span<AezCellDirection* const>(directions_, count_),
                               std::span<const uint8_t* const>(plaintext_heads_, count_),
                               std::span<const uint8_t* const>(ciphertext_heads_, count_));
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
