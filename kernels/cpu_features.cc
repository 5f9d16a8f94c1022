#include "kernels/cpu_features.h"

#include <cpuid.h>

#include <cstring>

namespace relaycell::kernels {
namespace {

CpuFeatures Detect() {
  CpuFeatures f;
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  f.pclmul = (ecx >> 1) & 1;
  f.aesni = (ecx >> 25) & 1;
  const bool osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
  if (osxsave && avx) {
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    f.ymm_saved = (xcr0_lo & 0x6) == 0x6;
    f.zmm_saved = (xcr0_lo & 0xE6) == 0xE6;
  }
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = (ebx >> 5) & 1;
    f.avx512f = (ebx >> 16) & 1;
    f.avx512bw = (ebx >> 30) & 1;
    f.avx512vl = (ebx >> 31) & 1;
    f.gfni = (ecx >> 8) & 1;
    f.vaes = (ecx >> 9) & 1;
    f.vpclmulqdq = (ecx >> 10) & 1;
  }
  return f;
}

}  // namespace

const CpuFeatures& Cpu() {
  static const CpuFeatures features = Detect();
  return features;
}

std::string CpuBrand() {
  unsigned regs[12] = {};
  unsigned max_ext = __get_cpuid_max(0x80000000, nullptr);
  if (max_ext < 0x80000004) return "unknown";
  for (unsigned i = 0; i < 3; ++i) {
    __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  }
  char brand[49] = {};
  std::memcpy(brand, regs, 48);
  std::string s(brand);
  const size_t first = s.find_first_not_of(' ');
  const size_t last = s.find_last_not_of(' ');
  return first == std::string::npos ? "unknown" : s.substr(first, last - first + 1);
}

}  // namespace relaycell::kernels
