// POLYVAL (RFC 8452 §3): the GF(2^128) universal hash behind Wegman–Carter MACs here.
#ifndef RELAYCELL_KERNELS_POLYVAL_H_
#define RELAYCELL_KERNELS_POLYVAL_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

inline constexpr size_t kPolyvalBytes = 16;

// POLYVAL_H over `message`. A final partial block is zero-padded to 16 bytes (RFC 8452 applies
// POLYVAL to whole blocks; callers that need length binding put the length in the message).
void Polyval(std::span<const uint8_t, 16> h, std::span<const uint8_t> message,
             std::span<uint8_t, 16> out);

// Many independent messages, each under its own key: the CLMUL latency of one is hidden by
// the others.
struct PolyvalJob {
  const uint8_t* h;  // 16 bytes
  const uint8_t* message;
  size_t length;
  uint8_t* out;  // 16 bytes
};
void PolyvalBatch(std::span<const PolyvalJob> jobs);

// The batch through a chosen path (a Highway target, or raw VPCLMULQDQ at 256 or 512 bits);
// false, nothing done, when this CPU cannot run it. The calls above run
// ActivePath(KernelFamily::kPolyval).
bool PolyvalBatchWithPath(KernelPath path, std::span<const PolyvalJob> jobs);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_POLYVAL_H_
