#include "engine/common/kdf.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <memory>

#include "engine/common/ct_check.h"

namespace relaycell {
namespace {

constexpr char kHopKdfLabel[] = "relaycell-aez-1:kdf";

// Fetched once: EVP_MD_fetch walks the provider tables, too slow to repeat per rekey.
const EVP_MD* Shake256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHAKE256", nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

const char* KdfErrorName(KdfError error) {
  switch (error) {
    case KdfError::kOk: return "ok";
    case KdfError::kSeedTooShort: return "key seed shorter than 32 bytes";
    case KdfError::kXofFailed: return "SHAKE256 unavailable";
    case KdfError::kUnsupported: return "the suite takes no RELAY_REKEY";
  }
  return "unknown";
}

bool Shake256(std::initializer_list<std::span<const uint8_t>> parts, std::span<uint8_t> out) {
  const EVP_MD* md = Shake256Md();
  if (md == nullptr) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1) return false;
  for (std::span<const uint8_t> part : parts) {
    if (!part.empty() && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1) return false;
  }
  // EVP_MD_CTX_free cleanses the sponge state, which holds the secret input.
  return EVP_DigestFinalXOF(ctx.get(), out.data(), out.size()) == 1;
}

HopKeyMaterialView SplitKeyMaterial(std::span<const uint8_t, kKdfOutputBytes> material) {
  return {material.subspan<0, kKdfAezKeyBytes>(),
          material.subspan<kKdfAezKeyBytes, kChainKeyBytes>(),
          material.subspan<kKdfAezKeyBytes + kChainKeyBytes, kChainBytes>(),
          material.subspan<kKdfAezKeyBytes + kChainKeyBytes + kChainBytes, kChainBytes>()};
}

KdfError DeriveHopKeys(std::span<const uint8_t> key_seed, std::span<uint8_t, kKdfOutputBytes> out) {
  if (key_seed.size() < kMinKeySeedBytes) {
    sodium_memzero(out.data(), out.size());
    return KdfError::kSeedTooShort;
  }
  // The hop's key seed from the host's handshake, and below the keys made from it: secret.
  RELAYCELL_CT_SECRET(key_seed.data(), key_seed.size());
  // ENCAP(label) = u64be(len(label)) || label, the domain separation of ntor-v3.
  constexpr size_t label_len = sizeof(kHopKdfLabel) - 1;
  uint8_t encap_len[8];
  for (int i = 0; i < 8; ++i) encap_len[i] = uint8_t(uint64_t{label_len} >> (56 - 8 * i));
  const std::span<const uint8_t> label(reinterpret_cast<const uint8_t*>(kHopKdfLabel), label_len);
  if (!Shake256({encap_len, label, key_seed}, out)) {
    sodium_memzero(out.data(), out.size());
    return KdfError::kXofFailed;
  }
  RELAYCELL_CT_SECRET(out.data(), out.size());
  return KdfError::kOk;
}

KdfError DeriveRekeyKeys(std::span<const uint8_t, kKdfAezKeyBytes> aez_key,
                         std::span<const uint8_t> rekey_data,
                         std::span<uint8_t, kKdfOutputBytes> out) {
  if (!Shake256({aez_key, rekey_data}, out)) {
    sodium_memzero(out.data(), out.size());
    return KdfError::kXofFailed;
  }
  RELAYCELL_CT_SECRET(out.data(), out.size());
  return KdfError::kOk;
}

}  // namespace relaycell
