// AEZ's Extract and the AezKey expansion.
#include <sodium.h>

#include <cstring>

#include "engine/aez/aez.h"
#include "engine/aez/aez_internal.h"
#include "engine/common/ct_check.h"
#include "kernels/aes_rounds.h"

namespace relaycell {

void AezExtract(std::span<const uint8_t> key, std::span<uint8_t, kAezKeyBytes> out) {
  if (key.size() == kAezKeyBytes) {
    std::memmove(out.data(), key.data(), kAezKeyBytes);
    return;
  }
  // BLAKE2b with the 48-byte output length in its parameter block (not BLAKE2b-512 cut).
  crypto_generichash(out.data(), kAezKeyBytes, key.data(), key.size(), nullptr, 0);
}

AezKey::~AezKey() { sodium_memzero(this, sizeof *this); }

void AezKey::Init(std::span<const uint8_t, 48> extracted) {
  const uint8_t* i = extracted.data();
  const uint8_t* j = extracted.data() + 16;
  const uint8_t* l = extracted.data() + 32;
  kernels::AezKeyBlocks& b = blocks_;
  sodium_memzero(&b, sizeof b);
  // `extracted` may live inside this object's own storage: copy I, J, L first.
  uint8_t ijl[48];
  std::memcpy(ijl, i, 16);
  std::memcpy(ijl + 16, j, 16);
  std::memcpy(ijl + 32, l, 16);
  // I, J, L are secret whatever they came from (the KDF, Extract, a caller's bytes), and so is
  // every block expanded from them below.
  RELAYCELL_CT_SECRET(ijl, sizeof ijl);
  // AES4's keys J, I, L (AES10 reuses them). The table's two zero rows, AES4's fourth key
  // (= 0·L) and block 8's L term (= 0·J), stay as the wipe above left them.
  std::memcpy(b.aes4(0), ijl + 16, 16);
  std::memcpy(b.aes4(1), ijl, 16);
  std::memcpy(b.aes4(2), ijl + 32, 16);
  std::memcpy(b.i_powers[0], ijl, 16);
  for (size_t k = 1; k < kernels::kAezIPowers; ++k) {
    kernels::AezDoubleBlock(b.i_powers[k - 1], b.i_powers[k]);
  }
  for (uint64_t k = 1; k < 8; ++k) aez_internal::MultiplyBlock(ijl + 32, k, b.l_multiple(k));
  for (uint64_t k = 1; k < kernels::kAezJMultiples; ++k) {
    aez_internal::MultiplyBlock(ijl + 16, k, b.j_multiple(k));
  }
  sodium_memzero(ijl, sizeof ijl);
  // E^{3,1}([0]_128) = AES4(3J ^ 2I ^ L).
  uint8_t offset[16];
  aez_internal::TweakOffset(*this, 3, 1, offset);
  const uint8_t zero[16] = {};
  kernels::AesRounds(std::span<const uint8_t>(zero, 16), std::span<const uint8_t>(offset, 16),
                     b.aes4_schedule(), std::span<uint8_t>(hash_tau0_, 16));
  sodium_memzero(offset, sizeof offset);
}

namespace aez_internal {

void MultiplyBlock(const uint8_t x[16], uint64_t k, uint8_t out[16]) {
  uint8_t power[16], sum[16] = {};
  std::memcpy(power, x, 16);
  for (; k != 0; k >>= 1) {
    if (k & 1) XorBlock(sum, power, sum);  // k is public (an index), x is not
    kernels::AezDoubleBlock(power, power);
  }
  std::memcpy(out, sum, 16);
  sodium_memzero(power, sizeof power);
  sodium_memzero(sum, sizeof sum);
}

void TweakOffset(const AezKey& key, uint64_t j, uint64_t i, uint8_t out[16]) {
  const kernels::AezKeyBlocks& b = key.blocks();
  uint8_t jj[16], ipow[16];
  if (j < kernels::kAezJMultiples) {
    std::memcpy(jj, b.j_multiple(j), 16);
  } else {
    MultiplyBlock(b.j_multiple(1), j, jj);
  }
  const uint64_t doublings = (i + 7) / 8;
  if (doublings < kernels::kAezIPowers) {
    std::memcpy(ipow, b.i_powers[doublings], 16);
  } else {
    std::memcpy(ipow, b.i_powers[kernels::kAezIPowers - 1], 16);
    for (uint64_t k = kernels::kAezIPowers - 1; k < doublings; ++k) {
      kernels::AezDoubleBlock(ipow, ipow);
    }
  }
  XorBlock(jj, ipow, out);
  XorBlock(out, b.l_multiple(i % 8), out);
  sodium_memzero(jj, sizeof jj);
  sodium_memzero(ipow, sizeof ipow);
}

}  // namespace aez_internal
}  // namespace relaycell
