// Relay descriptors and the network file (network.md §1).
//
// A descriptor, JSON:
//   {"nickname": "relay1", "address": "127.0.0.1", "port": 9001, "identity": HEX32,
//    "onion_key": HEX32, "onion_cert": HEX64, "exit": false, "suites": ["aez", "tor1"]}
// A network file: {"relays": [descriptor, ...]}.
//
// What a descriptor must be (ParseDescriptor): every key above present with its type; keys not
// named here are ignored (room for later versions). nickname: 1..32 of [A-Za-z0-9._-];
// address: a literal IPv4 or IPv6 address (inet_pton; no brackets, no host names); port:
// an integer 1..65535; identity, onion_key, onion_cert: exactly 64 / 64 / 128 hex digits (either
// case; written lowercase); suites: a non-empty array of distinct known suite names ("aez",
// "tor1", "cgo": FindNtorSuiteBySuiteName). Every error names the descriptor and the key:
//   descriptor "relay2": key "port": must be 1..65535
#ifndef RELAYCELL_NET_IDENTITY_DESCRIPTOR_H_
#define RELAYCELL_NET_IDENTITY_DESCRIPTOR_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/identity/relay_keys.h"

namespace relaycell::net {

inline constexpr size_t kMaxNicknameBytes = 32;

struct RelayDescriptor {
  std::string nickname;
  std::string address;  // "127.0.0.1" or an IPv6 literal ("::1"), as written
  uint16_t port = 0;
  std::array<uint8_t, kIdentityBytes> identity{};
  std::array<uint8_t, kOnionKeyBytes> onion_key{};
  std::array<uint8_t, kOnionCertBytes> onion_cert{};
  bool exit = false;
  std::vector<std::string> suites;  // ntor suite names, in the relay's order
};

// The descriptor of a relay with these keys (its identity, onion key and onion_cert).
RelayDescriptor MakeDescriptor(const RelayKeys& keys, std::string nickname, std::string address,
                               uint16_t port, bool exit, std::vector<std::string> suites);

// Pretty-printed (2-space indent), one object, its keys in the order above.
std::string DescriptorToJson(const RelayDescriptor& descriptor);

// Checks types, hex lengths, the address, the port and the suites (above); the onion_cert is
// not checked here (DescriptorCertValid). False with *error set; `out` then unspecified.
bool ParseDescriptor(const nlohmann::json& json, RelayDescriptor& out, std::string* error);

// Whether onion_cert is identity's signature over the onion key (VerifyOnionCert).
bool DescriptorCertValid(const RelayDescriptor& descriptor);

struct NetworkFile {
  std::vector<RelayDescriptor> relays;
};

// Writing: refuses (false, *error naming the descriptor) any descriptor that ParseDescriptor
// would refuse, whose onion_cert does not verify, or whose identity another already has.
bool BuildNetworkFile(const std::vector<RelayDescriptor>& relays, std::string& json_out,
                      std::string* error);

// Reading: a descriptor whose onion_cert does not verify is left out, and reported in
// *left_out (if not null) as `relay2: onion_cert does not verify`. Anything else malformed
// (not JSON, no "relays" array, a descriptor ParseDescriptor refuses, two descriptors with one
// identity) fails the whole file: false with *error set (`relays[1]: descriptor "relay2": ...`).
bool ParseNetworkFile(std::string_view json_text, NetworkFile& out,
                      std::vector<std::string>* left_out, std::string* error);

}  // namespace relaycell::net

#endif  // RELAYCELL_NET_IDENTITY_DESCRIPTOR_H_
