// One-time-pad XOR, compiled once per Highway target and chosen at run time. The loop is bound
// by loads and stores, not by the XOR: stores are vector-aligned (an unaligned head and tail
// vector cover the edges), four vectors per iteration, and outputs of 8 MiB or more bypass the
// caches with non-temporal stores.
#include "kernels/otp_xor.h"

#include "kernels/calibration-inl.h"
#include "kernels/path_choice.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/otp_xor.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Lengths below one vector: 16-, 8- and 1-byte steps, each loaded before it is stored.
HWY_INLINE void XorShort(const uint8_t* in, const uint8_t* pad, uint8_t* out, size_t length) {
  size_t at = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::FixedTag<uint8_t, 16> d16;
  for (; at + 16 <= length; at += 16) {
    hn::StoreU(hn::Xor(hn::LoadU(d16, in + at), hn::LoadU(d16, pad + at)), d16, out + at);
  }
  const hn::FixedTag<uint8_t, 8> d8;
  for (; at + 8 <= length; at += 8) {
    hn::StoreU(hn::Xor(hn::LoadU(d8, in + at), hn::LoadU(d8, pad + at)), d8, out + at);
  }
#endif
  for (; at < length; ++at) out[at] = static_cast<uint8_t>(in[at] ^ pad[at]);
}

// Above this, the output would evict everything from the caches anyway: stream it past them.
constexpr size_t kStreamBytes = size_t{8} << 20;

// The body between the head and tail vectors: every store aligned (a misaligned vector store
// that splits a cache line costs two), four vectors per iteration to keep both load ports busy.
template <bool kStream>
HWY_INLINE void XorAligned(const uint8_t* in, const uint8_t* pad, uint8_t* out, size_t length) {
  const hn::ScalableTag<uint8_t> d;
  const size_t lanes = hn::Lanes(d);
  auto store = [&](auto v, uint8_t* p) {
    if constexpr (kStream) {
      hn::Stream(v, d, p);
    } else {
      hn::Store(v, d, p);
    }
  };
  size_t at = 0;
  for (; at + 4 * lanes <= length; at += 4 * lanes) {
    const auto v0 = hn::Xor(hn::LoadU(d, in + at), hn::LoadU(d, pad + at));
    const auto v1 = hn::Xor(hn::LoadU(d, in + at + lanes), hn::LoadU(d, pad + at + lanes));
    const auto v2 = hn::Xor(hn::LoadU(d, in + at + 2 * lanes), hn::LoadU(d, pad + at + 2 * lanes));
    const auto v3 = hn::Xor(hn::LoadU(d, in + at + 3 * lanes), hn::LoadU(d, pad + at + 3 * lanes));
    store(v0, out + at);
    store(v1, out + at + lanes);
    store(v2, out + at + 2 * lanes);
    store(v3, out + at + 3 * lanes);
  }
  for (; at + lanes <= length; at += lanes) {
    store(hn::Xor(hn::LoadU(d, in + at), hn::LoadU(d, pad + at)), out + at);
  }
}

// out == in is safe: the unaligned head and tail vectors are computed from the input before
// anything is stored and written last; where they overlap the body they write the same bytes.
HWY_INLINE void XorOne(const uint8_t* in, const uint8_t* pad, uint8_t* out, size_t length) {
  const hn::ScalableTag<uint8_t> d;
  const size_t lanes = hn::Lanes(d);
  if (lanes == 1 || length < 2 * lanes) {
    XorShort(in, pad, out, length);
    return;
  }
  const auto head = hn::Xor(hn::LoadU(d, in), hn::LoadU(d, pad));
  const auto tail = hn::Xor(hn::LoadU(d, in + length - lanes), hn::LoadU(d, pad + length - lanes));
  // Skip to the first vector-aligned output byte (1..lanes bytes in; the head covers them).
  const size_t misalign = reinterpret_cast<uintptr_t>(out) & (lanes * sizeof(uint8_t) - 1);
  const size_t skip = lanes - misalign;
  const size_t body = (length - skip) & ~(lanes - 1);  // whole vectors; the tail covers the rest
  if (length >= kStreamBytes) {
    XorAligned<true>(in + skip, pad + skip, out + skip, body);
    hwy::FlushStream();
  } else {
    XorAligned<false>(in + skip, pad + skip, out + skip, body);
  }
  hn::StoreU(tail, d, out + length - lanes);
  hn::StoreU(head, d, out);
}

void XorJobs(const XorJob* jobs, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    XorOne(jobs[i].in, jobs[i].pad, jobs[i].out, jobs[i].length);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace relaycell::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace relaycell::kernels {

HWY_EXPORT(XorJobs);

bool OtpXorBatchWithPath(KernelPath path, std::span<const XorJob> jobs) {
  const size_t index = HighwayTableIndex(path);
  if (index == 0) return false;
  HWY_DISPATCH_TABLE(XorJobs)[index](jobs.data(), jobs.size());
  return true;
}

bool OtpXor(std::span<const uint8_t> in, std::span<const uint8_t> pad, std::span<uint8_t> out) {
  if (pad.size() != in.size() || out.size() != in.size()) return false;
  const XorJob job{in.data(), pad.data(), out.data(), in.size()};
  return OtpXorBatchWithPath(ActivePath(KernelFamily::kOtpXor), {&job, 1});
}

void OtpXorBatch(std::span<const XorJob> jobs) {
  OtpXorBatchWithPath(ActivePath(KernelFamily::kOtpXor), jobs);
}

double MeasureOtpXor(KernelPath path) {
  constexpr size_t kBytes = 4096;  // a DSKE pad chunk, in L1
  alignas(64) static uint8_t in[kBytes], pad[kBytes], out[kBytes];
  const XorJob job{in, pad, out, kBytes};
  return BestRate(kBytes, [&] { OtpXorBatchWithPath(path, {&job, 1}); });
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
