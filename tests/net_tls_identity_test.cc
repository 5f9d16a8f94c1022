// TLS 1.3 link identity (net/link/tls_identity.h): real handshakes between two SSL objects over
// a BIO pair (no sockets), and what CheckPeerIdentity makes of each kind of peer certificate.
#include "net/link/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "net/identity/relay_keys.h"

namespace relaycell::net {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct SessionFree {
  void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

SslCtxPtr ServerCtx() { return SslCtxPtr(SSL_CTX_new(TLS_server_method())); }
SslCtxPtr ClientCtx() { return SslCtxPtr(SSL_CTX_new(TLS_client_method())); }

// Two ends of one TLS connection over an in-memory BIO pair.
struct Connection {
  SslPtr client, server;
  bool handshake_ok = false;
};

bool Stalled(SSL* ssl, int rc) {
  if (rc == 1) return false;
  const int error = SSL_get_error(ssl, rc);
  return error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE;
}

Connection Connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume = nullptr) {
  Connection c;
  c.client.reset(SSL_new(client_ctx));
  c.server.reset(SSL_new(server_ctx));
  if (!c.client || !c.server) {
    ADD_FAILURE() << "SSL_new failed";
    return c;
  }
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) {
    ADD_FAILURE() << "BIO_new_bio_pair failed";
    return c;
  }
  SSL_set_bio(c.client.get(), client_bio, client_bio);
  SSL_set_bio(c.server.get(), server_bio, server_bio);
  if (resume != nullptr) SSL_set_session(c.client.get(), resume);
  SSL_set_connect_state(c.client.get());
  SSL_set_accept_state(c.server.get());
  for (int round = 0; round < 32; ++round) {
    const int rc = SSL_do_handshake(c.client.get());
    const int rs = SSL_do_handshake(c.server.get());
    if (rc == 1 && rs == 1) {
      c.handshake_ok = true;
      break;
    }
    if (Stalled(c.client.get(), rc) || Stalled(c.server.get(), rs)) break;
  }
  ERR_clear_error();
  return c;
}

// A server SSL_CTX presenting `cert` with private key `key`, TLS 1.3 only.
SslCtxPtr ServerWith(X509* cert, EVP_PKEY* key) {
  SslCtxPtr ctx = ServerCtx();
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION), 1);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key), 1);
  return ctx;
}

class TlsIdentityTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(GenerateRelayKeys(relay_));
    ASSERT_TRUE(GenerateRelayKeys(other_));
    std::string error;
    server_ = ServerCtx();
    ASSERT_TRUE(ConfigureRelayServerTls(server_.get(), relay_, &error)) << error;
    client_ = ClientCtx();
    ASSERT_TRUE(ConfigureLinkClientTls(client_.get(), &error)) << error;
  }

  RelayKeys relay_, other_;
  SslCtxPtr server_, client_;
};

TEST_F(TlsIdentityTest, TheRightIdentityPassesAndTheWrongOneDoesNot) {
  Connection c = Connect(client_.get(), server_.get());
  ASSERT_TRUE(c.handshake_ok);
  EXPECT_EQ(SSL_version(c.client.get()), TLS1_3_VERSION);
  EXPECT_EQ(CheckPeerIdentity(c.client.get(), relay_.identity), PeerIdentityError::kOk);
  EXPECT_EQ(CheckPeerIdentity(c.client.get(), other_.identity), PeerIdentityError::kWrongIdentity);
  std::array<uint8_t, 32> off_by_one = relay_.identity;
  off_by_one[31] ^= 1;
  EXPECT_EQ(CheckPeerIdentity(c.client.get(), off_by_one), PeerIdentityError::kWrongIdentity);

  // The certificate: Ed25519, the relay's ID, signed by itself.
  X509* cert = SSL_get0_peer_certificate(c.client.get());
  ASSERT_NE(cert, nullptr);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(key), EVP_PKEY_ED25519);
  std::array<uint8_t, 32> raw{};
  size_t length = raw.size();
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key, raw.data(), &length), 1);
  EXPECT_EQ(raw, relay_.identity);
  EXPECT_EQ(X509_verify(cert, key), 1);
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);

  // The opening side presented no certificate.
  EXPECT_EQ(SSL_get0_peer_certificate(c.server.get()), nullptr);
  EXPECT_EQ(CheckPeerIdentity(c.server.get(), relay_.identity), PeerIdentityError::kNoCertificate);

  // Data flows both ways once it is up.
  const char ping[] = "VERSIONS";
  ASSERT_EQ(SSL_write(c.client.get(), ping, sizeof ping), int(sizeof ping));
  char got[sizeof ping] = {};
  ASSERT_EQ(SSL_read(c.server.get(), got, sizeof got), int(sizeof ping));
  EXPECT_STREQ(got, ping);
}

TEST_F(TlsIdentityTest, NoCertificateBeforeTheHandshake) {
  SslPtr ssl(SSL_new(client_.get()));
  ASSERT_TRUE(ssl);
  EXPECT_EQ(CheckPeerIdentity(ssl.get(), relay_.identity), PeerIdentityError::kNoCertificate);
  EXPECT_EQ(CheckPeerIdentity(nullptr, relay_.identity), PeerIdentityError::kNoCertificate);
  EXPECT_EQ(CheckCertificateIdentity(nullptr, relay_.identity), PeerIdentityError::kNoCertificate);
}

TEST_F(TlsIdentityTest, ACertificateSignedByAnotherKeyFailsTheSelfSignature) {
  // Key A's certificate signed by key B: the server holds A, so TLS itself succeeds.
  const EvpPkeyPtr a = RelayIdentityPkey(relay_);
  const EvpPkeyPtr b = RelayIdentityPkey(other_);
  ASSERT_TRUE(a && b);
  const X509Ptr cert = MakeLinkCertificate(a.get(), b.get());
  ASSERT_TRUE(cert);
  const SslCtxPtr server = ServerWith(cert.get(), a.get());
  Connection c = Connect(client_.get(), server.get());
  ASSERT_TRUE(c.handshake_ok);
  EXPECT_EQ(CheckPeerIdentity(c.client.get(), relay_.identity),
            PeerIdentityError::kBadSelfSignature);
  EXPECT_EQ(CheckCertificateIdentity(cert.get(), relay_.identity),
            PeerIdentityError::kBadSelfSignature);
  // The same key signing itself is fine.
  const X509Ptr good = MakeLinkCertificate(a.get(), a.get());
  EXPECT_EQ(CheckCertificateIdentity(good.get(), relay_.identity), PeerIdentityError::kOk);
}

TEST_F(TlsIdentityTest, ATamperedSignatureFails) {
  const EvpPkeyPtr a = RelayIdentityPkey(relay_);
  ASSERT_TRUE(a);
  const X509Ptr cert = MakeLinkCertificate(a.get(), a.get());
  ASSERT_TRUE(cert);
  const ASN1_BIT_STRING* signature = nullptr;
  X509_get0_signature(&signature, nullptr, cert.get());
  ASSERT_NE(signature, nullptr);
  ASSERT_EQ(ASN1_STRING_length(signature), 64);
  // Flip a bit of the signature in place.
  const_cast<unsigned char*>(ASN1_STRING_get0_data(signature))[17] ^= 0x20;
  EXPECT_EQ(CheckCertificateIdentity(cert.get(), relay_.identity),
            PeerIdentityError::kBadSelfSignature);
}

TEST_F(TlsIdentityTest, RsaAndEcdsaCertificatesAreNotEd25519) {
  struct Kind {
    const char* name;
    EvpPkeyPtr key;
  };
  Kind kinds[] = {{"RSA", EvpPkeyPtr(EVP_RSA_gen(2048))},
                  {"ECDSA", EvpPkeyPtr(EVP_EC_gen("P-256"))}};
  for (Kind& kind : kinds) {
    SCOPED_TRACE(kind.name);
    ASSERT_TRUE(kind.key);
    const X509Ptr cert = MakeLinkCertificate(kind.key.get(), kind.key.get());
    ASSERT_TRUE(cert);
    ASSERT_EQ(X509_verify(cert.get(), kind.key.get()), 1);  // properly self-signed
    const SslCtxPtr server = ServerWith(cert.get(), kind.key.get());
    Connection c = Connect(client_.get(), server.get());
    ASSERT_TRUE(c.handshake_ok);
    EXPECT_EQ(CheckPeerIdentity(c.client.get(), relay_.identity), PeerIdentityError::kNotEd25519);
  }
}

TEST_F(TlsIdentityTest, Tls12IsRefusedBothWays) {
  // An old client towards a relay.
  SslCtxPtr old_client = ClientCtx();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(old_client.get(), TLS1_2_VERSION), 1);
  SSL_CTX_set_verify(old_client.get(), SSL_VERIFY_NONE, nullptr);
  EXPECT_FALSE(Connect(old_client.get(), server_.get()).handshake_ok);

  // A link client towards a server that speaks only TLS 1.2.
  const EvpPkeyPtr key = RelayIdentityPkey(relay_);
  const X509Ptr cert = MakeLinkCertificate(key.get(), key.get());
  SslCtxPtr old_server = ServerCtx();
  ASSERT_EQ(SSL_CTX_set_max_proto_version(old_server.get(), TLS1_2_VERSION), 1);
  ASSERT_EQ(SSL_CTX_use_certificate(old_server.get(), cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(old_server.get(), key.get()), 1);
  EXPECT_FALSE(Connect(client_.get(), old_server.get()).handshake_ok);

  // The two old ends agree on TLS 1.2: the refusal above is ours, not a setup fault.
  SslCtxPtr old_server_ecdsa = ServerCtx();
  const EvpPkeyPtr ec(EVP_EC_gen("P-256"));
  const X509Ptr ec_cert = MakeLinkCertificate(ec.get(), ec.get());
  ASSERT_EQ(SSL_CTX_set_max_proto_version(old_server_ecdsa.get(), TLS1_2_VERSION), 1);
  ASSERT_EQ(SSL_CTX_use_certificate(old_server_ecdsa.get(), ec_cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(old_server_ecdsa.get(), ec.get()), 1);
  Connection old = Connect(old_client.get(), old_server_ecdsa.get());
  ASSERT_TRUE(old.handshake_ok);
  EXPECT_EQ(SSL_version(old.client.get()), TLS1_2_VERSION);
}

TEST_F(TlsIdentityTest, EveryLinkIsAFullHandshake) {
  EXPECT_EQ(SSL_CTX_get_num_tickets(server_.get()), 0u);
  EXPECT_EQ(SSL_CTX_get_verify_mode(client_.get()), SSL_VERIFY_NONE);
  EXPECT_EQ(SSL_CTX_get_verify_mode(server_.get()), SSL_VERIFY_NONE);
  Connection first = Connect(client_.get(), server_.get());
  ASSERT_TRUE(first.handshake_ok);
  // Read whatever the server sent after the handshake (tickets, if it sent any).
  char byte;
  EXPECT_LE(SSL_read(first.client.get(), &byte, 1), 0);
  ERR_clear_error();
  SessionPtr session(SSL_get1_session(first.client.get()));
  ASSERT_TRUE(session);
  Connection second = Connect(client_.get(), server_.get(), session.get());
  ASSERT_TRUE(second.handshake_ok);
  EXPECT_EQ(SSL_session_reused(second.client.get()), 0);
  EXPECT_EQ(CheckPeerIdentity(second.client.get(), relay_.identity), PeerIdentityError::kOk);
}

TEST_F(TlsIdentityTest, ConfigurationRefusesMissingKeys) {
  RelayKeys empty;
  SslCtxPtr ctx = ServerCtx();
  std::string error;
  EXPECT_FALSE(ConfigureRelayServerTls(ctx.get(), empty, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(RelayIdentityPkey(empty));
  EXPECT_FALSE(ConfigureRelayServerTls(nullptr, relay_, &error));
  EXPECT_FALSE(ConfigureLinkClientTls(nullptr, &error));
}

TEST_F(TlsIdentityTest, ErrorNamesAreDistinct) {
  const PeerIdentityError all[] = {
      PeerIdentityError::kOk, PeerIdentityError::kNoCertificate, PeerIdentityError::kNotEd25519,
      PeerIdentityError::kBadSelfSignature, PeerIdentityError::kWrongIdentity};
  for (PeerIdentityError a : all) {
    for (PeerIdentityError b : all) {
      if (a != b) {
        EXPECT_STRNE(PeerIdentityErrorName(a), PeerIdentityErrorName(b));
      }
    }
  }
}

}  // namespace
}  // namespace relaycell::net
