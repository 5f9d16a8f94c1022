// One-time-pad XOR, compiled once per Highway target and chosen at run time. Four vectors per
// iteration keep both load ports busy; the loop is bound by loads and stores, not by the XOR.
#include "kernels/otp_xor.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/otp_xor.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Each vector is loaded from `in` before it is stored to `out`, so out == in is safe.
HWY_INLINE void XorOne(const uint8_t* in, const uint8_t* pad, uint8_t* out, size_t length) {
  const hn::ScalableTag<uint8_t> d;
  const size_t lanes = hn::Lanes(d);
  size_t at = 0;
  for (; at + 4 * lanes <= length; at += 4 * lanes) {
    const auto v0 = hn::Xor(hn::LoadU(d, in + at), hn::LoadU(d, pad + at));
    const auto v1 = hn::Xor(hn::LoadU(d, in + at + lanes), hn::LoadU(d, pad + at + lanes));
    const auto v2 = hn::Xor(hn::LoadU(d, in + at + 2 * lanes), hn::LoadU(d, pad + at + 2 * lanes));
    const auto v3 = hn::Xor(hn::LoadU(d, in + at + 3 * lanes), hn::LoadU(d, pad + at + 3 * lanes));
    hn::StoreU(v0, d, out + at);
    hn::StoreU(v1, d, out + at + lanes);
    hn::StoreU(v2, d, out + at + 2 * lanes);
    hn::StoreU(v3, d, out + at + 3 * lanes);
  }
  for (; at + lanes <= length; at += lanes) {
    hn::StoreU(hn::Xor(hn::LoadU(d, in + at), hn::LoadU(d, pad + at)), d, out + at);
  }
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

bool OtpXor(std::span<const uint8_t> in, std::span<const uint8_t> pad, std::span<uint8_t> out) {
  if (pad.size() != in.size() || out.size() != in.size()) return false;
  const XorJob job{in.data(), pad.data(), out.data(), in.size()};
  HWY_DYNAMIC_DISPATCH(XorJobs)(&job, 1);
  return true;
}

void OtpXorBatch(std::span<const XorJob> jobs) {
  HWY_DYNAMIC_DISPATCH(XorJobs)(jobs.data(), jobs.size());
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
