#include "engine/rekey/rekey_config.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace relaycell {

const char* RekeyConfigErrorMessage(RekeyConfigError error) {
  switch (error) {
    case RekeyConfigError::kOk: return "ok";
    case RekeyConfigError::kFirstZero: return "first must be at least 1 cell";
    case RekeyConfigError::kIntervalZero: return "interval must be at least 1 cell";
    case RekeyConfigError::kSlackZero:
      return "slack must be at least 1 cell: cells in flight would destroy honest circuits";
    case RekeyConfigError::kExceedsKeyCap:
      return "max(first, interval) + slack exceeds 2^38 cells per key (AEZ's 2^44-block claim)";
    case RekeyConfigError::kMinSpacingNotBelowFirst:
      return "min_spacing must be below first (and below its lowest randomized value): "
             "a client could never comply";
    case RekeyConfigError::kMinSpacingAboveInterval:
      return "min_spacing must not exceed interval (nor its lowest randomized value): "
             "a client could never comply";
    case RekeyConfigError::kSyntax: return "expected a line of the form key = value";
    case RekeyConfigError::kUnknownKey:
      return "unknown key (expected first, interval, randomize, slack or min_spacing)";
    case RekeyConfigError::kDuplicateKey: return "key given twice";
    case RekeyConfigError::kBadNumber:
      return "expected a cell count: decimal digits or 2^N with N <= 63";
    case RekeyConfigError::kBadBool: return "expected true, false, on, off, yes, no, 1 or 0";
  }
  return "invalid rekey configuration error";
}

RekeyConfigError RekeyConfig::Validate() const {
  if (first == 0) return RekeyConfigError::kFirstZero;
  if (interval == 0) return RekeyConfigError::kIntervalZero;
  if (slack == 0) return RekeyConfigError::kSlackZero;
  // A key serves at most threshold + slack cells (the relay destroys the circuit past that):
  // that sum, for the largest threshold, must fit under the cap. Written so nothing overflows.
  const uint64_t largest = std::max(first, interval);
  if (largest > kMaxCellsPerKey || slack > kMaxCellsPerKey - largest) {
    return RekeyConfigError::kExceedsKeyCap;
  }
  // A client rekeys once its count reaches its threshold; the relay refuses a REKEY that comes
  // after fewer than min_spacing cells. The client must be able to satisfy both.
  if (min_spacing != 0) {
    if (min_spacing >= LowestThreshold(0)) return RekeyConfigError::kMinSpacingNotBelowFirst;
    if (min_spacing > LowestThreshold(1)) return RekeyConfigError::kMinSpacingAboveInterval;
  }
  return RekeyConfigError::kOk;
}

namespace {

std::string_view Trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseDecimal(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out, 10);
  return ec == std::errc() && ptr == end;
}

bool ParseCellCount(std::string_view text, uint64_t& out) {
  if (text.starts_with("2^")) {
    uint64_t exponent = 0;
    if (!ParseDecimal(text.substr(2), exponent) || exponent > 63) return false;
    out = uint64_t{1} << exponent;
    return true;
  }
  return ParseDecimal(text, out);
}

bool ParseBool(std::string_view text, bool& out) {
  if (text == "true" || text == "on" || text == "yes" || text == "1") {
    out = true;
    return true;
  }
  if (text == "false" || text == "off" || text == "no" || text == "0") {
    out = false;
    return true;
  }
  return false;
}

}  // namespace

RekeyConfigParseResult ParseRekeyConfig(std::string_view text, RekeyConfig& out) {
  RekeyConfig config;
  enum Seen : unsigned { kFirst = 1, kInterval = 2, kRandomize = 4, kSlack = 8, kMinSpacing = 16 };
  unsigned seen = 0;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = Trim(line);
    if (line.empty()) continue;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) return {RekeyConfigError::kSyntax, line_number};
    const std::string_view key = Trim(line.substr(0, equals));
    const std::string_view value = Trim(line.substr(equals + 1));

    unsigned bit = 0;
    bool parsed = false;
    RekeyConfigError value_error = RekeyConfigError::kBadNumber;
    if (key == "first") {
      bit = kFirst;
      parsed = ParseCellCount(value, config.first);
    } else if (key == "interval") {
      bit = kInterval;
      parsed = ParseCellCount(value, config.interval);
    } else if (key == "slack") {
      bit = kSlack;
      parsed = ParseCellCount(value, config.slack);
    } else if (key == "min_spacing") {
      bit = kMinSpacing;
      parsed = ParseCellCount(value, config.min_spacing);
    } else if (key == "randomize") {
      bit = kRandomize;
      value_error = RekeyConfigError::kBadBool;
      parsed = ParseBool(value, config.randomize);
    } else {
      return {RekeyConfigError::kUnknownKey, line_number};
    }
    if ((seen & bit) != 0) return {RekeyConfigError::kDuplicateKey, line_number};
    seen |= bit;
    if (!parsed) return {value_error, line_number};
  }
  if (const RekeyConfigError error = config.Validate(); error != RekeyConfigError::kOk) {
    return {error, 0};
  }
  out = config;
  return {};
}

}  // namespace relaycell
