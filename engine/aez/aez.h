// AEZ v5 (Hoang, Krovetz, Rogaway, 2017): a wide-block tweakable cipher, the relay cell layer.
//
// The contract every other part of relaycell codes against. Lengths are explicit (std::span);
// functions that can fail say so in their return value; nothing allocates.
#ifndef RELAYCELL_ENGINE_AEZ_AEZ_H_
#define RELAYCELL_ENGINE_AEZ_AEZ_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell {

inline constexpr size_t kAezKeyBytes = 48;  // I | J | L, already extracted
inline constexpr size_t kAezDeltaBytes = 16;

// AEZ's Extract: a 48-byte key is used as is, any other length goes through BLAKE2b with a
// 48-byte output (libsodium crypto_generichash).
void AezExtract(std::span<const uint8_t> key, std::span<uint8_t, kAezKeyBytes> out);

// An expanded AEZ key: I, J, L and the offsets precomputed from them. Wiped on destruction.
// Keep it in locked memory (KeyArena) when it lives long.
class AezKey;

// The associated data vector (A1, A2, ...), each string hashed separately.
using AezAdVector = std::span<const std::span<const uint8_t>>;

// Δ = AEZ-hash(K, ([8·tau_bytes]_128, nonce, A1, A2, ...)).
void AezHash(const AezKey& key, size_t tau_bytes, std::span<const uint8_t> nonce, AezAdVector ad,
             std::span<uint8_t, kAezDeltaBytes> delta);

// The same with the first tweak [tau_bits]_128 given in bits (the form of AEZ's hash vectors).
void AezHashTauBits(const AezKey& key, uint64_t tau_bits, std::span<const uint8_t> nonce,
                    AezAdVector ad, std::span<uint8_t, kAezDeltaBytes> delta);

// AEZ-hash of a relay cell's tweak vector (tau = 0; a 10-byte nonce; AD strings of 32 and 16
// bytes: protocol §4's N, prev, chain): exactly AezHash(key, 0, nonce, {a1, a2}, delta), as four
// whitened blocks through one AES4 call (one 512-bit vector where the CPU has VAES-512).
inline constexpr size_t kAezCellNonceBytes = 10;
void AezCellHash(const AezKey& key, std::span<const uint8_t, kAezCellNonceBytes> nonce,
                 std::span<const uint8_t, 32> a1, std::span<const uint8_t, 16> a2,
                 std::span<uint8_t, kAezDeltaBytes> delta);

// Many cells' Δ at once, each as AezCellHash under its own key, with several cells' AES work in
// flight together (kernels::AezCellHashTermsBatch). No two cells may share a delta.
struct AezCellHashInput {
  const AezKey* key;
  const uint8_t* nonce;  // kAezCellNonceBytes
  const uint8_t* a1;     // 32 bytes
  const uint8_t* a2;     // 16 bytes
  uint8_t* delta;        // kAezDeltaBytes, written
};
void AezCellHashMany(std::span<const AezCellHashInput> cells);

// A relay cell enciphered or deciphered in place with Δ = AezCellHash(key, nonce, prev, chain)
// computed inside the call, and then chain = AES-256_{chain_round_keys}(chain) ^ chain (the aez
// layer's chain step, protocol §4), the hash beside AEZ-core's first pass and the chain step
// beside its middle, so neither is a step of its own between a circuit's cells. Only where the
// kernel does that (the VAES-256 path: kernels::AezCoreCellOverlapsHash); elsewhere, or if
// |body| < 32, false and nothing done: the caller computes Δ ahead and calls AezEncipher.
inline constexpr size_t kAezChainRoundKeyBytes = 15 * 16;
struct AezCellState {
  std::span<const uint8_t, kAezCellNonceBytes> nonce;
  std::span<const uint8_t, 32> prev;                                  // a1
  std::span<uint8_t, 16> chain;                                       // a2, then stepped
  std::span<const uint8_t, kAezChainRoundKeyBytes> chain_round_keys;  // AES-256's schedule
};
bool AezCipherCellOverlapped(const AezKey& key, const AezCellState& state, std::span<uint8_t> body,
                             bool decipher);

// AEZ-prf(K, Δ, |out|).
void AezPrf(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
            std::span<uint8_t> out);

// Encipher / Decipher(K, Δ, X) for any length (empty, AEZ-tiny, AEZ-core).
// |out| == |in|; in and out may be the same buffer. False if the lengths differ.
bool AezEncipher(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
                 std::span<const uint8_t> in, std::span<uint8_t> out);
bool AezDecipher(const AezKey& key, std::span<const uint8_t, kAezDeltaBytes> delta,
                 std::span<const uint8_t> in, std::span<uint8_t> out);

// Authenticated encryption with tag length tau_bytes: |ciphertext| == |plaintext| + tau_bytes.
bool AezEncrypt(const AezKey& key, std::span<const uint8_t> nonce, AezAdVector ad, size_t tau_bytes,
                std::span<const uint8_t> plaintext, std::span<uint8_t> ciphertext);
// False on any authentication failure (checked in constant time) or length mismatch; the
// plaintext buffer is then zeroed, never left with unauthenticated data.
bool AezDecrypt(const AezKey& key, std::span<const uint8_t> nonce, AezAdVector ad, size_t tau_bytes,
                std::span<const uint8_t> ciphertext, std::span<uint8_t> plaintext);

// Many independent messages, each with its own key, Δ and length, interleaved so the AES units
// never wait. in and out of one job may be the same buffer.
struct AezBatchJob {
  const AezKey* key;
  const uint8_t* delta;  // 16 bytes
  const uint8_t* in;
  uint8_t* out;
  size_t length;
};
void AezEncipherBatch(std::span<const AezBatchJob> jobs);
void AezDecipherBatch(std::span<const AezBatchJob> jobs);

}  // namespace relaycell

#include "engine/aez/aez_key.h"  // the AezKey definition

#endif  // RELAYCELL_ENGINE_AEZ_AEZ_H_
