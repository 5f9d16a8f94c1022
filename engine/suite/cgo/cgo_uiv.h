// UIV+ (Tor proposal 359): CGO's wide-block cipher on a 509-byte cell body
// X = X_L (16, the tag's place) | X_R (493), keys J (an ET) and S (a PRF), tweak (H, cmd):
//   encrypt: X_L = ET_J.encrypt((H, cmd, X_R), X_L); then X_R ^= PRF_S(X_L, t = 0)
//   decrypt: X_R ^= PRF_S(X_L, t = 0); then X_L = ET_J.decrypt((H, cmd, X_R), X_L)
// Encryption is the non-malleable direction: relays encrypt, clients decrypt (as in Tor).
// Update, the key ratchet on every recognized or originated cell:
//   (J', S', N') = PRF_S(N, t = 1), 32 + 32 + 16 bytes.
// The 64 key bytes are ET's (KB | KU) then the PRF's (K | B), as in Tor's key material.
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_UIV_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_UIV_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/suite/cell_suite.h"
#include "engine/suite/cgo/cgo_et.h"
#include "engine/suite/cgo/cgo_prf.h"

namespace relaycell {

inline constexpr size_t kCgoKeyBytes = kCgoEtKeyBytes + kCgoPrfKeyBytes;  // 64: J | S
inline constexpr size_t kCgoNonceBytes = kCgoBlockBytes;                  // N
inline constexpr size_t kCgoUpdateBytes = kCgoKeyBytes + kCgoNonceBytes;  // 80: J' | S' | N'
static_assert(kCgoBlockBytes + kCgoRightBytes == kCellBodyBytes);
static_assert(kCgoUpdateBytes <= kCgoPrfT1MaxBytes);

// Per-cell working memory of the Many calls: ET's tweak, its mask and the PRF's counter, or an
// update's 80 bytes. Secret-derived afterwards: its owner wipes it.
struct CgoUivScratch {
  alignas(64) uint8_t tweak[kCgoEtTweakBytes];  // also the update's J' | S' | N'
  alignas(16) uint8_t mask[kCgoBlockBytes];
  alignas(16) uint8_t counter[kCgoBlockBytes];
};
static_assert(sizeof(CgoUivScratch::tweak) >= kCgoUpdateBytes);

class CgoUiv {
 public:
  CgoUiv() = default;  // all-zero round keys until SetKeys
  explicit CgoUiv(std::span<const uint8_t, kCgoKeyBytes> keys) { SetKeys(keys); }
  ~CgoUiv();
  CgoUiv(const CgoUiv&) = delete;
  CgoUiv& operator=(const CgoUiv&) = delete;

  void SetKeys(std::span<const uint8_t, kCgoKeyBytes> keys);
  // The current J | S (a copy kept beside the expanded keys, for known-answer checks).
  std::span<const uint8_t, kCgoKeyBytes> keys() const { return keys_; }

  // One body in place, `h` being 16 bytes (in CGO, the direction's T').
  void Encrypt(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd, CellBody body) const;
  void Decrypt(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd, CellBody body) const;
  // J, S and the nonce N (in place) become J', S', N'.
  void Update(std::span<uint8_t, kCgoNonceBytes> nonce);

  // Many bodies, each under its own UIV (the ET masks, PRF hashes and CTR jobs of all of them
  // run as batches). A job's body, h and scratch must not overlap another job's; `h` is read
  // before the body changes (it may point into a direction that is updated afterwards).
  struct Job {
    const CgoUiv* uiv;
    const uint8_t* h;  // 16
    uint8_t* body;     // kCellBodyBytes, in place
    CgoUivScratch* scratch;
    uint8_t cmd;
  };
  static void EncryptMany(std::span<const Job> jobs);
  static void DecryptMany(std::span<const Job> jobs);

  // Update for many distinct UIVs, the PRF streams batched.
  struct UpdateJob {
    CgoUiv* uiv;
    uint8_t* nonce;  // 16, in place
    CgoUivScratch* scratch;
  };
  static void UpdateMany(std::span<const UpdateJob> jobs);

 private:
  CgoEt et_;
  CgoPrf prf_;
  uint8_t keys_[kCgoKeyBytes]{};
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_UIV_H_
