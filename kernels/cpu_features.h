// What this CPU and OS can run, read once from CPUID and XGETBV. The raw-intrinsic kernels
// (VAES, GFNI, VPCLMULQDQ at 256 and 512 bits) check here before they are called; Highway's
// own targets use Highway's detection.
#ifndef RELAYCELL_KERNELS_CPU_FEATURES_H_
#define RELAYCELL_KERNELS_CPU_FEATURES_H_

#include <string>

namespace relaycell::kernels {

struct CpuFeatures {
  bool aesni = false, pclmul = false, avx2 = false;
  bool vaes = false, vpclmulqdq = false, gfni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false;
  bool ymm_saved = false;  // the OS saves YMM state (XCR0 bits 1-2)
  bool zmm_saved = false;  // ... and opmask and ZMM state (XCR0 bits 5-7)

  // 256-bit integer SIMD usable (AVX2 with YMM state saved).
  bool Avx2Usable() const { return avx2 && ymm_saved; }
  // 512-bit integer SIMD with byte ops and 128/256-bit forms (the AVX3 baseline).
  bool Avx512Usable() const { return Avx2Usable() && avx512f && avx512bw && avx512vl && zmm_saved; }
};

const CpuFeatures& Cpu();

// The CPU's brand string ("AMD EPYC 7B13 64-Core Processor"), trimmed.
std::string CpuBrand();

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_CPU_FEATURES_H_
