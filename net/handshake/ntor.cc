#include "net/handshake/ntor.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstring>
#include <utility>

#include "engine/common/key_arena.h"

namespace relaycell::net {
namespace {

constexpr std::array<NtorSuite, 3> kSuites{{
    {kHtypeNtorTor1, "ntor-curve25519-sha256-relaycell-tor1", "tor1", 72,
     NtorKeyOutput::kHkdfPrefix},
    {kHtypeNtorAez, "ntor-curve25519-sha256-aez-1", "aez", 32, NtorKeyOutput::kKeySeed},
    {kHtypeNtorCgo, "ntor-curve25519-sha256-relaycell-cgo", "cgo", 160, NtorKeyOutput::kHkdfPrefix},
}};
static_assert([] {
  for (const NtorSuite& s : kSuites) {
    if (s.protoid.size() > kMaxNtorProtoidBytes) return false;
    if (s.key_material_bytes > kMaxHopKeyMaterialBytes) return false;
    if (s.key_output == NtorKeyOutput::kKeySeed && s.key_material_bytes != kNtorKeyBytes) {
      return false;
    }
  }
  return true;
}());

// The buffers below are sized by the table's limits, so only its entries are taken.
bool KnownSuite(const NtorSuite& suite) {
  for (const NtorSuite& s : kSuites) {
    if (&s == &suite) return true;
  }
  return false;
}

constexpr std::string_view kServerLabel = "Server";

// Everything secret one handshake computes, in one locked slot.
struct NtorScratch {
  // EXP(X,y) | EXP(X,b) | ID | B | X | Y | PROTOID
  uint8_t secret_input[6 * kNtorKeyBytes + kMaxNtorProtoidBytes];
  // verify | ID | B | Y | X | PROTOID | "Server"
  uint8_t auth_input[5 * kNtorKeyBytes + kMaxNtorProtoidBytes + kServerLabel.size()];
  uint8_t key_seed[kNtorKeyBytes];
  uint8_t auth[kNtorKeyBytes];
  uint8_t expanded[kMaxHopKeyMaterialBytes];
  uint8_t y[kNtorKeyBytes];
};

// Handshake secrets live in KeyArena slots rather than one sodium_malloc each (three pages and
// two syscalls per allocation): a relay answers many CREATE2s, and the slots are locked, out of
// core dumps and wiped on release all the same. The arenas are never destroyed, so a
// HopKeyMaterial or NtorClient outliving static destruction still has its arena.
KeyArena& ScalarArena() {
  static KeyArena* const arena = new KeyArena(kNtorKeyBytes, 256);
  return *arena;
}
KeyArena& KeyMaterialArena() {
  static KeyArena* const arena = new KeyArena(kMaxHopKeyMaterialBytes, 256);
  return *arena;
}
KeyArena& ScratchArena() {
  static KeyArena* const arena = new KeyArena(sizeof(NtorScratch), 16);
  return *arena;
}

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Appends `part` at `at` (the buffers above are sized for the longest PROTOID).
size_t Put(uint8_t* buffer, size_t at, std::span<const uint8_t> part) {
  std::memcpy(buffer + at, part.data(), part.size());
  return at + part.size();
}

// PROTOID | suffix: t_key, t_verify, t_mac, m_expand (public).
class Label {
 public:
  Label(const NtorSuite& suite, std::string_view suffix)
      : size_(suite.protoid.size() + suffix.size()) {
    std::memcpy(text_, suite.protoid.data(), suite.protoid.size());
    std::memcpy(text_ + suite.protoid.size(), suffix.data(), suffix.size());
  }
  std::string_view view() const { return {text_, size_}; }
  std::span<const uint8_t> bytes() const { return Bytes(view()); }

 private:
  char text_[kMaxNtorProtoidBytes + 16];
  size_t size_;
};

// H(x, t) = HMAC-SHA256(key = t, message = x).
bool H(std::span<const uint8_t> x, std::string_view t, uint8_t* out) {
  unsigned int length = 0;
  return HMAC(EVP_sha256(), t.data(), static_cast<int>(t.size()), x.data(), x.size(), out,
              &length) != nullptr &&
         length == kNtorKeyBytes;
}

// HKDF-SHA256 (RFC 5869 extract and expand), |out| bytes.
bool Hkdf(std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
          std::span<const uint8_t> info, std::span<uint8_t> out) {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return false;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);  // clears the key and salt it copied
  return ok;
}

// X25519; false (and `out` zeroed) if the result is all zeros. libsodium refuses low-order
// points itself; the explicit check keeps the rule visible and independent of its version.
bool Exp(uint8_t* out, std::span<const uint8_t, 32> point, const uint8_t* scalar) {
  if (crypto_scalarmult(out, scalar, point.data()) != 0 || sodium_is_zero(out, kNtorKeyBytes)) {
    sodium_memzero(out, kNtorKeyBytes);
    return false;
  }
  return true;
}

using ScratchBox = ArenaBox<NtorScratch>;

}  // namespace

namespace ntor_internal {

struct Access {
  // Fills `out` with the suite's key material from scratch (KEY_SEED or the HKDF prefix).
  static NtorError Fill(HopKeyMaterial& out, std::span<const uint8_t> material) {
    if (out.slot_ == nullptr) {
      out.slot_ = static_cast<uint8_t*>(KeyMaterialArena().Allocate());
      if (out.slot_ == nullptr) return NtorError::kNoLockedMemory;
    }
    std::memcpy(out.slot_, material.data(), material.size());
    out.size_ = material.size();
    return NtorError::kOk;
  }

  // secret_input's first 64 bytes hold the two shared secrets. Completes secret_input, then
  // KEY_SEED, verify, AUTH and the key material (in s.expanded, or s.key_seed for aez).
  static NtorError Derive(const NtorSuite& suite, NtorScratch& s, std::span<const uint8_t, 32> id,
                          std::span<const uint8_t, 32> b_public,
                          std::span<const uint8_t, 32> x_public,
                          std::span<const uint8_t, 32> y_public, HopKeyMaterial& out) {
    size_t n = 2 * kNtorKeyBytes;
    n = Put(s.secret_input, n, id);
    n = Put(s.secret_input, n, b_public);
    n = Put(s.secret_input, n, x_public);
    n = Put(s.secret_input, n, y_public);
    n = Put(s.secret_input, n, Bytes(suite.protoid));
    const std::span<const uint8_t> secret_input(s.secret_input, n);

    // verify goes straight to the head of auth_input.
    const Label t_key(suite, ":key_extract");
    if (!H(secret_input, t_key.view(), s.key_seed) ||
        !H(secret_input, Label(suite, ":verify").view(), s.auth_input)) {
      return NtorError::kCryptoFailed;
    }
    size_t m = kNtorKeyBytes;
    m = Put(s.auth_input, m, id);
    m = Put(s.auth_input, m, b_public);
    m = Put(s.auth_input, m, y_public);
    m = Put(s.auth_input, m, x_public);
    m = Put(s.auth_input, m, Bytes(suite.protoid));
    m = Put(s.auth_input, m, Bytes(kServerLabel));
    if (!H({s.auth_input, m}, Label(suite, ":mac").view(), s.auth)) {
      return NtorError::kCryptoFailed;
    }

    if (suite.key_output == NtorKeyOutput::kKeySeed) return Fill(out, {s.key_seed, kNtorKeyBytes});
    const std::span<uint8_t> expanded(s.expanded, suite.key_material_bytes);
    if (!Hkdf(t_key.bytes(), secret_input, Label(suite, ":key_expand").bytes(), expanded)) {
      return NtorError::kCryptoFailed;
    }
    return Fill(out, expanded);
  }
};

}  // namespace ntor_internal

using ntor_internal::Access;

const NtorSuite* FindNtorSuiteByHtype(uint16_t htype) {
  for (const NtorSuite& suite : kSuites) {
    if (suite.htype == htype) return &suite;
  }
  return nullptr;
}

const NtorSuite* FindNtorSuiteBySuiteName(std::string_view name) {
  for (const NtorSuite& suite : kSuites) {
    if (suite.suite_name == name) return &suite;
  }
  return nullptr;
}

std::span<const NtorSuite> AllNtorSuites() { return kSuites; }

const char* NtorErrorName(NtorError error) {
  switch (error) {
    case NtorError::kOk: return "ok";
    case NtorError::kBadLength: return "bad_length";
    case NtorError::kWrongIdentity: return "wrong_identity";
    case NtorError::kZeroSharedSecret: return "zero_shared_secret";
    case NtorError::kBadAuth: return "bad_auth";
    case NtorError::kNoLockedMemory: return "no_locked_memory";
    case NtorError::kNotStarted: return "not_started";
    case NtorError::kCryptoFailed: return "crypto_failed";
    case NtorError::kUnknownSuite: return "unknown_suite";
  }
  return "unknown";
}

HopKeyMaterial::HopKeyMaterial(HopKeyMaterial&& other) noexcept
    : slot_(std::exchange(other.slot_, nullptr)), size_(std::exchange(other.size_, 0)) {}

HopKeyMaterial& HopKeyMaterial::operator=(HopKeyMaterial&& other) noexcept {
  if (this != &other) {
    Wipe();
    slot_ = std::exchange(other.slot_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void HopKeyMaterial::Wipe() {
  if (slot_ != nullptr) KeyMaterialArena().Release(slot_);  // Release wipes the slot
  slot_ = nullptr;
  size_ = 0;
}

NtorClient::~NtorClient() { Reset(); }

NtorClient::NtorClient(NtorClient&& other) noexcept
    : suite_(std::exchange(other.suite_, nullptr)),
      x_(std::exchange(other.x_, nullptr)),
      id_(other.id_),
      b_public_(other.b_public_),
      x_public_(other.x_public_) {}

NtorClient& NtorClient::operator=(NtorClient&& other) noexcept {
  if (this != &other) {
    Reset();
    suite_ = std::exchange(other.suite_, nullptr);
    x_ = std::exchange(other.x_, nullptr);
    id_ = other.id_;
    b_public_ = other.b_public_;
    x_public_ = other.x_public_;
  }
  return *this;
}

void NtorClient::Reset() {
  if (x_ != nullptr) ScalarArena().Release(x_);  // Release wipes the slot
  x_ = nullptr;
  suite_ = nullptr;
}

NtorError NtorClient::Start(const NtorSuite& suite, std::span<const uint8_t, 32> relay_identity,
                            std::span<const uint8_t, 32> relay_onion_key,
                            std::span<uint8_t, kNtorClientHdataBytes> hdata_out) {
  return Begin(suite, relay_identity, relay_onion_key, nullptr, hdata_out);
}

NtorError NtorClient::StartWithSecret(const NtorSuite& suite,
                                      std::span<const uint8_t, 32> relay_identity,
                                      std::span<const uint8_t, 32> relay_onion_key,
                                      std::span<const uint8_t, 32> x,
                                      std::span<uint8_t, kNtorClientHdataBytes> hdata_out) {
  return Begin(suite, relay_identity, relay_onion_key, x.data(), hdata_out);
}

NtorError NtorClient::Begin(const NtorSuite& suite, std::span<const uint8_t, 32> relay_identity,
                            std::span<const uint8_t, 32> relay_onion_key, const uint8_t* x,
                            std::span<uint8_t, kNtorClientHdataBytes> hdata_out) {
  Reset();
  std::memset(hdata_out.data(), 0, hdata_out.size());
  if (!KnownSuite(suite)) return NtorError::kUnknownSuite;
  if (!SodiumReady()) return NtorError::kNoLockedMemory;
  // x lives in a locked slot from the moment it exists until Finish.
  x_ = static_cast<uint8_t*>(ScalarArena().Allocate());
  if (x_ == nullptr) return NtorError::kNoLockedMemory;
  if (x != nullptr) {
    std::memcpy(x_, x, kNtorKeyBytes);
  } else {
    randombytes_buf(x_, kNtorKeyBytes);
  }
  crypto_scalarmult_base(x_public_.data(), x_);
  std::memcpy(id_.data(), relay_identity.data(), kNtorKeyBytes);
  std::memcpy(b_public_.data(), relay_onion_key.data(), kNtorKeyBytes);
  suite_ = &suite;
  size_t n = Put(hdata_out.data(), 0, id_);
  n = Put(hdata_out.data(), n, b_public_);
  Put(hdata_out.data(), n, x_public_);
  return NtorError::kOk;
}

NtorError NtorClient::Finish(std::span<const uint8_t> server_hdata, HopKeyMaterial& out) {
  out.Wipe();
  if (suite_ == nullptr || x_ == nullptr) return NtorError::kNotStarted;
  const NtorError error = FinishWithScratch(server_hdata, out);
  Reset();  // x is wiped whatever the outcome
  if (error != NtorError::kOk) out.Wipe();
  return error;
}

NtorError NtorClient::FinishWithScratch(std::span<const uint8_t> server_hdata,
                                        HopKeyMaterial& out) {
  if (server_hdata.size() != kNtorServerHdataBytes) return NtorError::kBadLength;
  const std::span<const uint8_t, 32> y_public = server_hdata.first<kNtorKeyBytes>();
  const std::span<const uint8_t, 32> auth = server_hdata.subspan<kNtorKeyBytes, 32>();
  ScratchBox s = MakeInArena<NtorScratch>(ScratchArena());  // wiped when it goes
  if (!s) return NtorError::kNoLockedMemory;
  // secret_input = EXP(Y,x) | EXP(B,x) | ...
  if (!Exp(s->secret_input, y_public, x_) || !Exp(s->secret_input + kNtorKeyBytes, b_public_, x_)) {
    return NtorError::kZeroSharedSecret;
  }
  const NtorError error = Access::Derive(*suite_, *s, id_, b_public_, x_public_, y_public, out);
  if (error != NtorError::kOk) return error;
  return CRYPTO_memcmp(s->auth, auth.data(), kNtorKeyBytes) == 0 ? NtorError::kOk
                                                                 : NtorError::kBadAuth;
}

namespace {

// Both public entry points; y == nullptr: a random one.
NtorError Respond(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                  std::span<const uint8_t, 32> onion_public,
                  std::span<const uint8_t, 32> onion_secret, const uint8_t* y,
                  std::span<const uint8_t> client_hdata,
                  std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out, HopKeyMaterial& out) {
  if (!KnownSuite(suite)) return NtorError::kUnknownSuite;
  if (client_hdata.size() != kNtorClientHdataBytes) return NtorError::kBadLength;
  const std::span<const uint8_t, 32> id = client_hdata.first<kNtorKeyBytes>();
  const std::span<const uint8_t, 32> b_public = client_hdata.subspan<kNtorKeyBytes, 32>();
  const std::span<const uint8_t, 32> x_public = client_hdata.subspan<2 * kNtorKeyBytes, 32>();
  // Public values: no need for a constant-time compare.
  if (std::memcmp(id.data(), identity.data(), kNtorKeyBytes) != 0 ||
      std::memcmp(b_public.data(), onion_public.data(), kNtorKeyBytes) != 0) {
    return NtorError::kWrongIdentity;
  }
  if (!SodiumReady()) return NtorError::kNoLockedMemory;
  ScratchBox s = MakeInArena<NtorScratch>(ScratchArena());  // wiped when it goes
  if (!s) return NtorError::kNoLockedMemory;
  // y lives in the locked scratch from the moment it exists.
  if (y != nullptr) {
    std::memcpy(s->y, y, kNtorKeyBytes);
  } else {
    randombytes_buf(s->y, kNtorKeyBytes);
  }
  std::array<uint8_t, kNtorKeyBytes> y_public;
  crypto_scalarmult_base(y_public.data(), s->y);
  // secret_input = EXP(X,y) | EXP(X,b) | ...
  if (!Exp(s->secret_input, x_public, s->y) ||
      !Exp(s->secret_input + kNtorKeyBytes, x_public, onion_secret.data())) {
    return NtorError::kZeroSharedSecret;
  }
  const NtorError error = Access::Derive(suite, *s, id, b_public, x_public, y_public, out);
  if (error != NtorError::kOk) return error;
  size_t n = Put(server_hdata_out.data(), 0, y_public);
  Put(server_hdata_out.data(), n, {s->auth, kNtorKeyBytes});
  return NtorError::kOk;
}

}  // namespace

namespace {

NtorError RespondAndClean(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                          std::span<const uint8_t, 32> onion_public,
                          std::span<const uint8_t, 32> onion_secret, const uint8_t* y,
                          std::span<const uint8_t> client_hdata,
                          std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out,
                          HopKeyMaterial& out) {
  out.Wipe();
  std::memset(server_hdata_out.data(), 0, server_hdata_out.size());
  const NtorError error =
      Respond(suite, identity, onion_public, onion_secret, y, client_hdata, server_hdata_out, out);
  if (error != NtorError::kOk) {
    out.Wipe();
    std::memset(server_hdata_out.data(), 0, server_hdata_out.size());
  }
  return error;
}

}  // namespace

NtorError NtorServerRespond(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                            std::span<const uint8_t, 32> onion_public,
                            std::span<const uint8_t, 32> onion_secret,
                            std::span<const uint8_t> client_hdata,
                            std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out,
                            HopKeyMaterial& out) {
  return RespondAndClean(suite, identity, onion_public, onion_secret, nullptr, client_hdata,
                         server_hdata_out, out);
}

NtorError NtorServerRespondWithSecret(const NtorSuite& suite, std::span<const uint8_t, 32> identity,
                                      std::span<const uint8_t, 32> onion_public,
                                      std::span<const uint8_t, 32> onion_secret,
                                      std::span<const uint8_t, 32> y,
                                      std::span<const uint8_t> client_hdata,
                                      std::span<uint8_t, kNtorServerHdataBytes> server_hdata_out,
                                      HopKeyMaterial& out) {
  return RespondAndClean(suite, identity, onion_public, onion_secret, y.data(), client_hdata,
                         server_hdata_out, out);
}

}  // namespace relaycell::net
