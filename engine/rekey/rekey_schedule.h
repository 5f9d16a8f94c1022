// The client's side of protocol §7: when to rekey one hop.
//
// The count is cells processed under the hop's current keys, both directions: forward cells
// sent since the REKEY(1) went out plus backward cells received since the ACK switched the
// backward direction (the caller counts only those; see ClientHopRekey). threshold(0) = first,
// threshold(n >= 1) = interval, each optionally lowered by a uniform 0–25% drawn when that
// threshold starts, so the per-cell work is one increment and one compare.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_SCHEDULE_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_SCHEDULE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/rekey/rekey_config.h"

namespace relaycell {

inline constexpr size_t kRekeyScheduleSeedBytes = 32;

class RekeySchedule {
 public:
  // `config` must have passed Validate(). Randomized thresholds come from libsodium's CSPRNG.
  explicit RekeySchedule(const RekeyConfig& config);
  // Randomized thresholds come from ChaCha20 keyed with `seed`: reproducible (tests, fuzzing,
  // or a host that wants its draws tied to its own key schedule).
  RekeySchedule(const RekeyConfig& config, std::span<const uint8_t, kRekeyScheduleSeedBytes> seed);
  ~RekeySchedule();
  RekeySchedule(const RekeySchedule&) = delete;
  RekeySchedule& operator=(const RekeySchedule&) = delete;

  // Hot path: one more cell under the current keys. False once the count passes
  // threshold(n) + slack, the point where the relay destroys the circuit and past which this
  // key must not be used (it bounds the key's use even if a rekey never completes).
  [[nodiscard]] bool CountCell() { return ++cells_ <= deadline_; }

  // True once the count has reached this key's threshold (or a requested rekey may go).
  bool Due() const { return cells_ >= due_at_; }

  // The host forces a rekey: due as soon as min_spacing cells have passed under these keys
  // (earlier would get the circuit destroyed with kRekeyTooSoon).
  void RequestRekey();

  // For a hop that cannot rekey (tor1): never due, no deadline. Irreversible.
  void Disable();

  // A REKEY(1) went out: the count restarts for the new keys and the next threshold starts.
  void OnRekeySent();

  uint64_t cells() const { return cells_; }
  uint64_t rekeys_sent() const { return rekeys_; }
  uint64_t due_at() const { return due_at_; }
  uint64_t deadline() const { return deadline_; }
  const RekeyConfig& config() const { return config_; }

  // Starts the current count at `cells` without sending them: lets tests and benchmarks run the
  // production thresholds (2^15, 2^32) from just below.
  void PresetCountForTesting(uint64_t cells) { cells_ = cells; }

 private:
  void StartThreshold();
  uint64_t Random64();
  uint64_t UniformAtMost(uint64_t max);

  RekeyConfig config_;
  uint64_t cells_ = 0;
  uint64_t due_at_ = 0;
  uint64_t deadline_ = 0;
  uint64_t rekeys_ = 0;
  bool seeded_ = false;
  bool disabled_ = false;
  uint64_t draws_ = 0;
  std::array<uint8_t, kRekeyScheduleSeedBytes> seed_{};
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_SCHEDULE_H_
