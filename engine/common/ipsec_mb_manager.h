// The intel-ipsec-mb manager of the calling thread (the job API is not thread-safe, and a
// manager is too costly to build per call). Initialized for the best architecture this CPU has.
#ifndef RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_
#define RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_

#include <intel-ipsec-mb.h>

namespace relaycell {

// Never null (aborts if ipsec-mb cannot allocate a manager at all: nothing works without it).
IMB_MGR* ThreadIpsecMbManager();

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_
