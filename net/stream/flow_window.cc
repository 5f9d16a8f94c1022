// The windows are inline counters (flow_window.h); this file keeps the header's compile unit in
// the library so a header-only mistake fails the library build, not just its users'.
#include "net/stream/flow_window.h"

namespace relaycell::net {

static_assert(kCircuitWindowStart % kCircuitWindowIncrement == 0);
static_assert(kStreamWindowStart % kStreamWindowIncrement == 0);

}  // namespace relaycell::net
