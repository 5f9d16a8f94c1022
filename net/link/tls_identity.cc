#include "net/link/tls_identity.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <utility>

namespace relaycell::net {
namespace {

constexpr long kOneDaySeconds = 24 * 60 * 60;
constexpr long kValiditySeconds = 365 * kOneDaySeconds;

bool SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// The latest OpenSSL error as text (the queue is emptied), for an error message.
std::string OpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

bool Tls13Only(SSL_CTX* ctx) {
  return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1;
}

}  // namespace

EvpPkeyPtr RelayIdentityPkey(const RelayKeys& keys) {
  if (!keys.has_secrets()) return nullptr;
  const std::span<const uint8_t, 32> seed = keys.identity_seed();
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return nullptr;
  // The key OpenSSL derived must be the relay's ID (the seed and ID come from one file).
  uint8_t public_key[kIdentityBytes];
  size_t length = sizeof public_key;
  if (EVP_PKEY_get_raw_public_key(key.get(), public_key, &length) != 1 ||
      length != kIdentityBytes || CRYPTO_memcmp(public_key, keys.identity.data(), length) != 0) {
    return nullptr;
  }
  return key;
}

X509Ptr MakeLinkCertificate(EVP_PKEY* subject_key, EVP_PKEY* signing_key) {
  if (subject_key == nullptr || signing_key == nullptr) return nullptr;
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return nullptr;
  // A random positive 63-bit serial: nothing reads it, but two certificates should differ.
  uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) return nullptr;
  serial &= ~(uint64_t{1} << 63);
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1) return nullptr;
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneDaySeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr) {
    return nullptr;
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  static const unsigned char kCommonName[] = "relaycell";
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, kCommonName, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return nullptr;
  }
  const EVP_MD* digest = EVP_PKEY_get_id(signing_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), signing_key, digest) <= 0) return nullptr;
  return cert;
}

bool ConfigureRelayServerTls(SSL_CTX* ctx, const RelayKeys& keys, std::string* error) {
  if (ctx == nullptr) return SetError(error, "TLS server: no SSL_CTX");
  if (!keys.has_secrets()) return SetError(error, "TLS server: the relay's keys are not loaded");
  if (!Tls13Only(ctx))
    return SetError(error, "TLS server: cannot require TLS 1.3: " + OpenSslReason());
  const EvpPkeyPtr key = RelayIdentityPkey(keys);
  if (!key) {
    return SetError(error,
                    "TLS server: the identity key is not a usable Ed25519 key: " + OpenSslReason());
  }
  const X509Ptr cert = MakeLinkCertificate(key.get(), key.get());
  if (!cert) return SetError(error, "TLS server: cannot make the certificate: " + OpenSslReason());
  if (SSL_CTX_use_certificate(ctx, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return SetError(error, "TLS server: cannot install the certificate: " + OpenSslReason());
  }
  // No client certificate asked for; no resumption (every link presents its certificate).
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
    return SetError(error, "TLS server: cannot turn session tickets off: " + OpenSslReason());
  }
  return true;
}

bool ConfigureLinkClientTls(SSL_CTX* ctx, std::string* error) {
  if (ctx == nullptr) return SetError(error, "TLS client: no SSL_CTX");
  if (!Tls13Only(ctx))
    return SetError(error, "TLS client: cannot require TLS 1.3: " + OpenSslReason());
  // The peer's certificate is checked by CheckPeerIdentity, not by a CA chain.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return true;
}

const char* PeerIdentityErrorName(PeerIdentityError error) {
  switch (error) {
    case PeerIdentityError::kOk: return "ok";
    case PeerIdentityError::kNoCertificate: return "no_certificate";
    case PeerIdentityError::kNotEd25519: return "not_ed25519";
    case PeerIdentityError::kBadSelfSignature: return "bad_self_signature";
    case PeerIdentityError::kWrongIdentity: return "wrong_identity";
  }
  return "unknown";
}

PeerIdentityError CheckPeerIdentity(SSL* ssl, std::span<const uint8_t, 32> expected_identity) {
  if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) return PeerIdentityError::kNoCertificate;
  return CheckCertificateIdentity(SSL_get0_peer_certificate(ssl), expected_identity);
}

PeerIdentityError CheckCertificateIdentity(X509* cert,
                                           std::span<const uint8_t, 32> expected_identity) {
  if (cert == nullptr) return PeerIdentityError::kNoCertificate;
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    ERR_clear_error();
    return PeerIdentityError::kNotEd25519;
  }
  if (X509_verify(cert, key) != 1) {
    ERR_clear_error();
    return PeerIdentityError::kBadSelfSignature;
  }
  uint8_t public_key[kIdentityBytes];
  size_t length = sizeof public_key;
  if (EVP_PKEY_get_raw_public_key(key, public_key, &length) != 1 || length != kIdentityBytes) {
    ERR_clear_error();
    return PeerIdentityError::kNotEd25519;
  }
  if (CRYPTO_memcmp(public_key, expected_identity.data(), kIdentityBytes) != 0) {
    return PeerIdentityError::kWrongIdentity;
  }
  return PeerIdentityError::kOk;
}

}  // namespace relaycell::net
