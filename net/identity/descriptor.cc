#include "net/identity/descriptor.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <span>
#include <utility>

#include "net/handshake/ntor.h"

namespace relaycell::net {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr char kHexDigits[] = "0123456789abcdef";

std::string ToHex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  for (uint8_t b : bytes) {
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0x0f];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool FromHex(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != 2 * out.size()) return false;
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool ValidNickname(std::string_view nickname) {
  if (nickname.empty() || nickname.size() > kMaxNicknameBytes) return false;
  return std::all_of(nickname.begin(), nickname.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool ValidAddress(const std::string& address) {
  in_addr v4;
  in6_addr v6;
  return inet_pton(AF_INET, address.c_str(), &v4) == 1 ||
         inet_pton(AF_INET6, address.c_str(), &v6) == 1;
}

// How errors name a descriptor: by its nickname once that is known to be one.
std::string DescriptorName(const Json& json) {
  if (json.is_object()) {
    const auto it = json.find("nickname");
    if (it != json.end() && it->is_string() && ValidNickname(it->get_ref<const std::string&>())) {
      return "descriptor \"" + it->get<std::string>() + "\"";
    }
  }
  return "descriptor (no valid nickname)";
}

bool SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// Reads one descriptor's keys, each error naming the descriptor and the key.
class DescriptorReader {
 public:
  DescriptorReader(const Json& json, std::string* error)
      : json_(json), name_(DescriptorName(json)), error_(error) {}

  bool Fail(std::string_view key, std::string_view problem) const {
    return SetError(error_, name_ + ": key \"" + std::string(key) + "\": " + std::string(problem));
  }

  // The value at `key`, or nullptr (and the error) if absent.
  const Json* Find(const char* key) const {
    const auto it = json_.find(key);
    if (it == json_.end()) {
      Fail(key, "missing");
      return nullptr;
    }
    return &*it;
  }

  bool String(const char* key, std::string& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_string()) return Fail(key, "must be a string");
    out = value->get<std::string>();
    return true;
  }

  bool Hex(const char* key, std::span<uint8_t> out) const {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    const std::string expected = "must be " + std::to_string(2 * out.size()) + " hex digits (" +
                                 std::to_string(out.size()) + " bytes)";
    if (!value->is_string()) return Fail(key, expected);
    const std::string& text = value->get_ref<const std::string&>();
    if (!FromHex(text, out)) {
      return Fail(key, expected + ", not " + std::to_string(text.size()) +
                           (text.size() == 2 * out.size() ? " characters with a non-hex one"
                                                          : " characters"));
    }
    return true;
  }

  bool Port(const char* key, uint16_t& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_number_integer()) return Fail(key, "must be an integer 1..65535");
    const bool in_range = value->is_number_unsigned()
                              ? value->get<uint64_t>() >= 1 && value->get<uint64_t>() <= 65535
                              : value->get<int64_t>() >= 1 && value->get<int64_t>() <= 65535;
    if (!in_range) return Fail(key, "must be 1..65535");
    out = static_cast<uint16_t>(value->get<uint64_t>());
    return true;
  }

  bool Bool(const char* key, bool& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) return Fail(key, "must be true or false");
    out = value->get<bool>();
    return true;
  }

  bool Suites(const char* key, std::vector<std::string>& out) const {
    const Json* value = Find(key);
    if (value == nullptr) return false;
    if (!value->is_array() || value->empty()) {
      return Fail(key, "must be a non-empty array of suite names");
    }
    out.clear();
    for (const Json& suite : *value) {
      if (!suite.is_string()) return Fail(key, "must be an array of suite names (strings)");
      const std::string& name = suite.get_ref<const std::string&>();
      if (FindNtorSuiteBySuiteName(name) == nullptr) {
        return Fail(key, "unknown suite \"" + name + "\" (known: aez, tor1, cgo)");
      }
      if (std::find(out.begin(), out.end(), name) != out.end()) {
        return Fail(key, "suite \"" + name + "\" named twice");
      }
      out.push_back(name);
    }
    return true;
  }

 private:
  const Json& json_;
  const std::string name_;
  std::string* const error_;
};

OrderedJson DescriptorObject(const RelayDescriptor& d) {
  OrderedJson object;
  object["nickname"] = d.nickname;
  object["address"] = d.address;
  object["port"] = d.port;
  object["identity"] = ToHex(d.identity);
  object["onion_key"] = ToHex(d.onion_key);
  object["onion_cert"] = ToHex(d.onion_cert);
  object["exit"] = d.exit;
  object["suites"] = d.suites;
  return object;
}

// JSON text that never throws: bytes that are not UTF-8 become U+FFFD (which no nickname or
// address may hold, so a reader refuses them).
std::string Dump(const OrderedJson& json, int indent) {
  return json.dump(indent, ' ', false, OrderedJson::error_handler_t::replace);
}

// One descriptor of a network file: ParseDescriptor's rules, with the place in the file.
bool CheckEntry(size_t index, const Json& json, RelayDescriptor& out, std::string* error) {
  std::string why;
  if (ParseDescriptor(json, out, &why)) return true;
  return SetError(error, "relays[" + std::to_string(index) + "]: " + why);
}

}  // namespace

RelayDescriptor MakeDescriptor(const RelayKeys& keys, std::string nickname, std::string address,
                               uint16_t port, bool exit, std::vector<std::string> suites) {
  RelayDescriptor d;
  d.nickname = std::move(nickname);
  d.address = std::move(address);
  d.port = port;
  d.identity = keys.identity;
  d.onion_key = keys.onion_public;
  d.onion_cert = keys.onion_cert;
  d.exit = exit;
  d.suites = std::move(suites);
  return d;
}

std::string DescriptorToJson(const RelayDescriptor& descriptor) {
  return Dump(DescriptorObject(descriptor), 2);
}

bool ParseDescriptor(const Json& json, RelayDescriptor& out, std::string* error) {
  if (!json.is_object()) return SetError(error, "descriptor: must be a JSON object");
  const DescriptorReader r(json, error);
  if (!r.String("nickname", out.nickname)) return false;
  if (!ValidNickname(out.nickname)) {
    return r.Fail("nickname", "must be 1.." + std::to_string(kMaxNicknameBytes) +
                                  " characters of A-Z a-z 0-9 . _ -");
  }
  if (!r.String("address", out.address)) return false;
  if (!ValidAddress(out.address)) {
    return r.Fail("address", "must be a literal IPv4 or IPv6 address, not \"" + out.address + "\"");
  }
  return r.Port("port", out.port) && r.Hex("identity", out.identity) &&
         r.Hex("onion_key", out.onion_key) && r.Hex("onion_cert", out.onion_cert) &&
         r.Bool("exit", out.exit) && r.Suites("suites", out.suites);
}

bool DescriptorCertValid(const RelayDescriptor& descriptor) {
  return VerifyOnionCert(descriptor.identity, descriptor.onion_key, descriptor.onion_cert);
}

bool BuildNetworkFile(const std::vector<RelayDescriptor>& relays, std::string& json_out,
                      std::string* error) {
  OrderedJson list = OrderedJson::array();
  for (size_t i = 0; i < relays.size(); ++i) {
    const RelayDescriptor& d = relays[i];
    // What is written is what a reader will take: the descriptor through ParseDescriptor.
    const OrderedJson object = DescriptorObject(d);
    RelayDescriptor reread;
    std::string why;
    if (!ParseDescriptor(Json::parse(Dump(object, -1)), reread, &why)) return SetError(error, why);
    const std::string name = "descriptor \"" + d.nickname + "\"";
    if (!DescriptorCertValid(d)) return SetError(error, name + ": onion_cert does not verify");
    for (size_t j = 0; j < i; ++j) {
      if (relays[j].identity == d.identity) {
        return SetError(error, name + ": key \"identity\": " + ToHex(d.identity) +
                                   " is also descriptor \"" + relays[j].nickname + "\"'s");
      }
    }
    list.push_back(object);
  }
  OrderedJson file;
  file["relays"] = std::move(list);
  json_out = Dump(file, 2) + "\n";
  return true;
}

bool ParseNetworkFile(std::string_view json_text, NetworkFile& out,
                      std::vector<std::string>* left_out, std::string* error) {
  out.relays.clear();
  if (left_out != nullptr) left_out->clear();
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    return SetError(error, std::string("network file: not JSON: ") + e.what());
  }
  if (!root.is_object()) return SetError(error, "network file: must be a JSON object");
  const auto relays = root.find("relays");
  if (relays == root.end()) return SetError(error, "network file: key \"relays\": missing");
  if (!relays->is_array()) {
    return SetError(error, "network file: key \"relays\": must be an array of descriptors");
  }
  NetworkFile file;
  std::vector<std::string> left;
  for (size_t i = 0; i < relays->size(); ++i) {
    RelayDescriptor d;
    if (!CheckEntry(i, (*relays)[i], d, error)) return false;
    if (!DescriptorCertValid(d)) {
      left.push_back(d.nickname + ": onion_cert does not verify");
      continue;
    }
    for (const RelayDescriptor& earlier : file.relays) {
      if (earlier.identity == d.identity) {
        return SetError(error, "relays[" + std::to_string(i) + "]: descriptor \"" + d.nickname +
                                   "\": key \"identity\": " + ToHex(d.identity) +
                                   " is also descriptor \"" + earlier.nickname + "\"'s");
      }
    }
    file.relays.push_back(std::move(d));
  }
  out = std::move(file);
  if (left_out != nullptr) *left_out = std::move(left);
  return true;
}

}  // namespace relaycell::net
