// Known-answer files: `relaycell kat KIND FILE...`. Each kind (aez, cells, sss, ...) registers a
// function that runs every vector of one file.
#ifndef RELAYCELL_TOOLS_KAT_H_
#define RELAYCELL_TOOLS_KAT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace relaycell::tools {

struct KatTally {
  size_t passed = 0;
  size_t failed = 0;
  std::vector<std::string> failures;  // a short description of each failed vector (kept <= 20)
  void Pass() { ++passed; }
  void Fail(std::string what) {
    ++failed;
    if (failures.size() < 20) failures.push_back(std::move(what));
  }
};

// Runs every vector of a parsed file into `tally`. Returns false and sets `error` if the file
// is not of this kind's format (a malformed file is an error, never a silent pass).
using KatFileFn = bool (*)(const nlohmann::json& document, KatTally& tally, std::string& error);

struct KatKind {
  std::string_view name;
  std::string_view summary;
  KatFileFn run_file;
};

bool RegisterKatKind(const KatKind& kind);

// Hex helpers for vector files: false on odd length or a non-hex digit.
bool DecodeHex(std::string_view hex, std::vector<unsigned char>& out);
std::string EncodeHex(const unsigned char* data, size_t size);
// Reads field `key` of `object` as a hex string; false (with error set) if absent or bad.
bool HexField(const nlohmann::json& object, const char* key, std::vector<unsigned char>& out,
              std::string& error);

}  // namespace relaycell::tools

#endif  // RELAYCELL_TOOLS_KAT_H_
