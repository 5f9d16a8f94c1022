// TLS 1.3 identity on links (network.md §2), OpenSSL 3.
//
// A relay's TLS certificate is X.509 v3, self-signed with its Ed25519 identity key (the key
// libsodium's seed gives, so the certificate's public key is the relay's ID). The opening side
// presents no certificate and trusts no CA: after the handshake it checks the peer's
// certificate itself (CheckPeerIdentity): Ed25519, self-signature valid, public key equal to the
// identity it expects. Names and dates in the certificate mean nothing and are not checked.
// TLS itself proves the peer holds the key: its CertificateVerify is checked whatever the
// verify mode.
//
// Every link is a full handshake: session tickets and session caches are off on both sides, so
// the peer's certificate is always the one just presented, never one remembered from a session.
#ifndef RELAYCELL_NET_LINK_TLS_IDENTITY_H_
#define RELAYCELL_NET_LINK_TLS_IDENTITY_H_

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "net/identity/relay_keys.h"

namespace relaycell::net {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// The relay's identity as an OpenSSL Ed25519 key (EVP_PKEY_new_raw_private_key from the
// libsodium seed); null if OpenSSL refuses or `keys` has no secrets. OpenSSL holds its own copy
// of the seed (its heap, cleansed when the key is freed).
EvpPkeyPtr RelayIdentityPkey(const RelayKeys& keys);

// A certificate for subject_key's public key signed by signing_key: X.509 v3, a random serial,
// CN "relaycell", valid from a day ago for a year. Ed25519 signs with no digest (X509_sign with
// NULL), other key types with SHA-256. A relay's certificate has subject_key == signing_key;
// tests build other ones. Null if OpenSSL fails.
X509Ptr MakeLinkCertificate(EVP_PKEY* subject_key, EVP_PKEY* signing_key);

// A relay's listening SSL_CTX: TLS 1.3 only, the relay's self-signed certificate and key, no
// client certificate requested, no session tickets or cache. False with *error set.
bool ConfigureRelayServerTls(SSL_CTX* ctx, const RelayKeys& keys, std::string* error);

// The opening side's SSL_CTX: TLS 1.3 only, no certificate of its own, SSL_VERIFY_NONE (no CA,
// hostname or date checks: CheckPeerIdentity after the handshake), no session cache.
bool ConfigureLinkClientTls(SSL_CTX* ctx, std::string* error);

enum class PeerIdentityError : uint8_t {
  kOk = 0,
  kNoCertificate,     // the peer presented none (or the handshake has not finished)
  kNotEd25519,        // its key is not Ed25519
  kBadSelfSignature,  // the certificate's signature does not verify under its own key
  kWrongIdentity,     // its key is not the identity we expect
};
// "wrong_identity", ...: snake_case, usable as a counter's reason.
const char* PeerIdentityErrorName(PeerIdentityError error);

// The peer certificate of a finished handshake, through CheckCertificateIdentity.
PeerIdentityError CheckPeerIdentity(SSL* ssl, std::span<const uint8_t, 32> expected_identity);

// In order: the key type is ED25519, X509_verify with the certificate's own key passes, and the
// raw public key equals expected_identity.
PeerIdentityError CheckCertificateIdentity(X509* cert,
                                           std::span<const uint8_t, 32> expected_identity);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_LINK_TLS_IDENTITY_H_
