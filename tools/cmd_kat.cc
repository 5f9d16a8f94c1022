// relaycell kat KIND FILE...: one line per file, then "N passed, M failed" as the last line.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

std::vector<KatKind>& KatKinds() {
  static std::vector<KatKind> kinds;
  return kinds;
}

}  // namespace

bool RegisterKatKind(const KatKind& kind) {
  KatKinds().push_back(kind);
  return true;
}

bool DecodeHex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<unsigned char>(hi << 4 | lo));
  }
  return true;
}

std::string EncodeHex(const unsigned char* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[data[i] >> 4];
    hex[2 * i + 1] = kDigits[data[i] & 15];
  }
  return hex;
}

bool HexField(const nlohmann::json& object, const char* key, std::vector<unsigned char>& out,
              std::string& error) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) {
    error = std::string("missing or non-string field \"") + key + "\"";
    return false;
  }
  if (!DecodeHex(object[key].get<std::string>(), out)) {
    error = std::string("field \"") + key + "\" is not valid hex";
    return false;
  }
  return true;
}

namespace {

constexpr std::string_view kUsage = "relaycell kat KIND FILE...   (KIND: see relaycell kat --list)";

int RunKat(Args args);
const Command kKatCommand{"kat", "run known-answer vector files (aez, cells, sss, ...)", kUsage,
                          RunKat};

int RunKat(Args args) {
  if (!args.empty() && args[0] == "--list") {
    for (const KatKind& k : KatKinds()) {
      std::printf("%-8.*s %.*s\n", int(k.name.size()), k.name.data(), int(k.summary.size()),
                  k.summary.data());
    }
    return kExitOk;
  }
  if (args.size() < 2) return UsageError(kKatCommand, "need a KIND and at least one FILE");
  const KatKind* kind = nullptr;
  for (const KatKind& k : KatKinds()) {
    if (k.name == args[0]) kind = &k;
  }
  if (kind == nullptr) {
    return UsageError(kKatCommand, "unknown KIND '" + std::string(args[0]) + "'");
  }
  size_t passed = 0, failed = 0;
  bool malformed = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string path(args[i]);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "relaycell kat: cannot read %s\n", path.c_str());
      malformed = true;
      continue;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    nlohmann::json document =
        nlohmann::json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
      std::fprintf(stderr, "relaycell kat: %s is not valid JSON\n", path.c_str());
      malformed = true;
      continue;
    }
    KatTally tally;
    std::string error;
    bool ok = false;
    try {
      ok = kind->run_file(document, tally, error);
    } catch (const std::exception& e) {  // a JSON type error in a malformed file
      error = e.what();
    }
    if (!ok) {
      std::fprintf(stderr, "relaycell kat: %s: malformed %.*s file: %s\n", path.c_str(),
                   int(kind->name.size()), kind->name.data(), error.c_str());
      malformed = true;
      continue;
    }
    for (const std::string& f : tally.failures) {
      std::printf("%s: FAILED %s\n", path.c_str(), f.c_str());
    }
    std::printf("%s: %zu vectors, %zu ok, %zu bad\n", path.c_str(), tally.passed + tally.failed,
                tally.passed, tally.failed);
    passed += tally.passed;
    failed += tally.failed;
  }
  std::fflush(stdout);
  std::printf("%zu passed, %zu failed\n", passed, failed);
  if (malformed) return kExitUsage;
  return failed == 0 ? kExitOk : kExitFailed;
}

const bool registered = RegisterCommand(kKatCommand);

}  // namespace
}  // namespace relaycell::tools
