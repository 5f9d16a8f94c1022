// `relaycell kat aez FILE...`: AEZ v5 known answers. The kind of each entry is told by its
// fields, so any file in these formats runs:
//   extract: a, b                      hash: k, tau (BITS), data = [nonce, A1, ...], v
//   prf:     k, delta, tau (bytes), r  encrypt: k, nonce, data = AD vector, tau (BYTES), m, c
#include <sodium.h>

#include <span>
#include <string>
#include <vector>

#include "engine/aez/aez.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

using Bytes = std::vector<unsigned char>;

bool Has(const nlohmann::json& e, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (!e.contains(k)) return false;
  }
  return true;
}

bool UnsignedField(const nlohmann::json& e, const char* key, uint64_t& out, std::string& error) {
  if (!e.contains(key) || !e[key].is_number_unsigned()) {
    error = std::string("field \"") + key + "\" is not a non-negative integer";
    return false;
  }
  out = e[key].get<uint64_t>();
  return true;
}

bool HexList(const nlohmann::json& e, const char* key, std::vector<Bytes>& out,
             std::string& error) {
  if (!e.contains(key) || !e[key].is_array()) {
    error = std::string("field \"") + key + "\" is not an array of hex strings";
    return false;
  }
  out.clear();
  for (const auto& item : e[key]) {
    Bytes b;
    if (!item.is_string() || !DecodeHex(item.get<std::string>(), b)) {
      error = std::string("field \"") + key + "\" holds a non-hex entry";
      return false;
    }
    out.push_back(std::move(b));
  }
  return true;
}

std::vector<std::span<const uint8_t>> Spans(const std::vector<Bytes>& list) {
  return std::vector<std::span<const uint8_t>>(list.begin(), list.end());
}

void ExpandKey(const Bytes& k, AezKey& key) {
  uint8_t extracted[kAezKeyBytes];
  AezExtract(k, extracted);
  key.Init(extracted);
  sodium_memzero(extracted, sizeof extracted);
}

bool RunEntry(const nlohmann::json& e, size_t index, KatTally& tally, std::string& error) {
  const std::string where = std::string("#").append(std::to_string(index));
  if (!e.is_object()) {
    error = where + " is not an object";
    return false;
  }
  if (Has(e, {"a", "b"})) {
    Bytes a, b;
    if (!HexField(e, "a", a, error) || !HexField(e, "b", b, error)) return false;
    if (b.size() != kAezKeyBytes) {
      error = where + ": b is not 48 bytes";
      return false;
    }
    uint8_t out[kAezKeyBytes];
    AezExtract(a, out);
    Bytes(out, out + kAezKeyBytes) == b ? tally.Pass() : tally.Fail(where + " extract");
    return true;
  }
  Bytes k;
  if (!HexField(e, "k", k, error)) return false;
  AezKey key;
  ExpandKey(k, key);
  if (Has(e, {"tau", "data", "v"})) {
    uint64_t tau_bits;
    std::vector<Bytes> data;
    Bytes v;
    if (!UnsignedField(e, "tau", tau_bits, error) || !HexList(e, "data", data, error) ||
        !HexField(e, "v", v, error)) {
      return false;
    }
    if (v.size() != kAezDeltaBytes || data.empty()) {
      error = where + ": v must be 16 bytes and data must hold the nonce";
      return false;
    }
    const auto spans = Spans(data);
    uint8_t delta[kAezDeltaBytes];
    AezHashTauBits(key, tau_bits, spans[0], std::span(spans).subspan(1), delta);
    Bytes(delta, delta + 16) == v ? tally.Pass() : tally.Fail(where + " hash");
    return true;
  }
  if (Has(e, {"delta", "tau", "r"})) {
    Bytes delta, r;
    uint64_t tau;
    if (!HexField(e, "delta", delta, error) || !UnsignedField(e, "tau", tau, error) ||
        !HexField(e, "r", r, error)) {
      return false;
    }
    if (delta.size() != kAezDeltaBytes || r.size() != tau) {
      error = where + ": delta must be 16 bytes and r tau bytes";
      return false;
    }
    Bytes out(tau);
    AezPrf(key, std::span<const uint8_t, 16>(delta.data(), 16), out);
    out == r ? tally.Pass() : tally.Fail(where + " prf");
    return true;
  }
  if (Has(e, {"nonce", "data", "tau", "m", "c"})) {
    Bytes nonce, m, c;
    uint64_t tau;
    std::vector<Bytes> data;
    if (!HexField(e, "nonce", nonce, error) || !HexList(e, "data", data, error) ||
        !UnsignedField(e, "tau", tau, error) || !HexField(e, "m", m, error) ||
        !HexField(e, "c", c, error)) {
      return false;
    }
    if (c.size() != m.size() + tau) {
      error = where + ": |c| != |m| + tau";
      return false;
    }
    const auto ad = Spans(data);
    Bytes got_c(c.size()), got_m(m.size());
    const bool sealed = AezEncrypt(key, nonce, ad, tau, m, got_c);
    const bool opened = AezDecrypt(key, nonce, ad, tau, c, got_m);
    if (sealed && got_c == c && opened && got_m == m) {
      tally.Pass();
    } else {
      tally.Fail(where + (got_c != c ? " encrypt" : " decrypt") +
                 " (|m| = " + std::to_string(m.size()) + ", tau = " + std::to_string(tau) + ")");
    }
    return true;
  }
  error = where + ": fields match no AEZ vector format (extract, hash, prf, encrypt)";
  return false;
}

bool RunAezFile(const nlohmann::json& document, KatTally& tally, std::string& error) {
  if (!document.is_array()) {
    error = "top level is not an array";
    return false;
  }
  for (size_t i = 0; i < document.size(); ++i) {
    if (!RunEntry(document[i], i, tally, error)) return false;
  }
  return true;
}

const bool registered = RegisterKatKind(
    {"aez", "AEZ v5: extract, hash, prf, encrypt/decrypt vectors (kind told by fields)",
     RunAezFile});

}  // namespace
}  // namespace relaycell::tools
