// One DSKE link message protected with PSRD: one-time pad + Wegman–Carter MAC.
//
// A message's pad is one allocation of payload + 32 bytes from the sender's pool:
//     [ H (16) | r (16) | OTP (payload bytes) ]
// The sender allocates it (committed), reads and wipes it, and seals; the receiver accepts the
// reference (committed: a replay is refused there), reads and wipes the pad, checks the tag and
// only then decrypts. A failed tag leaves the range consumed: burnt, never reused.
#ifndef RELAYCELL_ENGINE_DSKE_PSRD_LINK_H_
#define RELAYCELL_ENGINE_DSKE_PSRD_LINK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/dske/psrd.h"
#include "engine/dske/wc_mac.h"

namespace relaycell::psrd {

// PSRD bytes one message of `payload_bytes` consumes.
constexpr size_t LinkPadBytes(size_t payload_bytes) { return wc_mac::kKeyBytes + payload_bytes; }
inline constexpr size_t kMaxLinkPayloadBytes = 512;

enum class LinkError {
  kOk = 0,
  kPsrd,       // the store refused (see the PsrdError out-parameter)
  kBadLength,  // payload empty or > kMaxLinkPayloadBytes, or buffers of mismatched sizes
  kBadTag,     // the MAC failed: the message is dropped, its pad range burnt
  kNoMemory,
};

// Sender, step 1: consume the pad for a payload (before the header can be written, since the
// header names the fragments).
PsrdError AllocateLinkPad(PsrdStore& store, std::string_view pool, size_t payload_bytes,
                          Allocation& out);

// Sender, step 2: ciphertext = plaintext ^ OTP, tag over (header, ciphertext).
LinkError SealLink(PsrdStore& store, std::string_view pool, const Allocation& pad,
                   std::span<const uint8_t> header, std::span<const uint8_t> plaintext,
                   std::span<uint8_t> ciphertext, std::span<uint8_t, wc_mac::kTagBytes> tag,
                   PsrdError& psrd_error);

// Receiver: accept the reference, check the tag, decrypt. `plaintext` is written only on kOk.
LinkError OpenLink(PsrdStore& store, std::string_view pool, std::span<const Fragment> fragments,
                   std::span<const uint8_t> header, std::span<const uint8_t> ciphertext,
                   std::span<const uint8_t, wc_mac::kTagBytes> tag, std::span<uint8_t> plaintext,
                   PsrdError& psrd_error);

}  // namespace relaycell::psrd

#endif  // RELAYCELL_ENGINE_DSKE_PSRD_LINK_H_
