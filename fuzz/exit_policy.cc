// Fuzzes the exit policy (network.md §5) and the address literals it is made of. The input is
// rules, one per line (at most 64); its last 19 bytes also name an address and port to probe.
//
// Checked: ParseRule agrees with Parse rule by rule; a parsed policy's ToStrings() parses to
// the same rules; Allows matches a matcher written here bit by bit; IpAddress::Parse of a
// line that is a literal formats to a text that parses to the same address.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/exit/exit_policy.h"

namespace {

using namespace relaycell::net;

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty() && lines.size() < 64) {
    const size_t end = text.find('\n');
    lines.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// The independent matcher: same family, port in range, and the first prefix_bits bits equal.
bool ModelAllows(std::span<const ExitPolicy::Rule> rules, const IpAddress& address, uint16_t port) {
  for (const ExitPolicy::Rule& rule : rules) {
    if (rule.network.v6 != address.v6 || port < rule.port_low || port > rule.port_high) {
      continue;
    }
    bool same = true;
    for (unsigned bit = 0; bit < rule.prefix_bits && same; ++bit) {
      const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
      same = (address.bytes[bit / 8] & mask) == (rule.network.bytes[bit / 8] & mask);
    }
    if (same) return true;
  }
  return false;
}

// An address and port from the input's last 19 bytes: a family byte, 16 address bytes, a
// big-endian port. Probing a rule's own network address too reaches the matching branches.
void Probe(const ExitPolicy& policy, std::span<const uint8_t> data) {
  std::vector<std::pair<IpAddress, uint16_t>> probes;
  for (const ExitPolicy::Rule& rule : policy.rules()) probes.emplace_back(rule.network, 80);
  if (data.size() >= 19) {
    const uint8_t* tail = data.data() + data.size() - 19;
    IpAddress address;
    address.v6 = (tail[0] & 1) != 0;
    std::memcpy(address.bytes.data(), tail + 1, address.v6 ? 16 : 4);
    probes.emplace_back(address, static_cast<uint16_t>(tail[17] << 8 | tail[18]));
  }
  for (const auto& [address, port] : probes) {
    if (policy.Allows(address, port) != ModelAllows(policy.rules(), address, port)) {
      __builtin_trap();
    }
  }
}

void CheckLiteral(const std::string& line) {
  const std::optional<IpAddress> address = IpAddress::Parse(line);
  if (!address) return;
  const std::string text = address->ToString();
  const std::optional<IpAddress> again = IpAddress::Parse(text);
  if (text.empty() || text.size() > kMaxAddressText || !again || !(*again == *address)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> lines =
      Lines(std::string_view(reinterpret_cast<const char*>(data), size));
  bool all_parse = true;
  for (const std::string& line : lines) {
    ExitPolicy::Rule rule;
    std::string why;
    const bool ok = ExitPolicy::ParseRule(line, rule, &why);
    if (!ok && why.empty()) __builtin_trap();  // every refusal says why
    all_parse = all_parse && ok;
    CheckLiteral(line);
  }
  ExitPolicy policy;
  std::string error;
  const bool parsed = ExitPolicy::Parse(lines, policy, &error);
  if (parsed != all_parse || (!parsed && error.empty())) __builtin_trap();
  if (!parsed) return 0;
  if (policy.rules().size() != lines.size()) __builtin_trap();
  ExitPolicy again;
  if (!ExitPolicy::Parse(policy.ToStrings(), again, nullptr) ||
      !std::equal(again.rules().begin(), again.rules().end(), policy.rules().begin(),
                  policy.rules().end())) {
    __builtin_trap();
  }
  Probe(policy, std::span<const uint8_t>(data, size));
  return 0;
}
