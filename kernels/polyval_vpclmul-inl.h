// Private to kernels/polyval*.cc: the raw VPCLMULQDQ-256 POLYVAL path
// (kernels/polyval_vpclmul.cc). Not a per-target header: it has a normal guard.
#ifndef RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_
#define RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_

#include <cstddef>

#include "kernels/polyval.h"

namespace relaycell::kernels {

// AVX2 + PCLMULQDQ + VPCLMULQDQ, with the OS saving YMM state.
bool Vpclmul256Available();

// Same contract as PolyvalBatch; only call when Vpclmul256Available().
void PolyvalJobsVpclmul256(const PolyvalJob* jobs, size_t count);

}  // namespace relaycell::kernels

#endif  // RELAYCELL_KERNELS_POLYVAL_VPCLMUL_INL_H_
