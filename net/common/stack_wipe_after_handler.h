// Wipes the dead stack once the handler that dirtied it has returned.
//
// A node's own thread does key work outside the engine's batches: the client enciphers and
// deciphers single cells (ClientCircuit), and both nodes run ntor and the KDF for every
// circuit they set up. That work leaves key-dependent bytes in the stack frames of functions
// that have returned (the AEZ kernels spill round-key-derived values; handshakes keep secrets
// in locals). The engine's batches wipe behind themselves (LayerBatch::Run, and the relay
// pipeline once per batch: RelayPipeline::ProcessBatch); this does the
// same for the io_context's thread. Request() after key work posts one WipeStack as the next
// handler, when every frame of the work is dead: once per burst of handlers, not once per cell
// (a 36 KiB wipe costs about what a few cells do).
//
// Threads: the io_context's one thread.
#ifndef RELAYCELL_NET_COMMON_STACK_WIPE_AFTER_HANDLER_H_
#define RELAYCELL_NET_COMMON_STACK_WIPE_AFTER_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include <asio.hpp>

#include "engine/common/wipe_stack.h"

namespace relaycell::net {

// A single cell's deepest frames on any suite and path (kCellCallStackWipeBytes), plus room
// for the handler's own frames above them and the handshakes.
inline constexpr size_t kHandlerStackWipeBytes = kCellCallStackWipeBytes + 4 * 1024;

class StackWipeAfterHandler {
 public:
  explicit StackWipeAfterHandler(asio::io_context& io) : io_(io) {}

  // Key work just ran on this thread: wipe after the current handler. Idempotent until then.
  void Request();
  // Wipes done so far.
  uint64_t wipes() const { return state_->wipes; }

 private:
  // Shared with the posted handler, which may outlive this object (a node destroyed while
  // its io_context still runs).
  struct State {
    bool pending = false;
    uint64_t wipes = 0;
  };
  asio::io_context& io_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_COMMON_STACK_WIPE_AFTER_HANDLER_H_
