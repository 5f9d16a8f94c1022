// AEZ-core (the |X| >= 32 branch of AEZ v5's Encipher/Decipher) fused into one dispatched
// call: both passes, the fragment and the two final blocks, so a 509-byte cell pays one
// dispatch instead of one per wave of AES calls, and a batch of messages under different keys
// interleaves its serial AES10 steps so the AES units never wait.
//
// The key material comes as plain 16-byte blocks (AezKeyBlocks) laid out by the engine's
// AezKey; nothing here knows about AEZ's hash, tag or tiny mode.
#ifndef RELAYCELL_KERNELS_AEZ_CORE_ROUNDS_H_
#define RELAYCELL_KERNELS_AEZ_CORE_ROUNDS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

inline constexpr size_t kAezIPowers = 4;     // 2^k·I for k = 0..3 (messages up to 768 bytes)
inline constexpr size_t kAezJMultiples = 8;  // k·J for k = 0..7 (AD vectors up to 4 strings)
inline constexpr size_t kAezAes10Rounds = 10;
// Which AES4 round key AES10 round r uses, by r % 3: I, J, L.
inline constexpr size_t kAezAes10Key[3] = {1, 0, 2};

// Expanded AEZ key blocks. Byte strings in AEZ's big-endian convention (GF(2^128) doubling is
// a left shift of the 128-bit big-endian integer, 0x87 folded into byte 15).
//
// AES4's, L's and J's blocks share one table so that its zero rows serve twice (a relay keeps
// two of these per circuit, and every 16 bytes count towards a cache line):
//   rows  0..3   AES4 round keys J, I, L, 0
//   rows  3..11  (k mod 8)·L for k = 0..8: row 3 is 0·L (AES4's zero key); row 11, the L term
//                of block 8, is zero, so the terms of neighbouring blocks i, i+1 (i odd) load
//                as one 256-bit vector from l_multiple(i)
//   rows 11..18  k·J for k = 0..7 (row 11 is 0·J)
// AES10's round keys are I, J, L, I, J, L, I, J, L, I: round r takes aes4(kAezAes10Key[r % 3]).
struct AezKeyBlocks {
  static constexpr size_t kAes4Row = 0;
  static constexpr size_t kLRow = 3;
  static constexpr size_t kJRow = kLRow + 8;
  static constexpr size_t kRows = kJRow + kAezJMultiples;

  alignas(16) uint8_t table[kRows][16];
  alignas(16) uint8_t i_powers[kAezIPowers][16];  // 2^k·I

  const uint8_t* aes4(size_t r) const { return table[kAes4Row + r]; }     // r <= 3
  const uint8_t* l_multiple(size_t k) const { return table[kLRow + k]; }  // k <= 8
  const uint8_t* j_multiple(size_t k) const { return table[kJRow + k]; }  // k < kAezJMultiples
  uint8_t* aes4(size_t r) { return table[kAes4Row + r]; }
  uint8_t* l_multiple(size_t k) { return table[kLRow + k]; }
  uint8_t* j_multiple(size_t k) { return table[kJRow + k]; }
  // The four AES4 round keys as one schedule, for AesRounds.
  std::span<const uint8_t, 64> aes4_schedule() const {
    return std::span<const uint8_t, 64>(table[kAes4Row], 64);
  }
};
static_assert(sizeof(AezKeyBlocks) == 23 * 16, "no padding between the rows");

// One message of a batch. `in` and `out` may be the same buffer; bytes >= 32.
struct AezCoreJob {
  const AezKeyBlocks* key;
  const uint8_t* delta;  // 16 bytes
  const uint8_t* in;
  uint8_t* out;
  size_t bytes;
};

// AEZ-core encipher (decipher = false) or decipher of one message. False (nothing written)
// if bytes < 32.
bool AezCoreRounds(const AezKeyBlocks& key, const uint8_t* delta, const uint8_t* in, uint8_t* out,
                   size_t bytes, bool decipher);

// Many messages, each under its own key and Δ, processed in interleaved groups. False
// (nothing written) if any job has bytes < 32 or a null pointer.
bool AezCoreRoundsBatch(std::span<const AezCoreJob> jobs, bool decipher);

// The batch through a chosen path (kernels/kernel_path.h: a Highway target, or raw VAES at 256
// or 512 bits); false also when this CPU cannot run that path. The calls without a path run
// ActivePath(KernelFamily::kAezCore).
bool AezCoreRoundsBatchWithPath(KernelPath path, std::span<const AezCoreJob> jobs, bool decipher);

// sum ^= AES4(blocks[0]) ^ AES4(blocks[1]) ^ ... (n blocks of 16 bytes, offsets already
// XORed in): AEZ-hash's and the fragment's shape, in one call, on ActivePath(kAezHash).
void AezAes4XorSum(const AezKeyBlocks& key, const uint8_t* blocks, size_t n, uint8_t sum[16]);

// AEZ-hash's string terms in one call: for strings[s] at hash index j = first_j + s, sum ^=
// E^{j,i}(block i) for every full block i = 1, 2, ..., and E^{j,0}(remainder || 10*) when the
// string is empty or not a multiple of 16 bytes. False (nothing done) unless
// first_j + count <= kAezJMultiples.
bool AezHashStrings(const AezKeyBlocks& key, size_t first_j,
                    std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]);
// Through a chosen path of the aez_hash family; false also when this CPU cannot run it.
bool AezHashStringsWithPath(KernelPath path, const AezKeyBlocks& key, size_t first_j,
                            std::span<const std::span<const uint8_t>> strings, uint8_t sum[16]);

// A relay cell's AEZ-hash terms (protocol §4, engine/aez AezCellHash): the 10-byte nonce at
// j = 4, a1 (32 bytes) at j = 5 and a2 (16 bytes) at j = 6, so sum ^= E^{4,0}(nonce || 10*) ^
// E^{5,1}(a1[0:16]) ^ E^{5,2}(a1[16:32]) ^ E^{6,1}(a2). `nonce_block` is the nonce already
// padded (its 10 bytes, 0x80, five zeros). Equal to AezHashStrings(key, 4, {nonce, a1, a2}, sum);
// the VAES-256 path keeps the four blocks in two registers.
inline constexpr size_t kAezCellNonceLength = 10;
void AezCellHashTerms(const AezKeyBlocks& key, const uint8_t nonce_block[16], const uint8_t a1[32],
                      const uint8_t a2[16], uint8_t sum[16]);
bool AezCellHashTermsWithPath(KernelPath path, const AezKeyBlocks& key,
                              const uint8_t nonce_block[16], const uint8_t a1[32],
                              const uint8_t a2[16], uint8_t sum[16]);

// Many cells' terms at once, each under its own key: for every job, sum ^= AezCellHashTerms of
// its strings. One cell's terms are a single AES4, four rounds that wait on each other; the raw
// VAES paths run several jobs' rounds together (a relay computes the next Δ of every circuit
// in its batch this way). Jobs must not share a `sum`.
struct AezCellHashJob {
  const AezKeyBlocks* key;
  const uint8_t* nonce_block;  // 16 bytes, padded as for AezCellHashTerms
  const uint8_t* a1;           // 32 bytes
  const uint8_t* a2;           // 16 bytes
  uint8_t* sum;                // 16 bytes, XORed into
};
void AezCellHashTermsBatch(std::span<const AezCellHashJob> jobs);
bool AezCellHashTermsBatchWithPath(KernelPath path, std::span<const AezCellHashJob> jobs);

// A relay cell whose Δ the kernel computes itself: Δ = tau0 ^ AezCellHashTerms(nonce_block, a1,
// a2), then AEZ-core as AezCoreRounds; and, if chain is set, the circuit's chain step
// chain = AES-256_{chain_round_keys}(chain) ^ chain after a2 has been read (a2 may be chain).
// On the VAES-256 path the hash's AES4 run beside pass 1 (Δ is first needed at Sx) and the
// chain's 14 rounds beside the middle AES10, so neither is a step of its own between a
// circuit's cells; other paths run them one after another. `out` may be `in`.
struct AezCellJob {
  const uint8_t* tau0;                        // 16 bytes: E^{3,1}([0]_128) under the key
  const uint8_t* nonce_block;                 // 16 bytes: the 10-byte nonce, 0x80, zeros
  const uint8_t* a1;                          // 32 bytes
  const uint8_t* a2;                          // 16 bytes
  const uint8_t* chain_round_keys = nullptr;  // 15 round keys (240 bytes), or null
  uint8_t* chain = nullptr;                   // 16 bytes, stepped in place; null: no step
};
// True when the cell kernel runs the hash and the chain step beside AEZ-core on this thread's
// active paths (then a caller gains nothing by computing Δ ahead of the cell).
bool AezCoreCellOverlapsHash();
// The cell kernel only if this thread's active paths overlap (AezCoreCellOverlapsHash), else
// false and nothing done: one look at the paths for a caller that has another way.
bool AezCoreCellRoundsIfOverlapped(const AezKeyBlocks& key, const AezCellJob& cell,
                                   const uint8_t* in, uint8_t* out, size_t bytes, bool decipher);
// The cell on the given paths. False (nothing written) if bytes < 32, a pointer is null, or
// chain is set without AES-NI.
bool AezCoreCellRoundsWithPath(KernelPath core_path, KernelPath hash_path, const AezKeyBlocks& key,
                               const AezCellJob& cell, const uint8_t* in, uint8_t* out,
                               size_t bytes, bool decipher);

// GF(2^128) doubling of a big-endian block, constant time.
void AezDoubleBlock(const uint8_t in[16], uint8_t out[16]);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AEZ_CORE_ROUNDS_H_
