// The Wegman–Carter MAC of every DSKE link message:
//     tag = POLYVAL_H(pad16(header) || pad16(ciphertext) || u64(len header) || u64(len ciphertext))
//           XOR r,
// with H and r (16 bytes each) fresh from PSRD for every message, used once, ever.
//
// The trailing length block (as GCM's) makes POLYVAL's zero padding unambiguous whatever the
// caller's header says. For two different inputs of at most L blocks, the difference of their
// POLYVALs is a nonzero polynomial in H of degree <= L with no constant term, so a forger given
// one (message, tag) succeeds with probability <= L / 2^128 (L <= 66 here: < 2^-121), and that
// is information-theoretic: H and r are uniform and never reused. H = 0 is one of those <= L
// roots and is already counted in the bound; it is not rejected or redrawn (redrawing would
// bias H and spend pad for nothing).
#ifndef RELAYCELL_ENGINE_DSKE_WC_MAC_H_
#define RELAYCELL_ENGINE_DSKE_WC_MAC_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace relaycell::wc_mac {

inline constexpr size_t kKeyBytes = 32;  // H || r
inline constexpr size_t kTagBytes = 16;
// header + ciphertext; a DSKE message is one relay cell's data (<= 498 bytes).
inline constexpr size_t kMaxInputBytes = 1024;

enum class WcMacError {
  kOk = 0,
  kTooLong,   // header + ciphertext > kMaxInputBytes
  kMismatch,  // the tag does not verify
};

WcMacError ComputeTag(std::span<const uint8_t, kKeyBytes> key, std::span<const uint8_t> header,
                      std::span<const uint8_t> ciphertext, std::span<uint8_t, kTagBytes> tag);

// Recomputes the tag and compares in constant time.
WcMacError VerifyTag(std::span<const uint8_t, kKeyBytes> key, std::span<const uint8_t> header,
                     std::span<const uint8_t> ciphertext, std::span<const uint8_t, kTagBytes> tag);

}  // namespace relaycell::wc_mac

#endif  // RELAYCELL_ENGINE_DSKE_WC_MAC_H_
