#include "net/relay/relay_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "circuit/cell.h"
#include "net/handshake/ntor.h"

namespace relaycell::net {
namespace {

using Json = nlohmann::json;

bool Fail(std::string* error, std::string_view key, std::string_view why) {
  if (error) *error = "key \"" + std::string(key) + "\": " + std::string(why);
  return false;
}

bool ReadUnsigned(const Json& object, const char* name, std::string_view path, uint64_t max,
                  uint64_t& out, std::string* error) {
  if (!object.contains(name)) return true;
  const Json& value = object[name];
  if (!value.is_number_unsigned() || value.get<uint64_t>() > max)
    return Fail(error, path, "must be an integer from 0 to " + std::to_string(max));
  out = value.get<uint64_t>();
  return true;
}

bool ReadEndpoint(const Json& value, std::string_view path, Endpoint& out, std::string* error) {
  if (!value.is_string()) return Fail(error, path, "must be a string \"ADDRESS:PORT\"");
  const std::string text = value.get<std::string>();
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return Fail(error, path, "must be \"ADDRESS:PORT\"");
  const auto address = IpAddress::Parse(std::string_view(text).substr(0, colon));
  if (!address) return Fail(error, path, "address must be an IPv4 or [IPv6] literal");
  const std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  const unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port == 0 || port > 65535)
    return Fail(error, path, "port must be 1..65535");
  out.address = *address;
  out.port = static_cast<uint16_t>(port);
  return true;
}

std::string EndpointText(const Endpoint& endpoint) {
  const std::string address = endpoint.address.ToString();
  return (endpoint.address.v6 ? "[" + address + "]" : address) + ":" +
         std::to_string(endpoint.port);
}

}  // namespace

std::string RelayConfigTemplate(std::string_view nickname, const Endpoint& listen, bool exit) {
  std::ostringstream out;
  out << "// relaycell relay configuration (docs/network.md). JSON; // comments are allowed.\n"
      << "{\n"
      << "  \"nickname\": \"" << nickname << "\",\n"
      << "  // Where the relay accepts links; the same as in descriptor.json.\n"
      << "  \"listen\": \"" << EndpointText(listen) << "\",\n"
      << "  // An exit opens TCP streams for BEGIN cells that pass exit_policy.\n"
      << "  \"exit\": " << (exit ? "true" : "false") << ",\n"
      << "  // Accept rules \"CIDR:PORTS\"; the default reaches this machine only.\n"
      << "  \"exit_policy\": [\"127.0.0.0/8:*\", \"[::1]/128:*\"],\n"
      << "  // Suites offered in CREATE2 (aez, tor1, cgo).\n"
      << "  \"suites\": [\"aez\", \"tor1\", \"cgo\"],\n"
      << "  // Engine shard workers; 0 runs the cell engine on the network thread, which is\n"
      << "  // faster while one network thread does the TLS and socket work (docs/network.md).\n"
      << "  \"workers\": 0,\n"
      << "  \"limits\": {\n"
      << "    \"max_links\": 1024,\n"
      << "    \"max_circuits_per_link\": 1024,\n"
      << "    // Bytes queued to send on one link before readers pause.\n"
      << "    \"max_link_buffer_bytes\": 4194304,\n"
      << "    \"idle_circuit_timeout_s\": 600,\n"
      << "    \"handshake_timeout_ms\": 10000,\n"
      << "    \"connect_timeout_ms\": 5000\n"
      << "  },\n"
      << "  // RELAY_REKEY limits enforced per hop (protocol.md section 7); slack >= 1100.\n"
      << "  \"rekey\": {\"first\": 32768, \"interval\": 4294967296, \"slack\": 4096, "
         "\"min_spacing\": 1024},\n"
      << "  // \"ADDRESS:PORT\" to serve Prometheus counters on; empty for none.\n"
      << "  \"metrics_listen\": \"\"\n"
      << "}\n";
  return out.str();
}

bool ParseRelayConfig(std::string_view text, RelayConfig& out, std::string* error) {
  Json root;
  try {
    root = Json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    if (error) *error = std::string("not valid JSON: ") + e.what();
    return false;
  }
  if (!root.is_object()) return Fail(error, "(top level)", "must be an object");
  static const char* const kKnown[] = {"nickname", "listen", "exit",  "exit_policy",   "suites",
                                       "workers",  "limits", "rekey", "metrics_listen"};
  for (const auto& [key, value] : root.items()) {
    bool known = false;
    for (const char* name : kKnown) known |= key == name;
    if (!known) return Fail(error, key, "unknown key");
  }
  RelayConfig config;
  if (!root.contains("nickname") || !root["nickname"].is_string() ||
      root["nickname"].get<std::string>().empty())
    return Fail(error, "nickname", "must be a non-empty string");
  config.nickname = root["nickname"].get<std::string>();
  if (!root.contains("listen")) return Fail(error, "listen", "is required");
  if (!ReadEndpoint(root["listen"], "listen", config.listen, error)) return false;
  if (root.contains("exit")) {
    if (!root["exit"].is_boolean()) return Fail(error, "exit", "must be true or false");
    config.exit = root["exit"].get<bool>();
  }
  if (root.contains("exit_policy")) {
    const Json& rules = root["exit_policy"];
    if (!rules.is_array()) return Fail(error, "exit_policy", "must be a list of strings");
    std::vector<std::string> texts;
    for (const Json& rule : rules) {
      if (!rule.is_string()) return Fail(error, "exit_policy", "must be a list of strings");
      texts.push_back(rule.get<std::string>());
    }
    std::string why;
    if (!ExitPolicy::Parse(texts, config.exit_policy, &why)) return Fail(error, "exit_policy", why);
  }
  if (root.contains("suites")) {
    const Json& suites = root["suites"];
    if (!suites.is_array() || suites.empty())
      return Fail(error, "suites", "must be a non-empty list of suite names");
    config.suites.clear();
    for (const Json& suite : suites) {
      if (!suite.is_string() || FindNtorSuiteBySuiteName(suite.get<std::string>()) == nullptr)
        return Fail(error, "suites", "known suites are aez, tor1 and cgo");
      config.suites.push_back(suite.get<std::string>());
    }
  }
  uint64_t workers = config.workers;
  if (!ReadUnsigned(root, "workers", "workers", 64, workers, error)) return false;
  config.workers = workers;
  if (root.contains("limits")) {
    const Json& limits = root["limits"];
    if (!limits.is_object()) return Fail(error, "limits", "must be an object");
    static const char* const kLimitKeys[] = {"max_links",
                                             "max_circuits_per_link",
                                             "max_link_buffer_bytes",
                                             "idle_circuit_timeout_s",
                                             "handshake_timeout_ms",
                                             "connect_timeout_ms"};
    for (const auto& [key, value] : limits.items()) {
      bool known = false;
      for (const char* name : kLimitKeys) known |= key == name;
      if (!known) return Fail(error, "limits." + key, "unknown key");
    }
    uint64_t v[6] = {config.limits.max_links,
                     config.limits.max_circuits_per_link,
                     config.limits.max_link_buffer_bytes,
                     config.limits.idle_circuit_timeout_s,
                     config.limits.handshake_timeout_ms,
                     config.limits.connect_timeout_ms};
    const uint64_t max[6] = {1u << 20, 1u << 24, 1ull << 34, 1u << 30, 1u << 30, 1u << 30};
    for (int i = 0; i < 6; ++i) {
      const std::string path = std::string("limits.") + kLimitKeys[i];
      if (!ReadUnsigned(limits, kLimitKeys[i], path, max[i], v[i], error)) return false;
      if (v[i] == 0) return Fail(error, path, "must be positive");
    }
    if (v[2] < 64 * kCellBytes)
      return Fail(error, "limits.max_link_buffer_bytes", "must be at least 32896 (64 cells)");
    config.limits = {v[0], v[1], v[2], uint32_t(v[3]), uint32_t(v[4]), uint32_t(v[5])};
  }
  if (root.contains("rekey")) {
    const Json& rekey = root["rekey"];
    if (!rekey.is_object()) return Fail(error, "rekey", "must be an object");
    for (const auto& [key, value] : rekey.items()) {
      if (key != "first" && key != "interval" && key != "slack" && key != "min_spacing")
        return Fail(error, "rekey." + key, "unknown key");
    }
    const uint64_t kMax = ~uint64_t{0};
    if (!ReadUnsigned(rekey, "first", "rekey.first", kMax, config.rekey.first, error) ||
        !ReadUnsigned(rekey, "interval", "rekey.interval", kMax, config.rekey.interval, error) ||
        !ReadUnsigned(rekey, "slack", "rekey.slack", kMax, config.rekey.slack, error) ||
        !ReadUnsigned(rekey, "min_spacing", "rekey.min_spacing", kMax, config.rekey.min_spacing,
                      error))
      return false;
    if (config.rekey.slack < kMinNetworkRekeySlack)
      return Fail(error, "rekey.slack",
                  "must be at least 1100: a circuit window of DATA and its SENDMEs can be in "
                  "flight");
    const RekeyConfigError why = config.rekey.Validate();
    if (why != RekeyConfigError::kOk) return Fail(error, "rekey", RekeyConfigErrorMessage(why));
  }
  if (root.contains("metrics_listen") &&
      !(root["metrics_listen"].is_string() && root["metrics_listen"].get<std::string>().empty())) {
    Endpoint metrics;
    if (!ReadEndpoint(root["metrics_listen"], "metrics_listen", metrics, error)) return false;
    config.metrics_listen = metrics;
  }
  out = std::move(config);
  return true;
}

bool LoadRelayConfig(const std::string& path, RelayConfig& out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    if (error) *error = path + ": cannot be read";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string why;
  if (!ParseRelayConfig(text.str(), out, &why)) {
    if (error) *error = path + ": " + why;
    return false;
  }
  return true;
}

}  // namespace relaycell::net
