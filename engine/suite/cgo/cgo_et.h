// CGO's ET (Tor proposal 359): a tweakable block cipher on one 16-byte block, the LRW2
// construction over AES-128 and POLYVAL. With keys KB (AES) and KU (POLYVAL) and the tweak
// T = H | cmd | X_R (16 + 1 + 493 = 510 bytes):
//   mask = POLYVAL_KU(T)            (the final 14-byte block zero-padded, as Tor does)
//   encrypt: block = AES_KB(block ^ mask) ^ mask
//   decrypt: block = AES_KB^-1(block ^ mask) ^ mask
// In UIV+ the tweak is the cell's (T', command) and the 493 bytes after the cell's tag.
//
// ipsec-mb expands the key (both directions at once). The one-block AES runs AES-NI directly
// when the CPU has it, four blocks interleaved in EncryptMany / DecryptMany (one block through
// ipsec-mb's job API costs several times its ten rounds), and an ipsec-mb ECB job otherwise.
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_ET_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_ET_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell {

inline constexpr size_t kCgoEtKeyBytes = 32;   // KB | KU
inline constexpr size_t kCgoBlockBytes = 16;   // an AES block; also X_L, H and the tag T
inline constexpr size_t kCgoRightBytes = 493;  // X_R: the cell body after its 16-byte tag
inline constexpr size_t kCgoEtTweakBytes = kCgoBlockBytes + 1 + kCgoRightBytes;  // 510

// Lays out ET's tweak H | cmd | X_R contiguously (what POLYVAL reads).
void CgoEtTweak(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd,
                std::span<const uint8_t, kCgoRightBytes> x_r,
                std::span<uint8_t, kCgoEtTweakBytes> out);

class CgoEt {
 public:
  CgoEt() = default;  // all-zero round keys until SetKeys
  explicit CgoEt(std::span<const uint8_t, kCgoEtKeyBytes> keys) { SetKeys(keys); }
  ~CgoEt();
  CgoEt(const CgoEt&) = delete;
  CgoEt& operator=(const CgoEt&) = delete;

  // KB | KU. Expands KB for both directions; the old schedule is overwritten.
  void SetKeys(std::span<const uint8_t, kCgoEtKeyBytes> keys);

  void Encrypt(std::span<const uint8_t, kCgoEtTweakBytes> tweak,
               std::span<uint8_t, kCgoBlockBytes> block) const;
  void Decrypt(std::span<const uint8_t, kCgoEtTweakBytes> tweak,
               std::span<uint8_t, kCgoBlockBytes> block) const;

  // Many blocks, each under its own ET and tweak: the masks are one PolyvalBatch, the AES
  // blocks run four at a time. `mask` is 16 bytes of the caller's scratch per job (it holds a
  // secret-derived value afterwards: the caller wipes it).
  struct Job {
    const CgoEt* et;
    const uint8_t* tweak;  // kCgoEtTweakBytes
    uint8_t* block;        // 16, in place
    uint8_t* mask;         // 16, scratch
  };
  static void EncryptMany(std::span<const Job> jobs);
  static void DecryptMany(std::span<const Job> jobs);

 private:
  static constexpr size_t kRoundKeyBytes = 11 * 16;  // AES-128
  template <bool kEncrypt>
  static void RunMany(std::span<const Job> jobs);

  alignas(16) uint8_t enc_keys_[kRoundKeyBytes]{};
  alignas(16) uint8_t dec_keys_[kRoundKeyBytes]{};  // ipsec-mb's order: AESDEC keys, last first
  alignas(16) uint8_t ku_[kCgoBlockBytes]{};
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_ET_H_
