// AezKey: an expanded AEZ v5 key (I, J, L and what every call derives from them).
//
// Built from the 48 extracted bytes (AezExtract, or the cell layer's KDF output). Holds I, J,
// L once, as the AES4 round keys (AES10 cycles through the same three), 2^k·I for the block
// indices short messages use (longer ones double on the fly), 0..7·L, 0..7·J, and Δ's first
// term for τ = 0, so no call derives key material. Wiped on destruction; a KeyArena slot
// holds one (MakeInArena<AezKey>(arena, extracted)).
#ifndef RELAYCELL_ENGINE_AEZ_AEZ_KEY_H_
#define RELAYCELL_ENGINE_AEZ_AEZ_KEY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/aez_core_rounds.h"

namespace relaycell {

class alignas(64) AezKey {
 public:
  AezKey() = default;  // all zero: call Init before use
  explicit AezKey(std::span<const uint8_t, 48> extracted) { Init(extracted); }
  ~AezKey();
  AezKey(const AezKey&) = delete;
  AezKey& operator=(const AezKey&) = delete;

  // (Re)expands from I | J | L. The previous contents are overwritten.
  void Init(std::span<const uint8_t, 48> extracted);

  const kernels::AezKeyBlocks& blocks() const { return blocks_; }
  std::span<const uint8_t, 16> I() const {
    return std::span<const uint8_t, 16>(blocks_.aes4(1), 16);
  }
  std::span<const uint8_t, 16> J() const {
    return std::span<const uint8_t, 16>(blocks_.aes4(0), 16);
  }
  std::span<const uint8_t, 16> L() const {
    return std::span<const uint8_t, 16>(blocks_.aes4(2), 16);
  }
  // E^{3,1}([0]_128): the first term of AEZ-hash when τ = 0 (the cell layer's case).
  const uint8_t* hash_tau0() const { return hash_tau0_; }

 private:
  kernels::AezKeyBlocks blocks_{};
  alignas(16) uint8_t hash_tau0_[16]{};
};
// Six cache lines: with the chain cipher and a direction's state, an aez relay direction fits
// a 704-byte KeyArena slot (two per circuit).
static_assert(sizeof(AezKey) == 6 * 64, "AezKey outgrew six cache lines");

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_AEZ_AEZ_KEY_H_
