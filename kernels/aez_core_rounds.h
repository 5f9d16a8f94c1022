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

namespace relaycell::kernels {

inline constexpr size_t kAezIPowers = 4;     // 2^k·I for k = 0..3 (messages up to 768 bytes)
inline constexpr size_t kAezJMultiples = 8;  // k·J for k = 0..7 (AD vectors up to 4 strings)

// Expanded AEZ key blocks. Byte strings in AEZ's big-endian convention (GF(2^128) doubling is
// a left shift of the 128-bit big-endian integer, 0x87 folded into byte 15).
struct AezKeyBlocks {
  alignas(16) uint8_t aes4[4][16];    // AES4 round keys: J, I, L, 0
  alignas(16) uint8_t aes10[10][16];  // AES10 round keys: I, J, L, I, J, L, I, J, L, I
  alignas(16) uint8_t i_powers[kAezIPowers][16];    // 2^k·I
  alignas(16) uint8_t l_multiples[8][16];           // k·L, k = 0..7
  alignas(16) uint8_t j_multiples[kAezJMultiples][16];  // k·J
};

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
bool AezCoreRounds(const AezKeyBlocks& key, const uint8_t* delta, const uint8_t* in,
                   uint8_t* out, size_t bytes, bool decipher);

// Many messages, each under its own key and Δ, processed in interleaved groups. False
// (nothing written) if any job has bytes < 32 or a null pointer.
bool AezCoreRoundsBatch(std::span<const AezCoreJob> jobs, bool decipher);

// GF(2^128) doubling of a big-endian block, constant time.
void AezDoubleBlock(const uint8_t in[16], uint8_t out[16]);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AEZ_CORE_ROUNDS_H_
