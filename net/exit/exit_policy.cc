#include "net/exit/exit_policy.h"

#include <optional>
#include <utility>

namespace relaycell::net {
namespace {

// Decimal without sign or leading zero, at most `max`.
std::optional<uint32_t> ParseDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// Whether `address` lies in network/bits (same family assumed).
bool InPrefix(const IpAddress& address, const IpAddress& network, unsigned bits) {
  const unsigned whole = bits / 8, rest = bits % 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (address.bytes[i] != network.bytes[i]) return false;
  }
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[whole] & mask) == network.bytes[whole];
}

bool HostBitsClear(const IpAddress& network, unsigned bits) {
  const unsigned total = network.v6 ? 128 : 32;
  for (unsigned bit = bits; bit < total; ++bit) {
    if (network.bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

bool Fail(std::string* error, const char* why) {
  if (error != nullptr) *error = why;
  return false;
}

}  // namespace

ExitPolicy ExitPolicy::LoopbackOnly() {
  ExitPolicy policy;
  Rule v4;
  v4.network.bytes[0] = 127;
  v4.prefix_bits = 8;
  Rule v6;
  v6.network.v6 = true;
  v6.network.bytes[15] = 1;
  v6.prefix_bits = 128;
  policy.rules_ = {v4, v6};
  return policy;
}

bool ExitPolicy::ParseRule(std::string_view text, Rule& out, std::string* error) {
  // The port part follows the last ':' (an IPv6 network is in brackets, so its own colons come
  // before the ']').
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.find(']', colon) != std::string_view::npos) {
    return Fail(error, "no ':' before the port range");
  }
  std::string_view network_text = text.substr(0, colon);
  const std::string_view ports = text.substr(colon + 1);

  std::string_view bits_text;
  const size_t slash = network_text.rfind('/');
  if (slash != std::string_view::npos) {
    bits_text = network_text.substr(slash + 1);
    network_text = network_text.substr(0, slash);
  }
  const bool bracketed = !network_text.empty() && network_text.front() == '[';
  const std::optional<IpAddress> network = IpAddress::Parse(network_text);
  if (!network) return Fail(error, "not an IPv4 address or a bracketed IPv6 address");
  if (network->v6 != bracketed) return Fail(error, "an IPv6 address must be in brackets");

  const uint32_t total = network->v6 ? 128 : 32;
  uint32_t bits = total;
  if (slash != std::string_view::npos) {
    const std::optional<uint32_t> parsed = ParseDecimal(bits_text, total);
    if (!parsed) return Fail(error, "prefix length not a number within the address's bits");
    bits = *parsed;
  }
  if (!HostBitsClear(*network, bits)) return Fail(error, "address has bits set past the prefix");

  uint32_t low = 1, high = 65535;
  if (ports != "*") {
    const size_t dash = ports.find('-');
    const std::optional<uint32_t> lo = ParseDecimal(ports.substr(0, dash), 65535);
    const std::optional<uint32_t> hi =
        dash == std::string_view::npos ? lo : ParseDecimal(ports.substr(dash + 1), 65535);
    if (!lo || !hi) return Fail(error, "port range not '*', N or N-M with ports 1..65535");
    low = *lo;
    high = *hi;
    if (low == 0 || high == 0) return Fail(error, "port 0 in the port range");
    if (low > high) return Fail(error, "port range runs backwards");
  }
  out.network = *network;
  out.prefix_bits = static_cast<uint8_t>(bits);
  out.port_low = static_cast<uint16_t>(low);
  out.port_high = static_cast<uint16_t>(high);
  return true;
}

bool ExitPolicy::Parse(std::span<const std::string> rules, ExitPolicy& out, std::string* error) {
  std::vector<Rule> parsed;
  parsed.reserve(rules.size());
  for (const std::string& text : rules) {
    Rule rule;
    std::string why;
    if (!ParseRule(text, rule, &why)) {
      if (error != nullptr) {
        error->assign("exit policy rule \"").append(text).append("\": ").append(why);
      }
      return false;
    }
    parsed.push_back(rule);
  }
  out.rules_ = std::move(parsed);
  return true;
}

bool ExitPolicy::Allows(const IpAddress& address, uint16_t port) const {
  for (const Rule& rule : rules_) {
    if (rule.network.v6 == address.v6 && port >= rule.port_low && port <= rule.port_high &&
        InPrefix(address, rule.network, rule.prefix_bits)) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> ExitPolicy::ToStrings() const {
  std::vector<std::string> out;
  out.reserve(rules_.size());
  for (const Rule& rule : rules_) {
    std::string text;
    if (rule.network.v6) text.push_back('[');
    text.append(rule.network.ToString());
    if (rule.network.v6) text.push_back(']');
    text.push_back('/');
    text.append(std::to_string(rule.prefix_bits));
    text.push_back(':');
    if (rule.port_low == 1 && rule.port_high == 65535) {
      text.push_back('*');
    } else {
      text.append(std::to_string(rule.port_low));
      if (rule.port_high != rule.port_low) {
        text.push_back('-');
        text.append(std::to_string(rule.port_high));
      }
    }
    out.push_back(std::move(text));
  }
  return out;
}

}  // namespace relaycell::net
