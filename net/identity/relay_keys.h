// A relay's long-term keys (network.md §1): the Ed25519 identity (its ID) and the X25519 onion
// key, bound to the identity by onion_cert.
//
// Key files, in the relay's data directory, raw bytes (no text encoding), mode 0600:
//   DIR/identity_key  64 bytes: libsodium's crypto_sign secret key, Ed25519 seed[32] | ID[32]
//   DIR/onion_key     64 bytes: X25519 secret[32] | onion public key[32]
// The public halves let a load check that each file is whole: the public key derived from the
// secret must equal the stored one. onion_cert is not stored (Ed25519 is deterministic: it is
// recomputed on load).
#ifndef RELAYCELL_NET_IDENTITY_RELAY_KEYS_H_
#define RELAYCELL_NET_IDENTITY_RELAY_KEYS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace relaycell::net {

inline constexpr size_t kIdentityBytes = 32;        // an Ed25519 public key: the relay's ID
inline constexpr size_t kIdentitySecretBytes = 64;  // libsodium crypto_sign: seed | ID
inline constexpr size_t kOnionKeyBytes = 32;        // X25519
inline constexpr size_t kOnionCertBytes = 64;       // an Ed25519 detached signature
inline constexpr size_t kKeyFileBytes = 64;         // both key files
// onion_cert = Ed25519-Sign(identity, kOnionCertLabel || onion_public); no NUL.
inline constexpr std::string_view kOnionCertLabel = "relaycell-onion-key-v1";
inline constexpr std::string_view kIdentityKeyFile = "identity_key";
inline constexpr std::string_view kOnionKeyFile = "onion_key";

struct RelayKeys {
  std::array<uint8_t, kIdentityBytes> identity{};      // Ed25519 public key = the relay's ID
  std::array<uint8_t, kOnionKeyBytes> onion_public{};  // X25519
  // Ed25519-Sign(identity, "relaycell-onion-key-v1" || onion_public), detached.
  std::array<uint8_t, kOnionCertBytes> onion_cert{};

  RelayKeys() = default;
  ~RelayKeys() { Wipe(); }
  RelayKeys(RelayKeys&& other) noexcept;
  RelayKeys& operator=(RelayKeys&& other) noexcept;
  RelayKeys(const RelayKeys&) = delete;
  RelayKeys& operator=(const RelayKeys&) = delete;

  // Whether the secrets are here (after GenerateRelayKeys or LoadRelayKeys succeeded). The two
  // accessors below abort if not: signing with absent keys is a programming error.
  bool has_secrets() const { return secrets_ != nullptr; }
  // libsodium crypto_sign secret key (seed | pk).
  std::span<const uint8_t, kIdentitySecretBytes> identity_secret() const;
  std::span<const uint8_t, kOnionKeyBytes> onion_secret() const;
  // The Ed25519 seed (the first half of identity_secret()), as OpenSSL takes it.
  std::span<const uint8_t, 32> identity_seed() const { return identity_secret().first<32>(); }

  // Wipes and frees the secrets and zeroes the public fields.
  void Wipe();

 private:
  friend bool GenerateRelayKeys(RelayKeys& out);
  friend bool LoadRelayKeys(const std::string& dir, RelayKeys& out, std::string* error);
  // Replaces any secrets with fresh zeroed locked memory; false if none can be had.
  bool AllocateSecrets();
  uint8_t* mutable_secrets() { return secrets_; }

  // sodium_malloc'd (locked, guarded, wiped by sodium_free): one per relay, so a KeyArena slab
  // would buy nothing. identity secret key[64] | onion secret[32].
  uint8_t* secrets_ = nullptr;
};

// Fresh keys (libsodium randombytes) and their onion_cert. False only if libsodium cannot
// start or no locked memory can be had.
bool GenerateRelayKeys(RelayKeys& out);

// Writes DIR/identity_key and DIR/onion_key (the layout above), each created with
// O_CREAT | O_EXCL, mode 0600, and fsync'ed. DIR is created (mode 0700) if missing, its parent
// must exist. Refuses to overwrite either file; if one cannot be written, neither is left.
// Returns false with *error set (naming the file).
bool WriteRelayKeys(const std::string& dir, const RelayKeys& keys, std::string* error);

// Loads them and recomputes onion_cert. Refuses (false, *error names the file and the
// problem) a key file that is missing, not a regular file, has any group or other permission
// bit set, is not exactly 64 bytes, or whose public half does not match its secret half.
// `out` is wiped on failure.
bool LoadRelayKeys(const std::string& dir, RelayKeys& out, std::string* error);

// Whether onion_cert is identity's signature over "relaycell-onion-key-v1" || onion_public.
bool VerifyOnionCert(std::span<const uint8_t, 32> identity,
                     std::span<const uint8_t, 32> onion_public,
                     std::span<const uint8_t, 64> onion_cert);

// onion_cert for onion_public, signed with identity_secret (libsodium's seed | pk form).
// False if libsodium cannot start.
bool SignOnionCert(std::span<const uint8_t, 64> identity_secret,
                   std::span<const uint8_t, 32> onion_public, std::span<uint8_t, 64> onion_cert);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_IDENTITY_RELAY_KEYS_H_
