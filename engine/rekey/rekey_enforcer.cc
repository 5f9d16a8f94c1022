#include "engine/rekey/rekey_enforcer.h"

namespace relaycell {

RekeyEnforcer::RekeyEnforcer(const RekeyConfig& config, Mode mode)
    : deadline_(0),
      min_spacing_(mode == Mode::kEnforce ? config.min_spacing : 0),
      config_(config),
      mode_(mode) {
  deadline_ = DeadlineFor(0);
}

uint64_t RekeyEnforcer::DeadlineFor(uint64_t n) const {
  if (mode_ == Mode::kDisabled) return std::numeric_limits<uint64_t>::max();
  return config_.Threshold(n) + config_.slack;  // Validate() keeps this under 2^38
}

RekeyError RekeyEnforcer::CheckRekeyAllowed() const {
  // cells_ includes the REKEY cell itself; the cells that came before it are one fewer.
  const uint64_t before = cells_ == 0 ? 0 : cells_ - 1;
  return before < min_spacing_ ? RekeyError::kRekeyTooSoon : RekeyError::kNone;
}

void RekeyEnforcer::OnSwitch() {
  ++switches_;
  cells_ = 0;
  deadline_ = DeadlineFor(switches_);
}

}  // namespace relaycell
