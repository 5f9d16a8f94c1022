// The relay's side of protocol §7: the limits it holds every client to, at line rate.
//
//   * The n-th rekey (n from 0) must arrive before the count of cells under the current keys,
//     both directions, passes threshold(n) + slack: else kRekeyOverdue.
//   * A REKEY after fewer than min_spacing cells under the current keys (for the first: since
//     the circuit was created) is kRekeyTooSoon: it would let a client make the relay derive
//     keys for every cell.
//
// The per-cell check is one increment and one compare against a deadline computed at each
// switch: no division, and a branch that is never taken in steady state.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_ENFORCER_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_ENFORCER_H_

#include <cstdint>
#include <limits>

#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_error.h"

namespace relaycell {

class RekeyEnforcer {
 public:
  enum class Mode : uint8_t {
    kEnforce,
    // Same code path, a deadline that is never reached and no spacing check: for measuring the
    // enforcer's overhead, and for hosts that enforce elsewhere. Never the default.
    kDisabled,
  };

  // `config` must have passed Validate().
  explicit RekeyEnforcer(const RekeyConfig& config, Mode mode = Mode::kEnforce);

  // Hot path: every cell this hop processes, either direction, the REKEY cell itself included
  // (it is processed under the old keys).
  [[nodiscard]] RekeyError CountCell() {
    if (++cells_ > deadline_) [[unlikely]]
      return RekeyError::kRekeyOverdue;
    return RekeyError::kNone;
  }

  // A well-formed REKEY(1) was just counted: is it allowed now? kNone or kRekeyTooSoon.
  [[nodiscard]] RekeyError CheckRekeyAllowed() const;

  // The hop switched to new keys: the count restarts and the next deadline is precomputed.
  void OnSwitch();

  uint64_t cells() const { return cells_; }
  uint64_t deadline() const { return deadline_; }
  uint64_t switches() const { return switches_; }
  Mode mode() const { return mode_; }

  // Starts the current count at `cells` (tests and benchmarks at production thresholds).
  void PresetCountForTesting(uint64_t cells) { cells_ = cells; }

 private:
  uint64_t DeadlineFor(uint64_t n) const;

  uint64_t cells_ = 0;
  uint64_t deadline_;
  uint64_t switches_ = 0;
  uint64_t min_spacing_;
  RekeyConfig config_;
  Mode mode_;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_ENFORCER_H_
