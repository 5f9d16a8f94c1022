// One-time-pad XOR over batches of buffers of any length.
#ifndef RELAYCELL_KERNELS_OTP_XOR_H_
#define RELAYCELL_KERNELS_OTP_XOR_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/kernel_path.h"

namespace relaycell::kernels {

// out = in ^ pad over `length` bytes. out may equal in (in place); other overlaps are not allowed.
struct XorJob {
  const uint8_t* in;
  const uint8_t* pad;
  uint8_t* out;
  size_t length;
};

// out = in ^ pad; all three the same length (false and nothing written otherwise).
bool OtpXor(std::span<const uint8_t> in, std::span<const uint8_t> pad, std::span<uint8_t> out);

// Runs every job; jobs are independent.
void OtpXorBatch(std::span<const XorJob> jobs);

// Through a chosen path (a Highway target: AVX3 is 512 bits wide); false, nothing written,
// when this CPU cannot run it. The calls above run ActivePath(KernelFamily::kOtpXor).
bool OtpXorBatchWithPath(KernelPath path, std::span<const XorJob> jobs);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_OTP_XOR_H_
