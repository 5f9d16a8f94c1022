#include "net/socks/socks5.h"

#include <array>
#include <cstring>
#include <optional>
#include <string_view>

#include "engine/common/byte_io.h"

namespace relaycell::net {
namespace {

SocksParse Refuse(SocksReply why, SocksReply& refusal) {
  refusal = why;
  return SocksParse::kBad;
}

}  // namespace

SocksParse ParseSocksGreeting(std::span<const uint8_t> in, size_t& consumed, SocksGreeting& out) {
  consumed = 0;
  ByteReader r(in);
  uint8_t version = 0, count = 0;
  if (!r.U8(version)) return SocksParse::kNeedMore;
  if (version != kSocksVersion) return SocksParse::kBad;
  std::span<const uint8_t> methods;
  if (!r.U8(count) || !r.View(count, methods)) return SocksParse::kNeedMore;
  out.offers_no_auth = false;
  for (uint8_t method : methods) {
    if (method == kSocksMethodNoAuth) out.offers_no_auth = true;
  }
  consumed = r.offset();
  return SocksParse::kOk;
}

size_t BuildSocksGreeting(std::span<uint8_t, 3> out) {
  out[0] = kSocksVersion;
  out[1] = 1;
  out[2] = kSocksMethodNoAuth;
  return 3;
}

void BuildSocksMethodChoice(bool accept, std::span<uint8_t, 2> out) {
  out[0] = kSocksVersion;
  out[1] = accept ? kSocksMethodNoAuth : kSocksMethodNoneAcceptable;
}

SocksParse ParseSocksRequest(std::span<const uint8_t> in, size_t& consumed, SocksRequest& out,
                             SocksReply& refusal) {
  consumed = 0;
  ByteReader r(in);
  uint8_t version = 0, command = 0, reserved = 0, atyp = 0;
  if (!r.U8(version)) return SocksParse::kNeedMore;
  if (version != kSocksVersion) return Refuse(SocksReply::kGeneralFailure, refusal);
  if (!r.U8(command)) return SocksParse::kNeedMore;
  if (command != kSocksCommandConnect) return Refuse(SocksReply::kCommandNotSupported, refusal);
  if (!r.U8(reserved)) return SocksParse::kNeedMore;
  if (reserved != 0) return Refuse(SocksReply::kGeneralFailure, refusal);
  if (!r.U8(atyp)) return SocksParse::kNeedMore;

  std::array<uint8_t, 16> octets{};
  std::span<const uint8_t> domain;
  switch (atyp) {
    case kSocksAtypIpv4:
      if (!r.Bytes(std::span(octets).first<4>())) return SocksParse::kNeedMore;
      break;
    case kSocksAtypIpv6:
      if (!r.Bytes(octets)) return SocksParse::kNeedMore;
      break;
    case kSocksAtypDomain: {
      uint8_t length = 0;
      if (!r.U8(length)) return SocksParse::kNeedMore;
      if (length == 0) return Refuse(SocksReply::kGeneralFailure, refusal);
      if (!r.View(length, domain)) return SocksParse::kNeedMore;
      break;
    }
    default: return Refuse(SocksReply::kAddressTypeNotSupported, refusal);
  }
  uint16_t port = 0;
  if (!r.BigEndian(port)) return SocksParse::kNeedMore;
  if (port == 0) return Refuse(SocksReply::kGeneralFailure, refusal);

  BeginTargetKind kind = BeginTargetKind::kHostname;
  char text[kMaxAddressText];
  std::string_view host;
  if (atyp == kSocksAtypDomain) {
    host = std::string_view(reinterpret_cast<const char*>(domain.data()), domain.size());
    if (host.find('\0') != std::string_view::npos || ClassifyHost(host, kind) != WireError::kNone) {
      return Refuse(SocksReply::kGeneralFailure, refusal);
    }
  } else {
    const IpAddress address = atyp == kSocksAtypIpv4 ? IpAddress::V4(std::span(octets).first<4>())
                                                     : IpAddress::V6(octets);
    host = std::string_view(text, address.FormatTo(text));
    kind = address.v6 ? BeginTargetKind::kIpv6 : BeginTargetKind::kIpv4;
  }
  out.command = command;
  out.target.kind = kind;
  out.target.host.assign(host);
  out.target.port = port;
  consumed = r.offset();
  return SocksParse::kOk;
}

size_t BuildSocksRequest(const SocksRequest& request, std::span<uint8_t> out) {
  const BeginTarget& target = request.target;
  BeginTargetKind kind = BeginTargetKind::kHostname;
  if (ClassifyHost(target.host, kind) != WireError::kNone || kind != target.kind) return 0;
  ByteWriter w(out);
  w.U8(kSocksVersion);
  w.U8(request.command);
  w.U8(0);
  if (kind == BeginTargetKind::kHostname) {
    w.U8(kSocksAtypDomain);
    w.U8(static_cast<uint8_t>(target.host.size()));  // ClassifyHost: 1..255
    w.Bytes({reinterpret_cast<const uint8_t*>(target.host.data()), target.host.size()});
  } else {
    const std::optional<IpAddress> address = IpAddress::Parse(target.host);
    if (!address) return 0;
    w.U8(address->v6 ? kSocksAtypIpv6 : kSocksAtypIpv4);
    w.Bytes(address->octets());
  }
  w.BigEndian(target.port);
  return w.ok() ? w.size() : 0;
}

size_t BuildSocksReply(SocksReply reply, std::span<uint8_t, kSocksReplyBytes> out) {
  std::memset(out.data(), 0, out.size());
  out[0] = kSocksVersion;
  out[1] = static_cast<uint8_t>(reply);
  out[3] = kSocksAtypIpv4;
  return kSocksReplyBytes;
}

SocksParse ParseSocksReply(std::span<const uint8_t> in, size_t& consumed, uint8_t& reply) {
  consumed = 0;
  ByteReader r(in);
  uint8_t version = 0, code = 0, reserved = 0, atyp = 0, length = 0;
  if (!r.U8(version)) return SocksParse::kNeedMore;
  if (version != kSocksVersion) return SocksParse::kBad;
  if (!r.U8(code) || !r.U8(reserved)) return SocksParse::kNeedMore;
  if (reserved != 0) return SocksParse::kBad;
  if (!r.U8(atyp)) return SocksParse::kNeedMore;
  switch (atyp) {
    case kSocksAtypIpv4: length = 4; break;
    case kSocksAtypIpv6: length = 16; break;
    case kSocksAtypDomain:
      if (!r.U8(length)) return SocksParse::kNeedMore;
      break;
    default: return SocksParse::kBad;
  }
  std::span<const uint8_t> address;
  uint16_t port = 0;
  if (!r.View(length, address) || !r.BigEndian(port)) return SocksParse::kNeedMore;
  reply = code;
  consumed = r.offset();
  return SocksParse::kOk;
}

SocksReply SocksReplyForEnd(EndReason reason) {
  switch (reason) {
    case EndReason::kExitPolicy: return SocksReply::kNotAllowed;
    case EndReason::kResolveFailed: return SocksReply::kHostUnreachable;
    case EndReason::kConnectRefused: return SocksReply::kConnectionRefused;
    case EndReason::kTimeout: return SocksReply::kTtlExpired;
    case EndReason::kNoRoute: return SocksReply::kNetworkUnreachable;
    default: return SocksReply::kGeneralFailure;
  }
}

}  // namespace relaycell::net
