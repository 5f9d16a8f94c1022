// A slow, portable AEZ v5 written straight from the paper: one E^{j,i} call at a time, every
// offset recomputed by double-and-add, the constant-time reference AES round. Tests and the
// fuzzer compare the fast and batched paths against it; never used on a live circuit.
#ifndef RELAYCELL_ENGINE_AEZ_AEZ_REFERENCE_H_
#define RELAYCELL_ENGINE_AEZ_AEZ_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace relaycell::aez_reference {

using Key = std::span<const uint8_t, 48>;  // extracted I | J | L
using Strings = std::span<const std::span<const uint8_t>>;

// E^{j,i}(x); j = -1 selects AES10.
void E(Key key, int j, uint64_t i, const uint8_t x[16], uint8_t out[16]);
// Δ for the tweak vector ([8·tau_bytes]_128, strings[0], strings[1], ...), strings[0] being
// the nonce.
void Hash(Key key, size_t tau_bytes, Strings strings, uint8_t delta[16]);
std::vector<uint8_t> Prf(Key key, const uint8_t delta[16], size_t bytes);
std::vector<uint8_t> Encipher(Key key, const uint8_t delta[16], std::span<const uint8_t> x);
std::vector<uint8_t> Decipher(Key key, const uint8_t delta[16], std::span<const uint8_t> x);
std::vector<uint8_t> Encrypt(Key key, std::span<const uint8_t> nonce, Strings ad, size_t tau,
                             std::span<const uint8_t> m);
std::optional<std::vector<uint8_t>> Decrypt(Key key, std::span<const uint8_t> nonce, Strings ad,
                                            size_t tau, std::span<const uint8_t> c);

}  // namespace relaycell::aez_reference

#endif  // RELAYCELL_ENGINE_AEZ_AEZ_REFERENCE_H_
