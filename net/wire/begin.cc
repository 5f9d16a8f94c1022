#include "net/wire/begin.h"

#include <cstring>

#include "engine/common/byte_io.h"

namespace relaycell::net {
namespace {

bool IsHostnameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-';
}

// Decimal 1..65535, no sign, no leading zero.
WireError ParsePort(std::string_view text, uint16_t& port) {
  if (text.empty() || text.size() > 5) return WireError::kBadTarget;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return WireError::kBadTarget;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0) return WireError::kZeroPort;
  if (text[0] == '0' || value > 65535) return WireError::kBadTarget;
  port = static_cast<uint16_t>(value);
  return WireError::kNone;
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

const char* EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kMisc: return "MISC";
    case EndReason::kResolveFailed: return "RESOLVEFAILED";
    case EndReason::kConnectRefused: return "CONNECTREFUSED";
    case EndReason::kExitPolicy: return "EXITPOLICY";
    case EndReason::kDestroy: return "DESTROY";
    case EndReason::kDone: return "DONE";
    case EndReason::kTimeout: return "TIMEOUT";
    case EndReason::kNoRoute: return "NOROUTE";
    case EndReason::kHibernating: return "HIBERNATING";
    case EndReason::kInternal: return "INTERNAL";
    case EndReason::kResourceLimit: return "RESOURCELIMIT";
    case EndReason::kConnReset: return "CONNRESET";
    case EndReason::kTorProtocol: return "TORPROTOCOL";
    case EndReason::kNotDirectory: return "NOTDIRECTORY";
  }
  return "unknown";
}

bool IsKnownEndReason(uint8_t reason) { return reason >= 1 && reason <= 14; }

WireError ClassifyHost(std::string_view host, BeginTargetKind& kind) {
  if (host.empty()) return WireError::kBadTarget;
  if (host.find(':') != std::string_view::npos) {
    if (host.front() == '[') return WireError::kBadTarget;  // brackets are the caller's
    const std::optional<IpAddress> address = IpAddress::Parse(host);
    if (!address || !address->v6) return WireError::kBadTarget;
    kind = BeginTargetKind::kIpv6;
    return WireError::kNone;
  }
  bool digits_and_dots = true;
  for (char c : host) {
    if (!IsHostnameChar(c)) return WireError::kBadTarget;
    if (c != '.' && (c < '0' || c > '9')) digits_and_dots = false;
  }
  if (host.size() > kMaxHostnameBytes) return WireError::kTooLong;
  if (digits_and_dots) {
    const std::optional<IpAddress> address = IpAddress::Parse(host);
    if (!address || address->v6) return WireError::kBadTarget;
    kind = BeginTargetKind::kIpv4;
    return WireError::kNone;
  }
  kind = BeginTargetKind::kHostname;
  return WireError::kNone;
}

WireError ParseBegin(std::span<const uint8_t> data, BeginTarget& out) {
  const void* nul = data.empty() ? nullptr : std::memchr(data.data(), 0, data.size());
  if (nul == nullptr) return WireError::kMissingNul;
  const std::string_view text(reinterpret_cast<const char*>(data.data()),
                              static_cast<size_t>(static_cast<const uint8_t*>(nul) - data.data()));

  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return WireError::kBadTarget;
  std::string_view host = text.substr(0, colon);
  const bool bracketed = !host.empty() && host.front() == '[';
  if (bracketed) {
    if (host.size() < 2 || host.back() != ']') return WireError::kBadTarget;
    host = host.substr(1, host.size() - 2);
  }
  BeginTargetKind kind = BeginTargetKind::kHostname;
  if (const WireError e = ClassifyHost(host, kind); e != WireError::kNone) return e;
  // An IPv6 literal comes in brackets, and only an IPv6 literal does.
  if (bracketed != (kind == BeginTargetKind::kIpv6)) return WireError::kBadTarget;
  uint16_t port = 0;
  if (const WireError e = ParsePort(text.substr(colon + 1), port); e != WireError::kNone) {
    return e;
  }
  out.kind = kind;
  out.host.assign(host);
  out.port = port;
  return WireError::kNone;
}

size_t BuildBegin(const BeginTarget& target, std::span<uint8_t> out) {
  BeginTargetKind kind = BeginTargetKind::kHostname;
  if (target.port == 0 || ClassifyHost(target.host, kind) != WireError::kNone ||
      kind != target.kind) {
    return 0;
  }
  char port_text[5];
  size_t port_digits = 0;
  for (uint16_t p = target.port; p != 0; p = static_cast<uint16_t>(p / 10)) {
    port_text[sizeof port_text - 1 - port_digits++] = static_cast<char>('0' + p % 10);
  }
  const bool v6 = kind == BeginTargetKind::kIpv6;
  ByteWriter w(out);
  if (v6) w.U8('[');
  w.Bytes(AsBytes(target.host));
  if (v6) w.U8(']');
  w.U8(':');
  w.Bytes(AsBytes(std::string_view(port_text + sizeof port_text - port_digits, port_digits)));
  w.U8(0);
  return w.ok() ? w.size() : 0;
}

}  // namespace relaycell::net
