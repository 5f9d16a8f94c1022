// The exit policy (network.md §5): accept rules "CIDR:port-range", checked against every
// address a BEGIN's host resolves to. Nothing matches: refused (END(EXITPOLICY)).
//
//   rule  = address [ "/" bits ] ":" ports
//   address = IPv4 dotted quad | "[" IPv6 literal "]"     bits: 0..32 / 0..128, default all
//   ports = "*" | port | port "-" port                    1 <= lo <= hi <= 65535
//
// e.g. "127.0.0.0/8:*", "[::1]/128:1-65535", "10.0.0.0/8:80", "0.0.0.0/0:443". Host bits set
// past the prefix ("127.0.0.1/8") are refused rather than masked, so a rule means what it says.
// A rule matches only its own family: IPv4 rules never match IPv4-mapped IPv6 addresses.
#ifndef RELAYCELL_NET_EXIT_EXIT_POLICY_H_
#define RELAYCELL_NET_EXIT_EXIT_POLICY_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/wire/ip_address.h"

namespace relaycell::net {

class ExitPolicy {
 public:
  struct Rule {
    IpAddress network;  // host bits zero
    uint8_t prefix_bits = 0;
    uint16_t port_low = 1;
    uint16_t port_high = 65535;
    bool operator==(const Rule&) const = default;
  };

  // Accepts nothing.
  ExitPolicy() = default;
  // The default: 127.0.0.0/8 and [::1], any port.
  static ExitPolicy LoopbackOnly();

  // All rules or none: on a bad rule, false with `out` untouched and `*error` (when given)
  // naming the rule and what is wrong with it. An empty list gives a policy that accepts
  // nothing.
  static bool Parse(std::span<const std::string> rules, ExitPolicy& out, std::string* error);
  // One rule; false with `*error` saying what is wrong.
  static bool ParseRule(std::string_view text, Rule& out, std::string* error);

  bool Allows(const IpAddress& address, uint16_t port) const;

  // Canonical rules: "127.0.0.0/8:*", "[::1]/128:*", "10.0.0.0/8:80", "[::]/0:1-1024". Parse
  // of ToStrings() gives the same policy.
  std::vector<std::string> ToStrings() const;
  std::span<const Rule> rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
};

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_EXIT_EXIT_POLICY_H_
