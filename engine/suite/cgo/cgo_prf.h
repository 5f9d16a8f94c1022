// CGO's PRF (Tor proposal 359): keys K (AES-128) and B (POLYVAL); on a 16-byte input and a
// position t:
//   c = POLYVAL_B(input); c[15] &= 0xC0         (a counter block with six free low bits)
//   t = 0: the AES-CTR_K keystream from counter block c: 493 bytes, XORed into a cell's X_R
//   t = 1: the keystream from counter block c + 31 (added to c[15]): the key update's bytes
// The counter is Tor's 128-bit big-endian one; t = 0 takes blocks c .. c + 30 and t = 1 starts
// at c + 31, so neither ever carries out of the last byte (kCgoPrfT1MaxBytes keeps it so).
//
// ipsec-mb runs the CTR part (one job per call; the jobs of XorMany back to back), the
// project's POLYVAL kernel the hash (one PolyvalBatch for XorMany).
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_PRF_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_PRF_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/suite/cgo/cgo_et.h"

namespace relaycell {

inline constexpr size_t kCgoPrfKeyBytes = 32;             // K | B
inline constexpr size_t kCgoPrfT0Bytes = kCgoRightBytes;  // 493
inline constexpr uint8_t kCgoPrfT1Offset = 31;            // t = 1 starts 31 blocks in
// t = 1 may run to the 64th block of the window: 33 blocks.
inline constexpr size_t kCgoPrfT1MaxBytes = (64 - kCgoPrfT1Offset) * kCgoBlockBytes;

class CgoPrf {
 public:
  CgoPrf() = default;  // all-zero round keys until SetKeys
  explicit CgoPrf(std::span<const uint8_t, kCgoPrfKeyBytes> keys) { SetKeys(keys); }
  ~CgoPrf();
  CgoPrf(const CgoPrf&) = delete;
  CgoPrf& operator=(const CgoPrf&) = delete;

  // K | B; the old schedule is overwritten.
  void SetKeys(std::span<const uint8_t, kCgoPrfKeyBytes> keys);

  // data ^= PRF(input, t = 0).
  void XorT0(std::span<const uint8_t, kCgoBlockBytes> input,
             std::span<uint8_t, kCgoPrfT0Bytes> data) const;
  // out = the first out.size() bytes of PRF(input, t = 1); out.size() <= kCgoPrfT1MaxBytes
  // (aborts otherwise: a longer stream would leave Tor's counter window).
  void GenT1(std::span<const uint8_t, kCgoBlockBytes> input, std::span<uint8_t> out) const;

  // Many PRF streams, each under its own key: data ^= the first `length` bytes of
  // PRF(input, t = position). `counter` is 16 bytes of the caller's scratch per job (a
  // secret-derived value afterwards: the caller wipes it). t = 0 jobs are exactly 493 bytes;
  // t = 1 jobs at most kCgoPrfT1MaxBytes (aborts otherwise).
  struct Job {
    const CgoPrf* prf;
    const uint8_t* input;  // 16
    uint8_t* data;         // length, in place
    size_t length;
    uint8_t position;  // t: 0 or 1
    uint8_t* counter;  // 16, scratch
  };
  static void XorMany(std::span<const Job> jobs);

 private:
  static constexpr size_t kRoundKeyBytes = 11 * 16;  // AES-128

  alignas(16) uint8_t enc_keys_[kRoundKeyBytes]{};
  alignas(16) uint8_t b_[kCgoBlockBytes]{};
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_PRF_H_
