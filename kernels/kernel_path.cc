#include "kernels/kernel_path.h"

#include <array>
#include <cctype>

#include "hwy/highway.h"
#include "hwy/targets.h"
#include "kernels/cpu_features.h"

namespace relaycell::kernels {
namespace {

constexpr std::array<std::string_view, kKernelFamilies> kFamilyNames = {
    "aes_rounds", "aez_core", "aez_hash", "gf256", "polyval", "otp_xor"};

struct RawName {
  RawKernel raw;
  std::string_view name;
};
constexpr RawName kRawNames[] = {
    {RawKernel::kVaes256, "vaes256"},       {RawKernel::kVaes512, "vaes512"},
    {RawKernel::kGfni256, "gfni256"},       {RawKernel::kGfni512, "gfni512"},
    {RawKernel::kVpclmul256, "vpclmul256"}, {RawKernel::kVpclmul512, "vpclmul512"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view FamilyName(KernelFamily family) {
  return kFamilyNames[static_cast<size_t>(family)];
}

std::optional<KernelFamily> ParseFamily(std::string_view name) {
  for (size_t i = 0; i < kKernelFamilies; ++i) {
    if (kFamilyNames[i] == name) return static_cast<KernelFamily>(i);
  }
  return std::nullopt;
}

KernelPath KernelPath::Highway(int64_t target) {
  if (target <= 0 || (target & (target - 1)) != 0) return KernelPath();
  uint16_t bit = 0;
  while ((int64_t{1} << bit) != target) ++bit;
  return KernelPath(static_cast<uint16_t>(bit + 1));
}

std::string KernelPath::Name() const {
  if (is_highway()) return Lower(hwy::TargetName(highway_target()));
  for (const RawName& r : kRawNames) {
    if (is_raw() && r.raw == raw()) return std::string(r.name);
  }
  return "none";
}

std::optional<KernelPath> KernelPath::Parse(std::string_view name) {
  for (const RawName& r : kRawNames) {
    if (r.name == name) return Raw(r.raw);
  }
  for (int bit = 0; bit < 63; ++bit) {
    const int64_t target = int64_t{1} << bit;
    const char* target_name = hwy::TargetName(target);
    if (target_name == nullptr || std::string_view(target_name) == "Unknown") continue;
    if (Lower(target_name) == name) return Highway(target);
  }
  return std::nullopt;
}

namespace {

bool DetectRawKernel(RawKernel raw) {
  const CpuFeatures& cpu = Cpu();
  switch (raw) {
    case RawKernel::kVaes256: return cpu.Avx2Usable() && cpu.aesni && cpu.vaes;
    case RawKernel::kVaes512: return cpu.Avx512Usable() && cpu.aesni && cpu.vaes;
    case RawKernel::kGfni256: return cpu.Avx2Usable() && cpu.gfni;
    case RawKernel::kGfni512: return cpu.Avx512Usable() && cpu.gfni;
    case RawKernel::kVpclmul256: return cpu.Avx2Usable() && cpu.pclmul && cpu.vpclmulqdq;
    case RawKernel::kVpclmul512: return cpu.Avx512Usable() && cpu.pclmul && cpu.vpclmulqdq;
  }
  return false;
}

}  // namespace

namespace detail {

uint32_t FillRawKernelMask() {
  uint32_t mask = 1;
  for (const RawName& r : kRawNames) {
    if (DetectRawKernel(r.raw)) mask |= uint32_t{1} << static_cast<unsigned>(r.raw);
  }
  raw_kernel_mask.store(mask, std::memory_order_release);
  return mask;
}

}  // namespace detail

namespace detail {

// Idempotent: racing callers write the same values.
void FillHighwayTableIndex() {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    const int bit = __builtin_ctzll(static_cast<uint64_t>(target));
    int64_t mask = 0;
    if (target == HWY_SCALAR || target == HWY_EMU128) {
      mask = HWY_CHOSEN_TARGET_MASK_SCALAR;
    } else if ((target & HWY_TARGETS) != 0) {
      mask = HWY_CHOSEN_TARGET_SHIFT(target);
    }
    if (mask != 0) {
      highway_table_index[bit].store(
          static_cast<uint8_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<uint64_t>(mask))),
          std::memory_order_relaxed);
    }
  }
  highway_table_index_filled.store(true, std::memory_order_release);
}

}  // namespace detail

}  // namespace relaycell::kernels
