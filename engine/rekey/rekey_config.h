// The rekey thresholds a client schedules by and a relay enforces (protocol §7), as one value
// type that is validated when loaded. Defaults and their reasons: engine/rekey_limits.h.
#ifndef RELAYCELL_ENGINE_REKEY_REKEY_CONFIG_H_
#define RELAYCELL_ENGINE_REKEY_REKEY_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/rekey/rekey_limits.h"

namespace relaycell {

enum class RekeyConfigError : uint8_t {
  kOk = 0,
  kFirstZero,                // first == 0: a rekey before any cell
  kIntervalZero,             // interval == 0
  kSlackZero,                // slack == 0: an honest client with cells in flight is destroyed
  kExceedsKeyCap,            // max(first, interval) + slack > kMaxCellsPerKey
  kMinSpacingNotBelowFirst,  // min_spacing >= first (or the lowest randomized first)
  kMinSpacingAboveInterval,  // min_spacing > interval (or the lowest randomized interval)
  // Text form ("key = value" lines) only:
  kSyntax,  // a line without '='
  kUnknownKey,
  kDuplicateKey,
  kBadNumber,  // not a decimal or 2^N number, or out of range
  kBadBool,    // not true/false/1/0/on/off
};

// A sentence for an operator ("min_spacing must be below first: a client could never comply").
const char* RekeyConfigErrorMessage(RekeyConfigError error);

struct RekeyConfig {
  uint64_t first = kDefaultFirstRekeyCells;             // threshold(0)
  uint64_t interval = kDefaultRekeyIntervalCells;       // threshold(n >= 1)
  bool randomize = false;                               // client: each threshold minus U[0, 25%]
  uint64_t slack = kDefaultRekeySlackCells;             // relay: room for cells in flight
  uint64_t min_spacing = kDefaultRekeyMinSpacingCells;  // relay: 0 disables

  // The nominal threshold for the n-th rekey (n counts from 0). A relay enforces this; a
  // randomizing client uses something at most this and at least LowestThreshold(n).
  constexpr uint64_t Threshold(uint64_t n) const { return n == 0 ? first : interval; }
  // The smallest threshold a randomizing client may draw for the n-th rekey.
  constexpr uint64_t LowestThreshold(uint64_t n) const {
    const uint64_t t = Threshold(n);
    return randomize ? t - MaxRandomReduction(t) : t;
  }
  static constexpr uint64_t MaxRandomReduction(uint64_t threshold) {
    // threshold * 25 / 100 without overflow for any uint64_t.
    return threshold / 100 * kRekeyRandomizeMaxPercent +
           threshold % 100 * kRekeyRandomizeMaxPercent / 100;
  }

  // kOk if no key can process more than kMaxCellsPerKey cells and an honest client can always
  // comply with the relay's limits. Every other constructor of a schedule or enforcer assumes it.
  RekeyConfigError Validate() const;
};

struct RekeyConfigParseResult {
  RekeyConfigError error = RekeyConfigError::kOk;
  size_t line = 0;  // 1-based line of the error; 0 when the error is in the whole (Validate)
  bool ok() const { return error == RekeyConfigError::kOk; }
};

// Parses "key = value" lines over the defaults: keys first, interval, randomize, slack,
// min_spacing; numbers in decimal or as 2^N; '#' starts a comment; blank lines are ignored.
// The result is validated. `out` is written only on success.
RekeyConfigParseResult ParseRekeyConfig(std::string_view text, RekeyConfig& out);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_REKEY_REKEY_CONFIG_H_
