// Key derivation for the "aez" cell suite (protocol §3): SHAKE256 through OpenSSL.
//
// A hop's key seed (from the host's handshake) and every rekey turn into 112 bytes,
// aez_key[48] | chain_key[32] | chain_fwd[16] | chain_bwd[16].
#ifndef RELAYCELL_ENGINE_COMMON_KDF_H_
#define RELAYCELL_ENGINE_COMMON_KDF_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace relaycell {

inline constexpr size_t kKdfOutputBytes = 112;
inline constexpr size_t kMinKeySeedBytes = 32;
inline constexpr size_t kKdfAezKeyBytes = 48;
inline constexpr size_t kChainKeyBytes = 32;
inline constexpr size_t kChainBytes = 16;

enum class KdfError : uint8_t {
  kOk = 0,
  kSeedTooShort,  // a key seed under kMinKeySeedBytes
  kXofFailed,     // OpenSSL could not provide SHAKE256 (never expected)
  kUnsupported,   // the suite takes no RELAY_REKEY
};

const char* KdfErrorName(KdfError error);

// SHAKE256 of the concatenation of `parts`, |out| bytes of output. False if OpenSSL fails.
bool Shake256(std::initializer_list<std::span<const uint8_t>> parts, std::span<uint8_t> out);

// The split of one KDF output. The views point into the 112 bytes they were made from.
struct HopKeyMaterialView {
  std::span<const uint8_t, kKdfAezKeyBytes> aez_key;
  std::span<const uint8_t, kChainKeyBytes> chain_key;
  std::span<const uint8_t, kChainBytes> chain_fwd;
  std::span<const uint8_t, kChainBytes> chain_bwd;
};
HopKeyMaterialView SplitKeyMaterial(std::span<const uint8_t, kKdfOutputBytes> material);

// shake_output = SHAKE256(u64be(len(label)) || label || key_seed), label "relaycell-aez-1:kdf".
// `out` is wiped on failure.
KdfError DeriveHopKeys(std::span<const uint8_t> key_seed, std::span<uint8_t, kKdfOutputBytes> out);

// shake_output' = SHAKE256(aez_key || rekey_data) (prop 262, method 1). `out` is wiped on failure.
KdfError DeriveRekeyKeys(std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                         std::span<const uint8_t> rekey_data,
                         std::span<uint8_t, kKdfOutputBytes> out);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_KDF_H_
