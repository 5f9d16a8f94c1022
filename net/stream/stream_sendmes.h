// Whether a suite's relay format carries stream-level SENDMEs. cgo follows Tor's relay message
// format v1, where SENDME has no stream id: its streams run on the circuit window alone (both
// ends apply the same rule), while aez and tor1 keep tor-spec's stream windows as well.
#ifndef RELAYCELL_NET_STREAM_STREAM_SENDMES_H_
#define RELAYCELL_NET_STREAM_STREAM_SENDMES_H_

#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"

namespace relaycell::net {

inline bool HasStreamSendmes(const CellSuite& suite) {
  return suite.relay_format().has_stream_id(uint8_t(RelayCommand::kSendme));
}

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_STREAM_STREAM_SENDMES_H_
