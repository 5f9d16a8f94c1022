// Suite "aez" (protocol §4, Tor proposal 261): each hop and direction enciphers the whole
// 509-byte cell with AEZ (τ = 0), under a nonce that counts cells and associated data that
// chains every cell to the ones before it, so any change to a cell garbles it and every later
// cell of the circuit.
//
// Per hop and direction, AezCellDirection holds:
//   cell_number u64 (from 0), prev[32] (zeros), chain[16] (chain_fwd / chain_bwd),
//   the AEZ key (aez_key[48] expanded), the chain key (AES-256).
// A cell: Δ = AEZ-hash(K, τ=0, N = cell_number u64be | is_forward u8 | is_early u8,
// A = (prev, chain)); out = Encipher or Decipher(K, Δ, in); then prev = pt[0:32] ⊕ ct[0:32],
// chain = AES-256_{chain_key}(chain) ⊕ chain, cell_number += 1.
#ifndef RELAYCELL_ENGINE_SUITE_AEZ_LAYER_H_
#define RELAYCELL_ENGINE_SUITE_AEZ_LAYER_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/suite/aes256_chain.h"
#include "engine/aez/aez.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/common/kdf.h"
#include "engine/common/ct_check.h"
#include "engine/common/key_arena.h"

namespace relaycell {

inline constexpr size_t kAezPrevBytes = 32;

// The recognition test after removing one aez layer (prop 261): zero_1 u32 == 0,
// zero_2 u16 == 0 and length >> 9 == 0, 55 bits of redundancy.
inline bool AezCellRecognized(std::span<const uint8_t, kCellBodyBytes> body) {
  return kAezRelayFormat.RedundancyHolds(body);
}

class AezCellDirection final : public CellLayer {
 public:
  AezCellDirection(bool is_forward, std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                   std::span<const uint8_t, kChainKeyBytes> chain_key,
                   std::span<const uint8_t, kChainBytes> chain);
  ~AezCellDirection() override;

  // The layer: every op but the two decrypt ones enciphers (a forward layer at the client and
  // a backward one at the relay encipher; the other ends decipher).
  bool Apply(LayerOp op, CellBody body, bool early) override {
    bool recognized = false;
    if (IsDecryptOp(op)) {
      Decipher(body, early);
      recognized = AezCellRecognized(body);
    } else {
      Encipher(body, early);
    }
    // Public by design: the cell leaves the layer, as the ciphertext sent on (encipher, or a
    // decipher not recognized: it is what the next hop receives) or as the plaintext this end
    // reads (recognized). The keys and the direction's state stay secret.
    RELAYCELL_CT_PUBLIC(body.data(), body.size());
    return recognized;
  }

  // One whole cell, in place.
  void Encipher(CellBody body, bool is_early);
  void Decipher(CellBody body, bool is_early);

  // The same in two halves, for a batch across circuits (AezEncipherBatch): Prepare computes
  // this cell's Δ; after the batch has enciphered or deciphered the cell, Finish advances the
  // state with the cell's first 32 plaintext and ciphertext bytes. Exactly one Finish per
  // Prepare, in order.
  void Prepare(bool is_early, std::span<uint8_t, kAezDeltaBytes> delta) const;
  void Finish(std::span<const uint8_t, kAezPrevBytes> plaintext_head,
              std::span<const uint8_t, kAezPrevBytes> ciphertext_head);
  // Finish for many directions (distinct), each with its cell's 32-byte heads; the chain steps
  // run interleaved (Aes256Chain::StepMany).
  static void FinishMany(std::span<AezCellDirection* const> directions,
                         std::span<const uint8_t* const> plaintext_heads,
                         std::span<const uint8_t* const> ciphertext_heads);

  // RELAY_REKEY (prop 262): replace aez_key, chain_key and chain; cell_number and prev carry
  // on. The old key material is wiped.
  void InstallKeys(std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                   std::span<const uint8_t, kChainKeyBytes> chain_key,
                   std::span<const uint8_t, kChainBytes> chain);

  const AezKey& key() const { return key_; }
  // RELAY_REKEY's KDF, SHAKE256(aez_key || rekey_data) (protocol §3), from this direction's
  // current key. The 48-byte aez_key is I | J | L, rebuilt from the expanded key on the stack
  // and wiped, so no second copy of it lives in the direction's slot.
  KdfError DeriveRekeyMaterial(std::span<const uint8_t> rekey_data,
                               std::span<uint8_t, kKdfOutputBytes> out) const override;
  // RELAY_REKEY's switch: this direction's part of the 112 bytes (chain_fwd or chain_bwd).
  void InstallRekeyMaterial(std::span<const uint8_t, kKdfOutputBytes> material) override;
  uint64_t cell_number() const { return cell_number_; }
  bool is_forward() const { return is_forward_; }

  // The arena every AezCellDirection lives in.
  static KeyArena& Arena();

 private:
  // prev = the cell's heads XORed; cell_number += 1 (the chain is stepped by the caller);
  // then the next cell's Δ, computed ahead.
  void AdvancePrev(std::span<const uint8_t, kAezPrevBytes> plaintext_head,
                   std::span<const uint8_t, kAezPrevBytes> ciphertext_head);
  // One whole cell in place, Δ from this direction's state: computed inside the kernel beside
  // AEZ-core where it can (kernels::AezCoreCellOverlapsHash), else taken from next_delta_.
  void CipherWholeCell(CellBody body, bool is_early, bool decipher);
  // The cell's nonce: cell_number u64be | is_forward u8 | is_early u8.
  void CellNonce(bool is_early, std::span<uint8_t, kAezCellNonceBytes> nonce) const;
  // Δ of the cell with this cell_number, prev and chain, RELAY (not RELAY_EARLY) or not.
  void ComputeDelta(bool is_early, std::span<uint8_t, kAezDeltaBytes> delta) const;

  AezKey key_;
  Aes256Chain chain_cipher_;
  uint8_t chain_[kChainBytes];
  uint8_t prev_[kAezPrevBytes]{};
  uint64_t cell_number_ = 0;
  // The next cell's Δ if it is a plain RELAY cell (prop 261 §4.2: Δ depends only on the state
  // left by the cell before), computed as soon as that state is known so that its AES work is
  // off the next cell's path: a client's layers, and a relay's next cell, no longer wait for it.
  alignas(16) uint8_t next_delta_[kAezDeltaBytes];
  // False when the last cell went through the kernel that computes Δ itself (nothing ahead):
  // Prepare then computes it on demand.
  bool next_delta_ready_ = false;
  const bool is_forward_;
};

using AezCellDirectionBox = ArenaBox<AezCellDirection>;

class AezSuite final : public CellSuite {
 public:
  SuiteId id() const override { return kAezSuiteId; }
  const char* name() const override { return "aez"; }
  size_t min_seed_bytes() const override { return kMinKeySeedBytes; }
  size_t max_seed_bytes() const override { return 1024; }
  const RelayFormat& relay_format() const override { return kAezRelayFormat; }
  bool supports_rekey() const override { return true; }
  SuiteError MakeHop(std::span<const uint8_t> seed, HopLayers& out) const override;
  std::unique_ptr<LayerBatch> MakeBatch() const override;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_AEZ_LAYER_H_
