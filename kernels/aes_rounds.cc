// AES rounds on many blocks, compiled once per Highway target (foreach_target) and chosen at
// run time. On AVX3_DL Highway's AESRound is 512-bit VAES; on other x86 targets AES-NI.
#include "kernels/aes_rounds.h"

#include "kernels/aes_rounds_vaes-inl.h"
#include "kernels/calibration-inl.h"
#include "kernels/path_choice.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/aes_rounds.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace relaycell::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// Highway has no AESRound on SCALAR: the constant-time reference serves.
void AesRoundsShared(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                     const uint8_t* round_keys, size_t rounds, uint8_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    uint8_t state[16];
    for (int k = 0; k < 16; ++k) state[k] = in[16 * b + k] ^ (offsets ? offsets[16 * b + k] : 0);
    for (size_t r = 0; r < rounds; ++r) AesRoundReference(state, round_keys + 16 * r, state);
    for (int k = 0; k < 16; ++k) out[16 * b + k] = state[k];
  }
}

void AesRoundsKeyed(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                    const uint8_t* const* round_keys, size_t rounds, uint8_t* out) {
  for (size_t b = 0; b < blocks; ++b) {
    AesRoundsShared(in + 16 * b, offsets ? offsets + 16 * b : nullptr, 1, round_keys[b], rounds,
                    out + 16 * b);
  }
}
#else

template <class D>
HWY_INLINE hn::Vec<D> LoadBlocks(D d, const uint8_t* in, const uint8_t* offsets, size_t at) {
  auto v = hn::LoadU(d, in + at);
  return offsets ? hn::Xor(v, hn::LoadU(d, offsets + at)) : v;
}

// Four independent vectors in flight hide the AES latency (4 cycles, 2 per cycle issue).
void AesRoundsShared(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                     const uint8_t* round_keys, size_t rounds, uint8_t* out) {
  const hn::ScalableTag<uint8_t> d;
  const size_t lanes = hn::Lanes(d);
  const size_t bytes = blocks * 16;
  size_t at = 0;
  for (; at + 4 * lanes <= bytes; at += 4 * lanes) {
    auto v0 = LoadBlocks(d, in, offsets, at);
    auto v1 = LoadBlocks(d, in, offsets, at + lanes);
    auto v2 = LoadBlocks(d, in, offsets, at + 2 * lanes);
    auto v3 = LoadBlocks(d, in, offsets, at + 3 * lanes);
    for (size_t r = 0; r < rounds; ++r) {
      const auto key = hn::LoadDup128(d, round_keys + 16 * r);
      v0 = hn::AESRound(v0, key);
      v1 = hn::AESRound(v1, key);
      v2 = hn::AESRound(v2, key);
      v3 = hn::AESRound(v3, key);
    }
    hn::StoreU(v0, d, out + at);
    hn::StoreU(v1, d, out + at + lanes);
    hn::StoreU(v2, d, out + at + 2 * lanes);
    hn::StoreU(v3, d, out + at + 3 * lanes);
  }
  for (; at + lanes <= bytes; at += lanes) {
    auto v = LoadBlocks(d, in, offsets, at);
    for (size_t r = 0; r < rounds; ++r) v = hn::AESRound(v, hn::LoadDup128(d, round_keys + 16 * r));
    hn::StoreU(v, d, out + at);
  }
  const hn::FixedTag<uint8_t, 16> d16;
  for (; at < bytes; at += 16) {
    auto v = LoadBlocks(d16, in, offsets, at);
    for (size_t r = 0; r < rounds; ++r) v = hn::AESRound(v, hn::LoadU(d16, round_keys + 16 * r));
    hn::StoreU(v, d16, out + at);
  }
}

// Per-block keys: 128-bit vectors, eight blocks in flight.
void AesRoundsKeyed(const uint8_t* in, const uint8_t* offsets, size_t blocks,
                    const uint8_t* const* round_keys, size_t rounds, uint8_t* out) {
  const hn::FixedTag<uint8_t, 16> d;
  size_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    auto v0 = LoadBlocks(d, in, offsets, 16 * b);
    auto v1 = LoadBlocks(d, in, offsets, 16 * (b + 1));
    auto v2 = LoadBlocks(d, in, offsets, 16 * (b + 2));
    auto v3 = LoadBlocks(d, in, offsets, 16 * (b + 3));
    for (size_t r = 0; r < rounds; ++r) {
      v0 = hn::AESRound(v0, hn::LoadU(d, round_keys[b] + 16 * r));
      v1 = hn::AESRound(v1, hn::LoadU(d, round_keys[b + 1] + 16 * r));
      v2 = hn::AESRound(v2, hn::LoadU(d, round_keys[b + 2] + 16 * r));
      v3 = hn::AESRound(v3, hn::LoadU(d, round_keys[b + 3] + 16 * r));
    }
    hn::StoreU(v0, d, out + 16 * b);
    hn::StoreU(v1, d, out + 16 * (b + 1));
    hn::StoreU(v2, d, out + 16 * (b + 2));
    hn::StoreU(v3, d, out + 16 * (b + 3));
  }
  for (; b < blocks; ++b) {
    auto v = LoadBlocks(d, in, offsets, 16 * b);
    for (size_t r = 0; r < rounds; ++r) v = hn::AESRound(v, hn::LoadU(d, round_keys[b] + 16 * r));
    hn::StoreU(v, d, out + 16 * b);
  }
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace relaycell::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace relaycell::kernels {

HWY_EXPORT(AesRoundsShared);
HWY_EXPORT(AesRoundsKeyed);

bool AesRoundsWithPath(KernelPath path, std::span<const uint8_t> in,
                       std::span<const uint8_t> offsets, std::span<const uint8_t> round_keys,
                       std::span<uint8_t> out) {
  const size_t rounds = round_keys.size() / kAesBlockBytes;
  if (in.size() % kAesBlockBytes != 0 || out.size() != in.size() ||
      (!offsets.empty() && offsets.size() != in.size()) ||
      round_keys.size() % kAesBlockBytes != 0 || rounds > kMaxAesRounds) {
    return false;
  }
  const uint8_t* offsets_or_null = offsets.empty() ? nullptr : offsets.data();
  const size_t blocks = in.size() / kAesBlockBytes;
  if (path.is_raw()) {
    if (!RawKernelUsable(path.raw())) return false;
    switch (path.raw()) {
      case RawKernel::kVaes256:
        AesRoundsVaes256(in.data(), offsets_or_null, blocks, round_keys.data(), rounds, out.data());
        return true;
      case RawKernel::kVaes512:
        AesRoundsVaes512(in.data(), offsets_or_null, blocks, round_keys.data(), rounds, out.data());
        return true;
      default: return false;
    }
  }
  const size_t index = HighwayTableIndex(path);
  if (index == 0) return false;
  const auto rounds_on_target = HWY_DISPATCH_TABLE(AesRoundsShared)[index];
  rounds_on_target(in.data(), offsets_or_null, blocks, round_keys.data(), rounds, out.data());
  return true;
}

bool AesRounds(std::span<const uint8_t> in, std::span<const uint8_t> offsets,
               std::span<const uint8_t> round_keys, std::span<uint8_t> out) {
  return AesRoundsWithPath(ActivePath(KernelFamily::kAesRounds), in, offsets, round_keys, out);
}

double MeasureAesRounds(KernelPath path) {
  // AEZ's shape (what `kernels.aes_rounds` measures): 28 blocks through AES4, offsets XORed
  // in, each call's input depending on the last one's output.
  constexpr size_t kBlocks = 28, kRounds = 4;
  alignas(64) uint8_t in[kBlocks * 16], offsets[kBlocks * 16], keys[kRounds * 16],
      out[kBlocks * 16];
  for (size_t i = 0; i < sizeof in; ++i)
    in[i] = static_cast<uint8_t>(i * 7), offsets[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < sizeof keys; ++i) keys[i] = static_cast<uint8_t>(i * 13 + 1);
  return BestRate(kBlocks * kRounds, [&] {
    AesRoundsWithPath(path, in, offsets, keys, out);
    in[0] = out[1];
  });
}

bool AesRoundsPerBlockKeys(std::span<const uint8_t> in, std::span<const uint8_t> offsets,
                           std::span<const uint8_t* const> round_keys, size_t rounds,
                           std::span<uint8_t> out) {
  const size_t blocks = in.size() / kAesBlockBytes;
  if (in.size() % kAesBlockBytes != 0 || out.size() != in.size() ||
      (!offsets.empty() && offsets.size() != in.size()) || round_keys.size() != blocks ||
      rounds > kMaxAesRounds) {
    return false;
  }
  HWY_DYNAMIC_DISPATCH(AesRoundsKeyed)
  (in.data(), offsets.empty() ? nullptr : offsets.data(), blocks, round_keys.data(), rounds,
   out.data());
  return true;
}

}  // namespace relaycell::kernels
#endif  // HWY_ONCE
