#include "engine/dske/psrd_link.h"

#include <sodium.h>

#include <array>

#include "engine/common/ct_check.h"
#include "kernels/otp_xor.h"

namespace relaycell::psrd {
namespace {

// The pad of one message, wiped on every path out.
struct PadBuffer {
  std::array<uint8_t, LinkPadBytes(kMaxLinkPayloadBytes)> bytes;
  ~PadBuffer() { sodium_memzero(bytes.data(), bytes.size()); }
  std::span<const uint8_t, wc_mac::kKeyBytes> mac_key() const {
    return std::span(bytes).first<wc_mac::kKeyBytes>();
  }
  std::span<const uint8_t> otp(size_t n) const {
    return std::span(bytes).subspan(wc_mac::kKeyBytes, n);
  }
};

}  // namespace

PsrdError AllocateLinkPad(PsrdStore& store, std::string_view pool, size_t payload_bytes,
                          Allocation& out) {
  if (payload_bytes == 0 || payload_bytes > kMaxLinkPayloadBytes) return PsrdError::kBadLength;
  return store.Allocate(pool, LinkPadBytes(payload_bytes), out);
}

LinkError SealLink(PsrdStore& store, std::string_view pool, const Allocation& pad,
                   std::span<const uint8_t> header, std::span<const uint8_t> plaintext,
                   std::span<uint8_t> ciphertext, std::span<uint8_t, wc_mac::kTagBytes> tag,
                   PsrdError& psrd_error) {
  psrd_error = PsrdError::kOk;
  const size_t n = plaintext.size();
  if (n == 0 || n > kMaxLinkPayloadBytes || ciphertext.size() != n ||
      pad.total_bytes() != LinkPadBytes(n)) {
    return LinkError::kBadLength;
  }
  PadBuffer buffer;
  psrd_error = store.ReadAndWipe(pool, pad.view(), std::span(buffer.bytes).first(LinkPadBytes(n)));
  if (psrd_error != PsrdError::kOk) return LinkError::kPsrd;
  kernels::OtpXor(plaintext, buffer.otp(n), ciphertext);
  // Public by design: the one-time-pad ciphertext goes on the wire (the MAC reads it as such).
  RELAYCELL_CT_PUBLIC(ciphertext.data(), n);
  if (wc_mac::ComputeTag(buffer.mac_key(), header, ciphertext, tag) != wc_mac::WcMacError::kOk) {
    sodium_memzero(ciphertext.data(), n);
    return LinkError::kBadLength;
  }
  // Public by design: the tag goes on the wire beside the ciphertext. H and r stay secret.
  RELAYCELL_CT_PUBLIC(tag.data(), tag.size());
  return LinkError::kOk;
}

LinkError OpenLink(PsrdStore& store, std::string_view pool, std::span<const Fragment> fragments,
                   std::span<const uint8_t> header, std::span<const uint8_t> ciphertext,
                   std::span<const uint8_t, wc_mac::kTagBytes> tag, std::span<uint8_t> plaintext,
                   PsrdError& psrd_error) {
  psrd_error = PsrdError::kOk;
  const size_t n = ciphertext.size();
  if (n == 0 || n > kMaxLinkPayloadBytes || plaintext.size() != n) return LinkError::kBadLength;
  uint64_t total = 0;
  for (const Fragment& f : fragments) total += f.length;
  if (total != LinkPadBytes(n)) return LinkError::kBadLength;
  // Consume first (durably), then use: a replay stops here, and a crash after this line
  // loses the message but never reuses its pad.
  psrd_error = store.Accept(pool, fragments);
  if (psrd_error != PsrdError::kOk) return LinkError::kPsrd;
  PadBuffer buffer;
  psrd_error = store.ReadAndWipe(pool, fragments, std::span(buffer.bytes).first(LinkPadBytes(n)));
  if (psrd_error != PsrdError::kOk) return LinkError::kPsrd;
  if (wc_mac::VerifyTag(buffer.mac_key(), header, ciphertext, tag) != wc_mac::WcMacError::kOk) {
    return LinkError::kBadTag;
  }
  kernels::OtpXor(ciphertext, buffer.otp(n), plaintext);
  return LinkError::kOk;
}

}  // namespace relaycell::psrd
