#include "engine/suite/aez_layer.h"

#include "engine/suite/aez_cell_batch.h"
#include "kernels/zeroize.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace relaycell {

KeyArena& AezCellDirection::Arena() {
  // A relay stages none of an aez direction ahead: AezCellBatch's kernel pulls each key in two
  // messages ahead, and the state is read in loops of independent loads. All 13 lines of 64
  // directions prefetched while staging took the engine peel at 10,000 circuits from 123-135 to
  // 144-145 ns (at 1,000: 90-94 -> 98-103), where the same took tor1 from 244 to 179 ns and
  // cgo from 299 to 239. (A client's rounds still prefetch whole slots: PrefetchLayers.)
  static KeyArena arena(sizeof(AezCellDirection), 512, 0);
  return arena;
}

AezCellDirection::AezCellDirection(bool is_forward,
                                   std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                                   std::span<const uint8_t, kChainKeyBytes> chain_key,
                                   std::span<const uint8_t, kChainBytes> chain)
    : CellLayer(kAezSuiteId), is_forward_(is_forward) {
  InstallKeys(aez_key, chain_key, chain);
}

AezCellDirection::~AezCellDirection() {
  sodium_memzero(chain_, sizeof chain_);
  sodium_memzero(prev_, sizeof prev_);
  sodium_memzero(next_delta_, sizeof next_delta_);
  // key_ and chain_cipher_ wipe themselves.
}

void AezCellDirection::InstallKeys(std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                                   std::span<const uint8_t, kChainKeyBytes> chain_key,
                                   std::span<const uint8_t, kChainBytes> chain) {
  // Init overwrites the old expanded keys in place; the old chain is overwritten too.
  key_.Init(aez_key);
  chain_cipher_.Init(chain_key);
  std::memcpy(chain_, chain.data(), sizeof chain_);
  ComputeDelta(false, next_delta_);  // under the new key
  next_delta_ready_ = true;
}

KdfError AezCellDirection::DeriveRekeyMaterial(std::span<const uint8_t> rekey_data,
                                               std::span<uint8_t, kKdfOutputBytes> out) const {
  uint8_t aez_key[kKdfAezKeyBytes];
  std::memcpy(aez_key, key_.I().data(), 16);
  std::memcpy(aez_key + 16, key_.J().data(), 16);
  std::memcpy(aez_key + 32, key_.L().data(), 16);
  const KdfError error = DeriveRekeyKeys(aez_key, rekey_data, out);
  sodium_memzero(aez_key, sizeof aez_key);
  return error;
}

void AezCellDirection::InstallRekeyMaterial(std::span<const uint8_t, kKdfOutputBytes> material) {
  const HopKeyMaterialView keys = SplitKeyMaterial(material);
  InstallKeys(keys.aez_key, keys.chain_key, is_forward_ ? keys.chain_fwd : keys.chain_bwd);
}

void AezCellDirection::Prepare(bool is_early, std::span<uint8_t, kAezDeltaBytes> delta) const {
  if (is_early || !next_delta_ready_) [[unlikely]] {  // at most eight early cells per circuit
    ComputeDelta(is_early, delta);
  } else {
    std::memcpy(delta.data(), next_delta_, kAezDeltaBytes);
  }
}

void AezCellDirection::CellNonce(bool is_early,
                                 std::span<uint8_t, kAezCellNonceBytes> nonce) const {
  for (int i = 0; i < 8; ++i) nonce[size_t(i)] = uint8_t(cell_number_ >> (56 - 8 * i));
  nonce[8] = is_forward_ ? 1 : 0;
  nonce[9] = is_early ? 1 : 0;
}

void AezCellDirection::ComputeDelta(bool is_early, std::span<uint8_t, kAezDeltaBytes> delta) const {
  uint8_t nonce[kAezCellNonceBytes];
  CellNonce(is_early, nonce);
  AezCellHash(key_, nonce, prev_, chain_, delta);
}

void AezCellDirection::Finish(std::span<const uint8_t, kAezPrevBytes> plaintext_head,
                              std::span<const uint8_t, kAezPrevBytes> ciphertext_head) {
  chain_cipher_.Step(chain_);
  AdvancePrev(plaintext_head, ciphertext_head);
}

void AezCellDirection::FinishMany(std::span<AezCellDirection* const> directions,
                                  std::span<const uint8_t* const> plaintext_heads,
                                  std::span<const uint8_t* const> ciphertext_heads) {
  constexpr size_t kGroup = 16;
  const Aes256Chain* ciphers[kGroup];
  uint8_t* chains[kGroup];
  for (size_t at = 0; at < directions.size(); at += kGroup) {
    const size_t n = std::min(kGroup, directions.size() - at);
    for (size_t i = 0; i < n; ++i) {
      AezCellDirection& d = *directions[at + i];
      const uint8_t* pt = plaintext_heads[at + i];
      const uint8_t* ct = ciphertext_heads[at + i];
      for (size_t j = 0; j < kAezPrevBytes; ++j) d.prev_[j] = pt[j] ^ ct[j];
      ++d.cell_number_;
      ciphers[i] = &d.chain_cipher_;
      chains[i] = d.chain_;
    }
    Aes256Chain::StepMany(std::span<const Aes256Chain* const>(ciphers, n),
                          std::span<uint8_t* const>(chains, n));
    // The next Δ of all of them in one call: each is a single AES4, and one at a time each
    // waited on its own four rounds (10 of a relay's 124 ns a cell, Sapphire Rapids).
    uint8_t nonces[kGroup][kAezCellNonceBytes];
    AezCellHashInput inputs[kGroup];
    for (size_t i = 0; i < n; ++i) {
      AezCellDirection& d = *directions[at + i];
      d.CellNonce(false, nonces[i]);
      inputs[i] = {&d.key_, nonces[i], d.prev_, d.chain_, d.next_delta_};
      d.next_delta_ready_ = true;
    }
    AezCellHashMany({inputs, n});
  }
}

void AezCellDirection::Encipher(CellBody body, bool is_early) {
  CipherWholeCell(body, is_early, /*decipher=*/false);
}

void AezCellDirection::Decipher(CellBody body, bool is_early) {
  CipherWholeCell(body, is_early, /*decipher=*/true);
}

// One cell alone. The next chain value depends only on this one, so it is stepped as soon as
// Δ's inputs are taken: its 15 serial AES rounds then run beside AEZ-core instead of after it.
void AezCellDirection::CipherWholeCell(CellBody body, bool is_early, bool decipher) {
  uint8_t head_in[kAezPrevBytes];  // the cell's first 32 bytes before this layer
  std::memcpy(head_in, body.data(), kAezPrevBytes);
  uint8_t nonce[kAezCellNonceBytes];
  CellNonce(is_early, nonce);
  const AezCellState state{nonce, prev_, chain_, chain_cipher_.round_keys()};
  if (AezCipherCellOverlapped(key_, state, body, decipher)) {
    // Δ and the chain step were inside the kernel, beside AEZ-core; nothing computed ahead.
    const std::span<const uint8_t, kAezPrevBytes> head_out = body.first<kAezPrevBytes>();
    for (size_t i = 0; i < kAezPrevBytes; ++i) prev_[i] = head_in[i] ^ head_out[i];
    ++cell_number_;
    next_delta_ready_ = false;
  } else {
    // Δ computed ahead (at the last cell's end), off this cell's path; the chain stepped here,
    // its rounds beside AEZ-core's.
    alignas(16) uint8_t delta[kAezDeltaBytes];
    Prepare(is_early, delta);
    chain_cipher_.Step(chain_);
    if (decipher) {
      AezDecipher(key_, delta, body, body);
    } else {
      AezEncipher(key_, delta, body, body);
    }
    AdvancePrev(head_in, body.first<kAezPrevBytes>());
  }
  kernels::ZeroizeInline(head_in, sizeof head_in);
}

void AezCellDirection::AdvancePrev(std::span<const uint8_t, kAezPrevBytes> plaintext_head,
                                   std::span<const uint8_t, kAezPrevBytes> ciphertext_head) {
  for (size_t i = 0; i < kAezPrevBytes; ++i) prev_[i] = plaintext_head[i] ^ ciphertext_head[i];
  ++cell_number_;
  ComputeDelta(false, next_delta_);
  next_delta_ready_ = true;
}

namespace {

// Derives the hop's 112 bytes and builds both directions from them; the material is wiped.
SuiteError MakeDirections(std::span<const uint8_t> seed, AezCellDirectionBox& forward,
                          AezCellDirectionBox& backward) {
  if (seed.size() < kMinKeySeedBytes) return SuiteError::kBadSeedLength;
  uint8_t material[kKdfOutputBytes];
  if (DeriveHopKeys(seed, material) != KdfError::kOk) return SuiteError::kKdfFailed;
  const HopKeyMaterialView keys = SplitKeyMaterial(material);
  KeyArena& arena = AezCellDirection::Arena();
  forward =
      MakeInArena<AezCellDirection>(arena, true, keys.aez_key, keys.chain_key, keys.chain_fwd);
  backward =
      MakeInArena<AezCellDirection>(arena, false, keys.aez_key, keys.chain_key, keys.chain_bwd);
  sodium_memzero(material, sizeof material);
  if (!forward || !backward) return SuiteError::kOutOfKeyMemory;
  return SuiteError::kOk;
}

}  // namespace

SuiteError AezSuite::MakeHop(std::span<const uint8_t> seed, HopLayers& out) const {
  if (seed.size() > max_seed_bytes()) return SuiteError::kBadSeedLength;
  AezCellDirectionBox forward, backward;
  const SuiteError error = MakeDirections(seed, forward, backward);
  if (error != SuiteError::kOk) return error;
  out.forward = AsLayerBox(std::move(forward));
  out.backward = AsLayerBox(std::move(backward));
  return SuiteError::kOk;
}

std::unique_ptr<LayerBatch> AezSuite::MakeBatch() const { return std::make_unique<AezCellBatch>(); }

const CellSuite& AezCellSuite() {
  static const AezSuite suite;
  return suite;
}

}  // namespace relaycell
