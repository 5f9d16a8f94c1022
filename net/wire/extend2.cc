#include "net/wire/extend2.h"

#include <limits>

#include "engine/common/byte_io.h"

namespace relaycell::net {
namespace {

// An address link specifier's LSPEC: addr | port u16.
template <size_t N>
WireError ReadAddress(std::span<const uint8_t> spec, Extend2Request& out) {
  if (spec.size() != N + 2) return WireError::kBadLinkSpecifier;
  Endpoint endpoint;
  if constexpr (N == 4) {
    endpoint.address = IpAddress::V4(spec.first<4>());
  } else {
    endpoint.address = IpAddress::V6(spec.first<16>());
  }
  endpoint.port = LoadBe<uint16_t>(spec, N);
  if (endpoint.port == 0) return WireError::kZeroPort;
  if (out.address_count < kMaxExtendAddresses) out.addresses[out.address_count++] = endpoint;
  return WireError::kNone;
}

}  // namespace

WireError ParseExtend2(std::span<const uint8_t> data, Extend2Request& out) {
  out.address_count = 0;
  out.identity = {};
  out.addresses = {};
  bool have_identity = false;

  ByteReader r(data);
  uint8_t nspec = 0;
  if (!r.U8(nspec)) return WireError::kTruncated;
  for (uint8_t i = 0; i < nspec; ++i) {
    uint8_t type = 0, length = 0;
    std::span<const uint8_t> spec;
    if (!r.U8(type) || !r.U8(length) || !r.View(length, spec)) return WireError::kTruncated;
    WireError error = WireError::kNone;
    switch (static_cast<LinkSpecifierType>(type)) {
      case LinkSpecifierType::kIpv4: error = ReadAddress<4>(spec, out); break;
      case LinkSpecifierType::kIpv6: error = ReadAddress<16>(spec, out); break;
      case LinkSpecifierType::kEd25519Id:
        if (spec.size() != kEd25519IdBytes) return WireError::kBadLinkSpecifier;
        if (have_identity) return WireError::kTwoIdentities;
        ByteReader(spec).Bytes(out.identity);
        have_identity = true;
        break;
      default: break;  // unknown, or Tor's legacy ID: skipped
    }
    if (error != WireError::kNone) return error;
  }

  uint16_t hlen = 0;
  if (!r.BigEndian(out.htype) || !r.BigEndian(hlen)) return WireError::kTruncated;
  if (!r.View(hlen, out.hdata)) return WireError::kBadHlen;
  if (!have_identity) return WireError::kNoIdentity;
  if (out.address_count == 0) return WireError::kNoAddress;
  return WireError::kNone;
}

size_t BuildExtend2(const Extend2Request& request, std::span<uint8_t> out) {
  if (request.address_count == 0 || request.address_count > kMaxExtendAddresses ||
      request.hdata.size() > std::numeric_limits<uint16_t>::max()) {
    return 0;
  }
  ByteWriter w(out);
  w.U8(static_cast<uint8_t>(request.address_count + 1));
  for (const Endpoint& endpoint : request.endpoints()) {
    if (endpoint.port == 0) return 0;
    const bool v6 = endpoint.address.v6;
    w.U8(static_cast<uint8_t>(v6 ? LinkSpecifierType::kIpv6 : LinkSpecifierType::kIpv4));
    w.U8(static_cast<uint8_t>(v6 ? kIpv6LinkSpecifierBytes : kIpv4LinkSpecifierBytes));
    w.Bytes(endpoint.address.octets());
    w.BigEndian(endpoint.port);
  }
  w.U8(static_cast<uint8_t>(LinkSpecifierType::kEd25519Id));
  w.U8(static_cast<uint8_t>(kEd25519IdBytes));
  w.Bytes(request.identity);
  w.BigEndian(request.htype);
  w.BigEndian(static_cast<uint16_t>(request.hdata.size()));
  w.Bytes(request.hdata);
  return w.ok() ? w.size() : 0;
}

}  // namespace relaycell::net
