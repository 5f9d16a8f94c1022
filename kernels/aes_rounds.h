// AES rounds on many independent 16-byte blocks (the AEZ building block).
//
// One round is exactly x86 AESENC: SubBytes, ShiftRows, MixColumns, AddRoundKey with the
// 16-byte round key taken as is. There is no initial whitening: callers that want real AES
// XOR the first round key into the offsets (or the input) themselves.
#ifndef RELAYCELL_KERNELS_AES_ROUNDS_H_
#define RELAYCELL_KERNELS_AES_ROUNDS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

inline constexpr size_t kAesBlockBytes = 16;
inline constexpr size_t kMaxAesRounds = 16;

// For each block b: out[b] = Rounds(in[b] ^ offsets[b]), the rounds keyed by round_keys
// (rounds * 16 bytes, round r uses bytes [16r, 16r + 16)). `offsets` is either empty (no XOR)
// or as long as `in`. `in` and `out` have the same length, a multiple of 16, and may be the
// same buffer. Returns false (and writes nothing) if the lengths do not fit.
bool AesRounds(std::span<const uint8_t> in, std::span<const uint8_t> offsets,
               std::span<const uint8_t> round_keys, std::span<uint8_t> out);

// Same, but block b uses its own key schedule round_keys[b] (each `rounds` * 16 bytes): the
// shape of a batch that interleaves messages under different keys.
bool AesRoundsPerBlockKeys(std::span<const uint8_t> in, std::span<const uint8_t> offsets,
                           std::span<const uint8_t* const> round_keys, size_t rounds,
                           std::span<uint8_t> out);

// AesRounds through a chosen path (kernels/kernel_path.h): a Highway target, or the raw VAES
// kernels at 256 bits (Zen 3-class CPUs, where Highway 1.0.3 splits 256-bit rounds in two) and
// 512 bits (AVX-512 CPUs: four blocks per instruction). False, and nothing written, also when
// the path is not one this CPU can run for this family. AesRounds runs ActivePath(kAesRounds).
bool AesRoundsWithPath(KernelPath path, std::span<const uint8_t> in,
                       std::span<const uint8_t> offsets, std::span<const uint8_t> round_keys,
                       std::span<uint8_t> out);

// The portable reference: one AES round on one block, constant time (the S-box is computed,
// not looked up). Tests compare every target against it; the SCALAR target uses it.
void AesRoundReference(const uint8_t in[16], const uint8_t round_key[16], uint8_t out[16]);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_AES_ROUNDS_H_
