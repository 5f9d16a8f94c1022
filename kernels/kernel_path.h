// Which implementation of a kernel family runs: one Highway target's code (an entry of the
// family's dispatch table) or one of the raw-intrinsic kernels that stand beside Highway where
// Highway 1.0.3 lacks the instruction or the width (VAES on AVX2, GFNI, VPCLMULQDQ).
//
// The choice is made by evidence: at first use each path this CPU can run is timed on a small
// fixed workload and the fastest is kept (kernels/path_choice.h), as Linux picks its RAID-6 and
// XOR routines at boot. RELAYCELL_FORCE_PATH overrides it.
#ifndef RELAYCELL_KERNELS_KERNEL_PATH_H_
#define RELAYCELL_KERNELS_KERNEL_PATH_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relaycell::kernels {

enum class KernelFamily : uint8_t { kAesRounds, kAezCore, kAezHash, kGf256, kPolyval, kOtpXor };
inline constexpr size_t kKernelFamilies = 6;

// The names other tools read (`relaycell version --json`, RELAYCELL_FORCE_PATH).
std::string_view FamilyName(KernelFamily family);
std::optional<KernelFamily> ParseFamily(std::string_view name);

enum class RawKernel : uint8_t {
  kVaes256 = 1,  // AVX2 + VAES: two AES blocks per instruction
  kVaes512,      // AVX-512 + VAES: four blocks per instruction
  kGfni256,      // AVX2 + GFNI
  kGfni512,      // AVX-512BW + GFNI
  kVpclmul256,   // AVX2 + VPCLMULQDQ
  kVpclmul512,   // AVX-512 + VPCLMULQDQ
};

// A value type of two bytes: 0 is "none", 1..64 a Highway target by its bit, 0x100 | raw.
class KernelPath {
 public:
  constexpr KernelPath() = default;
  static KernelPath Highway(int64_t target);  // target: a single HWY_* bit
  static constexpr KernelPath Raw(RawKernel raw) {
    return KernelPath(static_cast<uint16_t>(0x100 | static_cast<uint16_t>(raw)));
  }
  static constexpr KernelPath FromCode(uint16_t code) { return KernelPath(code); }

  constexpr bool empty() const { return code_ == 0; }
  constexpr bool is_highway() const { return code_ != 0 && code_ < 0x100; }
  constexpr bool is_raw() const { return code_ > 0x100; }
  int64_t highway_target() const { return is_highway() ? int64_t{1} << (code_ - 1) : 0; }
  constexpr RawKernel raw() const { return static_cast<RawKernel>(code_ & 0xFF); }
  constexpr uint16_t code() const { return code_; }
  constexpr bool operator==(const KernelPath&) const = default;

  // "avx3_dl", "avx2", "sse4", "scalar", ... for Highway targets; "vaes512", "gfni256", ...
  std::string Name() const;
  static std::optional<KernelPath> Parse(std::string_view name);

 private:
  constexpr explicit KernelPath(uint16_t code) : code_(code) {}
  uint16_t code_ = 0;
};

namespace detail {
// Bit r set: raw kernel r runs here; bit 0: the mask has been filled. Constant-initialised.
inline std::atomic<uint32_t> raw_kernel_mask{0};
uint32_t FillRawKernelMask();
}  // namespace detail

// Whether this CPU and OS can run a raw kernel. One load: it sits on every kernel call.
inline bool RawKernelUsable(RawKernel raw) {
  uint32_t mask = detail::raw_kernel_mask.load(std::memory_order_acquire);
  if (mask == 0) [[unlikely]]
    mask = detail::FillRawKernelMask();
  return (mask >> static_cast<unsigned>(raw)) & 1;
}

namespace detail {
// Per target bit: its dispatch-table index if compiled and supported here, else 0. Zero until
// FillHighwayTableIndex (CPUID once) has run: constant-initialised, so a kernel called from
// another file's static initialiser still finds it right.
inline std::array<std::atomic<uint8_t>, 64> highway_table_index{};
inline std::atomic<bool> highway_table_index_filled{false};
void FillHighwayTableIndex();
}  // namespace detail

// Index of a Highway path in a dispatch table (HWY_DISPATCH_TABLE(F)[index]), or 0 (the
// table's self-initialising entry, never called with it) when the path is not a Highway target
// that was compiled and that this CPU supports. One load: it sits on every kernel call.
inline size_t HighwayTableIndex(KernelPath path) {
  if (!path.is_highway()) return 0;
  if (!detail::highway_table_index_filled.load(std::memory_order_acquire)) [[unlikely]] {
    detail::FillHighwayTableIndex();
  }
  return detail::highway_table_index[path.code() - 1].load(std::memory_order_relaxed);
}

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_KERNEL_PATH_H_
