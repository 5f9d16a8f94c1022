// Private to kernels/polyval*.cc: the raw VPCLMULQDQ-256 POLYVAL path
// (kernels/polyval_vpclmul.cc). Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_
#define RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_

#include <cstddef>

#include "kernels/polyval.h"

namespace relaycell::kernels {

// Same contract as PolyvalBatch; only call when RawKernelUsable(RawKernel::kVpclmul256).
void PolyvalJobsVpclmul256(const PolyvalJob* jobs, size_t count);

// The same at 512 bits (kernels/polyval_vpclmul512.cc); only call when
// RawKernelUsable(RawKernel::kVpclmul512).
void PolyvalJobsVpclmul512(const PolyvalJob* jobs, size_t count);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_
