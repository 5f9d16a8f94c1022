#include "net/common/stack_wipe_after_handler.h"

#include "engine/common/wipe_stack.h"

namespace relaycell::net {

void StackWipeAfterHandler::Request() {
  if (state_->pending) return;
  state_->pending = true;
  asio::post(io_, [state = state_] {
    state->pending = false;
    WipeStack(kHandlerStackWipeBytes);
    ++state->wipes;
  });
}

}  // namespace relaycell::net
