// POLYVAL with 512-bit VPCLMULQDQ: four blocks per carry-less multiply (AVX-512 CPUs).
// PLACEHOLDER: forwards to the 256-bit kernel until the 512-bit body lands.
#include "kernels/polyval.h"
#include "kernels/polyval_vpclmul-inl.h"

namespace relaycell::kernels {

void PolyvalJobsVpclmul512(const PolyvalJob* jobs, size_t count) {
  PolyvalJobsVpclmul256(jobs, count);
}

}  // namespace relaycell::kernels
