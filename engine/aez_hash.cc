// AEZ-hash (the tweak vector to Δ) and AEZ-prf. Every E call of a hash is independent: the
// blocks are collected with their offsets and go through the AES-round kernel together.
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "engine/aez.h"
#include "engine/aez_internal.h"
#include "kernels/aes_rounds.h"

namespace relaycell {
namespace {

using aez_internal::XorBlock;

// Collects (block, offset) pairs for AES4 and folds their outputs into an accumulator.
class Aes4Accumulator {
 public:
  Aes4Accumulator(const AezKey& key, uint8_t* sum) : key_(key), sum_(sum) {}
  ~Aes4Accumulator() {
    sodium_memzero(blocks_, 16 * used_);
    sodium_memzero(offsets_, 16 * used_);
  }
  uint8_t* NextBlock() { return blocks_[count_]; }
  uint8_t* NextOffset() { return offsets_[count_]; }
  void Commit() {
    used_ = std::max(used_, ++count_);
    if (count_ == kCapacity) Flush();
  }
  void Flush() {
    if (count_ == 0) return;
    const size_t bytes = 16 * count_;
    kernels::AesRounds(std::span<const uint8_t>(&blocks_[0][0], bytes),
                       std::span<const uint8_t>(&offsets_[0][0], bytes),
                       std::span<const uint8_t>(&key_.blocks().aes4[0][0], 64),
                       std::span<uint8_t>(&blocks_[0][0], bytes));
    for (size_t b = 0; b < count_; ++b) XorBlock(sum_, blocks_[b], sum_);
    count_ = 0;
  }

 private:
  static constexpr size_t kCapacity = 16;
  const AezKey& key_;
  uint8_t* sum_;
  size_t count_ = 0;
  size_t used_ = 0;  // high-water mark: only that much needs wiping
  alignas(16) uint8_t blocks_[kCapacity][16];
  alignas(16) uint8_t offsets_[kCapacity][16];
};

// One string of the tweak vector, at AEZ-hash index j: E^{j,i} of each full block i = 1, 2,
// ... and E^{j,0} of the padded remainder (or of 10* if the string is empty).
void HashString(const AezKey& key, uint64_t j, std::span<const uint8_t> text,
                Aes4Accumulator& acc) {
  const kernels::AezKeyBlocks& b = key.blocks();
  uint8_t jj[16], ipow[16];
  if (j < kernels::kAezJMultiples) {
    std::memcpy(jj, b.j_multiples[j], 16);
  } else {
    aez_internal::MultiplyBlock(b.j_multiples[1], j, jj);
  }
  std::memcpy(ipow, b.i_powers[1], 16);
  size_t i = 1;
  size_t at = 0;
  for (; text.size() - at >= 16; at += 16, ++i) {
    if (i > 8 && i % 8 == 1) kernels::AezDoubleBlock(ipow, ipow);  // 2^ceil(i/8)·I
    std::memcpy(acc.NextBlock(), text.data() + at, 16);
    uint8_t* offset = acc.NextOffset();
    XorBlock(jj, ipow, offset);
    XorBlock(offset, b.l_multiples[i % 8], offset);
    acc.Commit();
  }
  const size_t rest = text.size() - at;
  if (rest > 0 || text.empty()) {
    uint8_t* block = acc.NextBlock();
    std::memset(block, 0, 16);
    if (rest > 0) std::memcpy(block, text.data() + at, rest);
    block[rest] = 0x80;
    XorBlock(jj, b.i_powers[0], acc.NextOffset());  // E^{j,0}: j·J ^ I
    acc.Commit();
  }
  sodium_memzero(jj, sizeof jj);
  sodium_memzero(ipow, sizeof ipow);
}

}  // namespace

void AezHash(const AezKey& key, size_t tau_bytes, std::span<const uint8_t> nonce, AezAdVector ad,
             std::span<uint8_t, kAezDeltaBytes> delta) {
  AezHashTauBits(key, uint64_t{tau_bytes} * 8, nonce, ad, delta);
}

void AezHashTauBits(const AezKey& key, uint64_t tau_bits, std::span<const uint8_t> nonce,
                    AezAdVector ad, std::span<uint8_t, kAezDeltaBytes> delta) {
  alignas(16) uint8_t sum[16] = {};
  {
    Aes4Accumulator acc(key, sum);
    if (tau_bits == 0) {
      std::memcpy(sum, key.hash_tau0(), 16);
    } else {
      // E^{3,1}([8·tau]_128).
      uint8_t* block = acc.NextBlock();
      std::memset(block, 0, 16);
      for (int k = 0; k < 8; ++k) block[15 - k] = static_cast<uint8_t>(tau_bits >> (8 * k));
      aez_internal::TweakOffset(key, 3, 1, acc.NextOffset());
      acc.Commit();
    }
    HashString(key, 4, nonce, acc);
    for (size_t k = 0; k < ad.size(); ++k) HashString(key, 5 + k, ad[k], acc);
    acc.Flush();
  }
  std::memcpy(delta.data(), sum, 16);
  sodium_memzero(sum, sizeof sum);
}

void AezPrf(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
            std::span<uint8_t> out) {
  // E^{-1,3}(Δ ^ [i]_128) = AES10(Δ ^ [i]_128 ^ 3L), i = 0, 1, ...
  constexpr size_t kChunk = 16;
  alignas(16) uint8_t in[kChunk][16];
  alignas(16) uint8_t offsets[kChunk][16];
  for (size_t b = 0; b < kChunk; ++b) std::memcpy(offsets[b], key.blocks().l_multiples[3], 16);
  uint64_t counter = 0;
  for (size_t at = 0; at < out.size();) {
    const size_t blocks = std::min(kChunk, (out.size() - at + 15) / 16);
    for (size_t b = 0; b < blocks; ++b, ++counter) {
      std::memcpy(in[b], delta.data(), 16);
      for (int k = 0; k < 8; ++k) in[b][15 - k] ^= static_cast<uint8_t>(counter >> (8 * k));
    }
    kernels::AesRounds(std::span<const uint8_t>(&in[0][0], 16 * blocks),
                       std::span<const uint8_t>(&offsets[0][0], 16 * blocks),
                       std::span<const uint8_t>(&key.blocks().aes10[0][0], 160),
                       std::span<uint8_t>(&in[0][0], 16 * blocks));
    const size_t take = std::min(16 * blocks, out.size() - at);
    std::memcpy(out.data() + at, in, take);
    at += take;
  }
  sodium_memzero(in, sizeof in);
  sodium_memzero(offsets, sizeof offsets);
}

}  // namespace relaycell
