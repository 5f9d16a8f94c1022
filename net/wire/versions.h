// VERSIONS (network.md §2): the first cell each side sends on a link, circ_id 0, command 7.
//
//   payload: n u16 | versions u16[n] | zeros
//
// Both sides use the highest version both list. relaycell speaks v1 only.
#ifndef RELAYCELL_NET_WIRE_VERSIONS_H_
#define RELAYCELL_NET_WIRE_VERSIONS_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "circuit/cell.h"
#include "net/wire/ip_address.h"

namespace relaycell::net {

inline constexpr uint16_t kLinkProtocolVersion = 1;
// The most versions one VERSIONS payload holds: (509 - 2) / 2.
inline constexpr size_t kMaxVersionsCount = (kCellBodyBytes - 2) / 2;  // 253

// The link protocol versions this build speaks.
bool IsSupportedLinkVersion(uint16_t version);

// n = 1, [kLinkProtocolVersion], the rest zero.
void BuildVersions(std::span<uint8_t, kCellBodyBytes> payload);
// `chosen` = the highest listed version we speak. kBadVersionsCount if n does not fit the
// payload (n > 253), kNoCommonVersion if no listed version is ours (n = 0 included). Order and
// duplicates in the list do not matter; bytes after the list are not checked.
WireError ParseVersions(std::span<const uint8_t, kCellBodyBytes> payload, uint16_t& chosen);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_WIRE_VERSIONS_H_
