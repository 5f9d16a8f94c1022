#include "net/wire/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace relaycell::net {

const char* WireErrorName(WireError error) {
  switch (error) {
    case WireError::kNone: return "none";
    case WireError::kTruncated: return "body cut short inside a field";
    case WireError::kBadHlen: return "HLEN runs past the end of the body";
    case WireError::kBadLinkSpecifier:
      return "link specifier of a known type with the wrong length";
    case WireError::kNoIdentity: return "EXTEND2 without an Ed25519 identity";
    case WireError::kTwoIdentities: return "EXTEND2 with more than one Ed25519 identity";
    case WireError::kNoAddress: return "EXTEND2 without an address";
    case WireError::kZeroPort: return "port 0";
    case WireError::kBadTarget: return "malformed host:port";
    case WireError::kNoCommonVersion: return "no common link protocol version";
    case WireError::kBadVersionsCount: return "VERSIONS count does not fit the cell";
    case WireError::kTooLong: return "field longer than its format allows";
    case WireError::kMissingNul: return "BEGIN target without its NUL";
    case WireError::kCount: break;
  }
  return "unknown";
}

const char* WireErrorCounterName(WireError error) {
  switch (error) {
    case WireError::kNone: return "none";
    case WireError::kTruncated: return "truncated";
    case WireError::kBadHlen: return "bad_hlen";
    case WireError::kBadLinkSpecifier: return "bad_link_specifier";
    case WireError::kNoIdentity: return "no_identity";
    case WireError::kTwoIdentities: return "two_identities";
    case WireError::kNoAddress: return "no_address";
    case WireError::kZeroPort: return "zero_port";
    case WireError::kBadTarget: return "bad_target";
    case WireError::kNoCommonVersion: return "no_common_version";
    case WireError::kBadVersionsCount: return "bad_versions_count";
    case WireError::kTooLong: return "too_long";
    case WireError::kMissingNul: return "missing_nul";
    case WireError::kCount: break;
  }
  return "unknown";
}

IpAddress IpAddress::V4(std::span<const uint8_t, 4> octets) {
  IpAddress a;
  std::copy(octets.begin(), octets.end(), a.bytes.begin());
  return a;
}

IpAddress IpAddress::V6(std::span<const uint8_t, 16> octets) {
  IpAddress a;
  a.v6 = true;
  std::copy(octets.begin(), octets.end(), a.bytes.begin());
  return a;
}

std::optional<IpAddress> IpAddress::Parse(std::string_view literal) {
  bool bracketed = false;
  if (!literal.empty() && literal.front() == '[') {
    if (literal.size() < 2 || literal.back() != ']') return std::nullopt;
    literal = literal.substr(1, literal.size() - 2);
    bracketed = true;
  }
  // inet_pton wants a NUL-terminated string: copy into a bounded buffer (a literal longer than
  // any address is refused before the copy).
  if (literal.empty() || literal.size() > kMaxAddressText ||
      literal.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char text[kMaxAddressText + 1];
  std::memcpy(text, literal.data(), literal.size());
  text[literal.size()] = '\0';

  IpAddress a;
  if (!bracketed && inet_pton(AF_INET, text, a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, text, a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

size_t IpAddress::FormatTo(std::span<char> out) const {
  char text[kMaxAddressText + 1];
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text) == nullptr) return 0;
  const size_t n = std::strlen(text);
  if (n > out.size()) return 0;
  std::memcpy(out.data(), text, n);
  return n;
}

std::string IpAddress::ToString() const {
  char text[kMaxAddressText];
  return std::string(text, FormatTo(text));
}

bool IpAddress::IsLoopback() const {
  if (!v6) return bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0,
                                                         0, 0, 0, 0, 0, 0, 0, 1};
  return bytes == kLoopback6;
}

}  // namespace relaycell::net
