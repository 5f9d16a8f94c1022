// AEZ-hash (the tweak vector to Δ) and AEZ-prf. Every E call of a hash is independent: the
// blocks are collected with their offsets and go through the AES-round kernel together.
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "engine/aez/aez.h"
#include "engine/aez/aez_internal.h"
#include "kernels/aes_rounds.h"
#include "kernels/aez_core_rounds.h"

namespace relaycell {
namespace {

using aez_internal::XorBlock;

// Collects whitened blocks (block ^ offset) for AES4 and folds their outputs into `sum` with
// one kernel call per kCapacity blocks (a cell's hash: one call). Also owns the per-string
// scratch (j·J, 2^k·I, offsets), so one wipe at the end covers everything key-derived.
class Aes4Accumulator {
 public:
  Aes4Accumulator(const AezKey& key, uint8_t* sum) : key_(key), sum_(sum) {}
  ~Aes4Accumulator() {
    sodium_memzero(&scratch_, sizeof scratch_);
    sodium_memzero(blocks_, 16 * used_);  // block ^ offset reveals the offset
  }
  void Add(const uint8_t block[16], const uint8_t offset[16]) {
    XorBlock(block, offset, blocks_[count_]);
    used_ = std::max(used_, ++count_);
    if (count_ == kCapacity) Flush();
  }
  void Flush() {
    if (count_ == 0) return;
    kernels::AezAes4XorSum(key_.blocks(), &blocks_[0][0], count_, sum_);
    count_ = 0;
  }

  // One string of the tweak vector, at AEZ-hash index j: E^{j,i} of each full block i = 1,
  // 2, ... and E^{j,0} of the padded remainder (or of 10* if the string is empty).
  void AddString(uint64_t j, std::span<const uint8_t> text) {
    const kernels::AezKeyBlocks& b = key_.blocks();
    Scratch& t = scratch_;
    if (j < kernels::kAezJMultiples) {
      std::memcpy(t.jj, b.j_multiple(j), 16);
    } else {
      aez_internal::MultiplyBlock(b.j_multiple(1), j, t.jj);
    }
    std::memcpy(t.ipow, b.i_powers[1], 16);
    XorBlock(t.jj, t.ipow, t.jj_ipow);
    size_t i = 1;
    size_t at = 0;
    for (; text.size() - at >= 16; at += 16, ++i) {
      if (i > 8 && i % 8 == 1) {  // 2^ceil(i/8)·I
        kernels::AezDoubleBlock(t.ipow, t.ipow);
        XorBlock(t.jj, t.ipow, t.jj_ipow);
      }
      XorBlock(t.jj_ipow, b.l_multiple(i % 8), t.offset);
      Add(text.data() + at, t.offset);
    }
    const size_t rest = text.size() - at;
    if (rest > 0 || text.empty()) {
      std::memset(t.block, 0, 16);
      if (rest > 0) std::memcpy(t.block, text.data() + at, rest);
      t.block[rest] = 0x80;
      XorBlock(t.jj, b.i_powers[0], t.offset);  // E^{j,0}: j·J ^ I
      Add(t.block, t.offset);
    }
  }

 private:
  static constexpr size_t kCapacity = 16;
  struct Scratch {
    alignas(16) uint8_t jj[16], ipow[16], jj_ipow[16], offset[16], block[16];
  };
  const AezKey& key_;
  uint8_t* sum_;
  size_t count_ = 0;
  size_t used_ = 0;  // high-water mark: only that much needs wiping
  Scratch scratch_;
  alignas(32) uint8_t blocks_[kCapacity][16];
};

}  // namespace

void AezHash(const AezKey& key, size_t tau_bytes, std::span<const uint8_t> nonce, AezAdVector ad,
             std::span<uint8_t, kAezDeltaBytes> delta) {
  AezHashTauBits(key, uint64_t{tau_bytes} * 8, nonce, ad, delta);
}

void AezHashTauBits(const AezKey& key, uint64_t tau_bits, std::span<const uint8_t> nonce,
                    AezAdVector ad, std::span<uint8_t, kAezDeltaBytes> delta) {
  uint8_t* sum = delta.data();  // Δ accumulates in place
  if (tau_bits == 0) {
    std::memcpy(sum, key.hash_tau0(), 16);  // E^{3,1}([0]_128), precomputed
  } else {
    std::memset(sum, 0, 16);
    Aes4Accumulator acc(key, sum);
    // E^{3,1}([8·tau]_128).
    uint8_t block[16] = {}, offset[16];
    for (int k = 0; k < 8; ++k) block[15 - k] = static_cast<uint8_t>(tau_bits >> (8 * k));
    aez_internal::TweakOffset(key, 3, 1, offset);
    acc.Add(block, offset);
    acc.Flush();
    sodium_memzero(offset, sizeof offset);
  }
  // Nonce and up to three AD strings (the cell layer's shape): one kernel call for them all.
  constexpr size_t kNonceJ = 4;
  constexpr size_t kMaxStrings = kernels::kAezJMultiples - kNonceJ;
  if (ad.size() + 1 <= kMaxStrings) {
    std::span<const uint8_t> strings[kMaxStrings];
    strings[0] = nonce;
    for (size_t k = 0; k < ad.size(); ++k) strings[k + 1] = ad[k];
    kernels::AezHashStrings(key.blocks(), kNonceJ,
                            std::span<const std::span<const uint8_t>>(strings, ad.size() + 1), sum);
    return;
  }
  Aes4Accumulator acc(key, sum);
  acc.AddString(kNonceJ, nonce);
  for (size_t k = 0; k < ad.size(); ++k) acc.AddString(kNonceJ + 1 + k, ad[k]);
  acc.Flush();
}

void AezCellHash(const AezKey& key, std::span<const uint8_t, kAezCellNonceBytes> nonce,
                 std::span<const uint8_t, 32> a1, std::span<const uint8_t, 16> a2,
                 std::span<uint8_t, kAezDeltaBytes> delta) {
  // The strings sit at hash indices j = 4 (nonce), 5 and 6 (tau is j = 3). The nonce is
  // public (a cell count and two flags); the blocks whitened under the key stay in registers.
  alignas(16) uint8_t nonce_block[16];
  aez_internal::PadCellNonce(nonce, nonce_block);
  std::memcpy(delta.data(), key.hash_tau0(), 16);  // E^{3,1}([0]_128)
  kernels::AezCellHashTerms(key.blocks(), nonce_block, a1.data(), a2.data(), delta.data());
}

void AezCellHashMany(std::span<const AezCellHashInput> cells) {
  constexpr size_t kChunk = 16;  // padded nonces on the stack; they are public
  alignas(16) uint8_t nonce_blocks[kChunk][16];
  kernels::AezCellHashJob jobs[kChunk];
  for (size_t at = 0; at < cells.size(); at += kChunk) {
    const size_t n = std::min(kChunk, cells.size() - at);
    for (size_t i = 0; i < n; ++i) {
      const AezCellHashInput& cell = cells[at + i];
      aez_internal::PadCellNonce(
          std::span<const uint8_t, kAezCellNonceBytes>(cell.nonce, kAezCellNonceBytes),
          nonce_blocks[i]);
      std::memcpy(cell.delta, cell.key->hash_tau0(), 16);  // E^{3,1}([0]_128)
      jobs[i] = {&cell.key->blocks(), nonce_blocks[i], cell.a1, cell.a2, cell.delta};
    }
    kernels::AezCellHashTermsBatch({jobs, n});
  }
}

void AezPrf(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
            std::span<uint8_t> out) {
  // E^{-1,3}(Δ ^ [i]_128) = AES10(Δ ^ [i]_128 ^ 3L), i = 0, 1, ...
  // The key keeps I, J, L once (as AES4 keys); AES10's schedule is laid out here for AesRounds.
  // AEZ-prf only runs for an empty message, so the 160-byte copy is off the cell path.
  constexpr size_t kChunk = 16;
  alignas(16) uint8_t round_keys[kernels::kAezAes10Rounds][16];
  for (size_t r = 0; r < kernels::kAezAes10Rounds; ++r) {
    std::memcpy(round_keys[r], key.blocks().aes4(kernels::kAezAes10Key[r % 3]), 16);
  }
  alignas(16) uint8_t in[kChunk][16];
  alignas(16) uint8_t offsets[kChunk][16];
  for (size_t b = 0; b < kChunk; ++b) std::memcpy(offsets[b], key.blocks().l_multiple(3), 16);
  uint64_t counter = 0;
  for (size_t at = 0; at < out.size();) {
    const size_t blocks = std::min(kChunk, (out.size() - at + 15) / 16);
    for (size_t b = 0; b < blocks; ++b, ++counter) {
      std::memcpy(in[b], delta.data(), 16);
      for (int k = 0; k < 8; ++k) in[b][15 - k] ^= static_cast<uint8_t>(counter >> (8 * k));
    }
    kernels::AesRounds(std::span<const uint8_t>(&in[0][0], 16 * blocks),
                       std::span<const uint8_t>(&offsets[0][0], 16 * blocks),
                       std::span<const uint8_t>(&round_keys[0][0], sizeof round_keys),
                       std::span<uint8_t>(&in[0][0], 16 * blocks));
    const size_t take = std::min(16 * blocks, out.size() - at);
    std::memcpy(out.data() + at, in, take);
    at += take;
  }
  sodium_memzero(in, sizeof in);
  sodium_memzero(offsets, sizeof offsets);
  sodium_memzero(round_keys, sizeof round_keys);
}

}  // namespace relaycell
