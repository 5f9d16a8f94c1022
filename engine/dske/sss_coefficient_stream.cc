#include "engine/dske/sss_coefficient_stream.h"

#include <intel-ipsec-mb.h>
#include <sodium.h>

#include <array>

#include "engine/common/ct_check.h"
#include "engine/common/ipsec_mb_manager.h"

namespace relaycell::sss {
namespace {

// CTR encrypts these zeros, so what lands in `out` is the keystream itself.
alignas(64) constexpr std::array<uint8_t, CoefficientStream::kMaxFillBytes> kZeros{};

}  // namespace

CoefficientStream::CoefficientStream() {
  std::array<uint8_t, kKeyBytes> key;
  randombytes_buf(key.data(), key.size());
  // The key of the coefficient rows: secret, and so are the rows (Shamir's coefficients).
  RELAYCELL_CT_SECRET(key.data(), key.size());
  Expand(key.data());
  sodium_memzero(key.data(), key.size());
}

CoefficientStream::CoefficientStream(std::span<const uint8_t, kKeyBytes> key) {
  Expand(key.data());
}

CoefficientStream::~CoefficientStream() {
  sodium_memzero(enc_keys_, sizeof enc_keys_);
  sodium_memzero(dec_keys_, sizeof dec_keys_);
}

void CoefficientStream::Expand(const uint8_t* key) {
  IMB_AES_KEYEXP_256(ThreadIpsecMbManager(), key, enc_keys_, dec_keys_);
}

bool CoefficientStream::Fill(uint64_t nonce, std::span<uint8_t> out) {
  if (out.empty()) return true;
  if (out.size() > kMaxFillBytes) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  alignas(16) std::array<uint8_t, 16> counter{};
  for (int i = 7; i >= 0; --i, nonce >>= 8) counter[i] = static_cast<uint8_t>(nonce);

  if (!RunCipherJob({IMB_CIPHER_CNTR, true, enc_keys_, IMB_KEY_256_BYTES, kZeros.data(), out.data(),
                     out.size(), counter.data(), counter.size()})) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

}  // namespace relaycell::sss
