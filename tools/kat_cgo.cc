// `relaycell kat cgo FILE...`: Counter Galois Onion (Tor proposal 359) known answers. A file is
// one object whose tables mean what Tor's cgo_vectors.inc tables mean (format in docs/cgo.md):
//   {"suite": "cgo", "source": TEXT, "et": [...], "prf": [...], "uiv": [...],
//    "uiv_update": [...], "relay": [...], "relay_originate": [...], "client_originate": [...]}
// Any table may be absent or empty. et, prf, uiv and uiv_update call the primitives; relay,
// relay_originate and client_originate run CgoDirection in its key arena, the code circuits run.
// A key this runner does not know is refused by name ("comment" aside), never skipped.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "engine/suite/cgo/cgo_direction.h"
#include "engine/suite/cgo/cgo_et.h"
#include "engine/suite/cgo/cgo_prf.h"
#include "engine/suite/cgo/cgo_uiv.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

using Bytes = std::vector<unsigned char>;
using Json = nlohmann::json;

constexpr size_t kMaxHops = 8;

// STATE = {"k": HEX64, "n": HEX16, "tprime": HEX16}
struct State {
  Bytes k, n, tprime;
};

// Reading fields: every error names the entry and the field ("relay[3].msg: ...").
class Reader {
 public:
  Reader(const Json& object, std::string where, std::string& error)
      : object_(object), where_(std::move(where)), error_(error) {}

  const std::string& where() const { return where_; }

  // Refuses keys outside `known` (and "comment").
  bool OnlyKeys(std::initializer_list<const char*> known) {
    if (!object_.is_object()) return Fail("", "is not an object");
    for (const auto& item : object_.items()) {
      const std::string& key = item.key();
      if (key == "comment") continue;
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        return Fail("", "has an unknown key \"" + key + "\"");
      }
    }
    return true;
  }

  // A hex string of exactly `size` bytes (size 0: any length).
  bool Hex(const char* key, size_t size, Bytes& out) {
    std::string inner;
    if (!HexField(object_, key, out, inner)) return Fail(key, "missing, not a string or not hex");
    if (size != 0 && out.size() != size) {
      return Fail(key,
                  "expected " + std::to_string(size) + " bytes, got " + std::to_string(out.size()));
    }
    return true;
  }

  bool Bool(const char* key, bool& out) {
    if (!object_.contains(key) || !object_[key].is_boolean()) {
      return Fail(key, "missing or not true/false");
    }
    out = object_[key].get<bool>();
    return true;
  }

  bool Int(const char* key, int64_t lo, int64_t hi, int64_t& out) {
    if (!object_.contains(key) || !object_[key].is_number_integer() ||
        object_[key].get<int64_t>() < lo || object_[key].get<int64_t>() > hi) {
      return Fail(key,
                  "missing or not an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    out = object_[key].get<int64_t>();
    return true;
  }

  bool Cmd(uint8_t& out) {
    int64_t v;
    if (!Int("cmd", 0, 255, v)) return false;
    out = uint8_t(v);
    return true;
  }

  // A STATE object.
  bool StateField(const char* key, State& out);

  const Json& operator[](const char* key) const { return object_[key]; }
  bool Has(const char* key) const { return object_.contains(key); }

  bool Fail(const std::string& key, const std::string& what) {
    error_ = where_ + (key.empty() ? "" : "." + key) + ": " + what;
    return false;
  }

 private:
  const Json& object_;
  const std::string where_;
  std::string& error_;
};

bool ReadState(const Json& object, const std::string& where, State& out, std::string& error) {
  Reader r(object, where, error);
  return r.OnlyKeys({"k", "n", "tprime"}) && r.Hex("k", kCgoKeyBytes, out.k) &&
         r.Hex("n", kCgoNonceBytes, out.n) && r.Hex("tprime", kCgoTagBytes, out.tprime);
}

bool Reader::StateField(const char* key, State& out) {
  if (!object_.contains(key)) return Fail(key, "missing");
  return ReadState(object_[key], where_ + "." + key, out, error_);
}

template <size_t N>
std::span<const uint8_t, N> Fixed(const Bytes& b) {
  return std::span<const uint8_t, N>(b.data(), N);
}

Bytes Join(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

// A direction in `state`, in CgoDirection's arena; empty when the arena has no memory left.
CgoDirectionBox MakeDirection(const State& state) {
  return MakeInArena<CgoDirection>(CgoDirection::Arena(), Fixed<kCgoKeyBytes>(state.k),
                                   Fixed<kCgoNonceBytes>(state.n),
                                   Fixed<kCgoTagBytes>(state.tprime));
}

// Which parts of a direction's state differ from `expect` ("" if none).
std::string StateDiff(const CgoDirection& d, const State& expect) {
  std::string diff;
  auto check = [&](std::span<const uint8_t> got, const Bytes& want, const char* name) {
    if (!std::equal(got.begin(), got.end(), want.begin(), want.end())) {
      diff += diff.empty() ? name : std::string(", ") + name;
    }
  };
  check(d.keys(), expect.k, "k");
  check(d.nonce(), expect.n, "n");
  check(d.tprime(), expect.tprime, "tprime");
  return diff;
}

void Record(KatTally& tally, const std::string& where, const std::string& diff) {
  diff.empty() ? tally.Pass() : tally.Fail(where + ": wrong " + diff);
}

// et: {"encrypt", "keys": HEX32, "tweak": HEX510, "block": HEX16, "expect": HEX16}
bool RunEt(const Json& e, const std::string& where, KatTally& tally, std::string& error) {
  Reader r(e, where, error);
  bool encrypt;
  Bytes keys, tweak, block, expect;
  if (!r.OnlyKeys({"encrypt", "keys", "tweak", "block", "expect"}) || !r.Bool("encrypt", encrypt) ||
      !r.Hex("keys", kCgoEtKeyBytes, keys) || !r.Hex("tweak", kCgoEtTweakBytes, tweak) ||
      !r.Hex("block", kCgoBlockBytes, block) || !r.Hex("expect", kCgoBlockBytes, expect)) {
    return false;
  }
  const CgoEt et(Fixed<kCgoEtKeyBytes>(keys));
  const std::span<uint8_t, kCgoBlockBytes> b(block.data(), kCgoBlockBytes);
  if (encrypt) {
    et.Encrypt(Fixed<kCgoEtTweakBytes>(tweak), b);
  } else {
    et.Decrypt(Fixed<kCgoEtTweakBytes>(tweak), b);
  }
  Record(tally, where + (encrypt ? " (encrypt)" : " (decrypt)"), block == expect ? "" : "block");
  return true;
}

// prf: {"keys": HEX32, "t": 0|1, "input": HEX16, "expect": HEX (493 bytes for t = 0)}
bool RunPrf(const Json& e, const std::string& where, KatTally& tally, std::string& error) {
  Reader r(e, where, error);
  int64_t t;
  Bytes keys, input, expect;
  if (!r.OnlyKeys({"keys", "t", "input", "expect"}) || !r.Hex("keys", kCgoPrfKeyBytes, keys) ||
      !r.Int("t", 0, 1, t) || !r.Hex("input", kCgoBlockBytes, input) ||
      !r.Hex("expect", t == 0 ? kCgoPrfT0Bytes : 0, expect)) {
    return false;
  }
  if (t == 1 && (expect.empty() || expect.size() > kCgoPrfT1MaxBytes)) {
    return r.Fail("expect", "a t = 1 stream is 1.." + std::to_string(kCgoPrfT1MaxBytes) + " bytes");
  }
  const CgoPrf prf(Fixed<kCgoPrfKeyBytes>(keys));
  Bytes got(expect.size(), 0);
  if (t == 0) {
    prf.XorT0(Fixed<kCgoBlockBytes>(input),
              std::span<uint8_t, kCgoPrfT0Bytes>(got.data(), kCgoPrfT0Bytes));
  } else {
    prf.GenT1(Fixed<kCgoBlockBytes>(input), got);
  }
  Record(tally, where + " (t = " + std::to_string(t) + ")", got == expect ? "" : "stream");
  return true;
}

// uiv: {"encrypt", "keys": HEX64, "tweak": HEX17 (H | cmd), "x_l", "x_r", "y_l", "y_r"}
bool RunUiv(const Json& e, const std::string& where, KatTally& tally, std::string& error) {
  Reader r(e, where, error);
  bool encrypt;
  Bytes keys, tweak, x_l, x_r, y_l, y_r;
  if (!r.OnlyKeys({"encrypt", "keys", "tweak", "x_l", "x_r", "y_l", "y_r"}) ||
      !r.Bool("encrypt", encrypt) || !r.Hex("keys", kCgoKeyBytes, keys) ||
      !r.Hex("tweak", kCgoBlockBytes + 1, tweak) || !r.Hex("x_l", kCgoBlockBytes, x_l) ||
      !r.Hex("x_r", kCgoRightBytes, x_r) || !r.Hex("y_l", kCgoBlockBytes, y_l) ||
      !r.Hex("y_r", kCgoRightBytes, y_r)) {
    return false;
  }
  const CgoUiv uiv(Fixed<kCgoKeyBytes>(keys));
  Bytes body = Join(x_l, x_r);
  const CellBody cell(body.data(), kCellBodyBytes);
  const auto h = Fixed<kCgoBlockBytes>(tweak);
  if (encrypt) {
    uiv.Encrypt(h, tweak[kCgoBlockBytes], cell);
  } else {
    uiv.Decrypt(h, tweak[kCgoBlockBytes], cell);
  }
  Record(tally, where + (encrypt ? " (encrypt)" : " (decrypt)"),
         body == Join(y_l, y_r) ? "" : "body");
  return true;
}

// uiv_update: {"keys": HEX64, "nonce": HEX16, "new_keys": HEX64, "new_nonce": HEX16}
bool RunUivUpdate(const Json& e, const std::string& where, KatTally& tally, std::string& error) {
  Reader r(e, where, error);
  Bytes keys, nonce, new_keys, new_nonce;
  if (!r.OnlyKeys({"keys", "nonce", "new_keys", "new_nonce"}) ||
      !r.Hex("keys", kCgoKeyBytes, keys) || !r.Hex("nonce", kCgoNonceBytes, nonce) ||
      !r.Hex("new_keys", kCgoKeyBytes, new_keys) ||
      !r.Hex("new_nonce", kCgoNonceBytes, new_nonce)) {
    return false;
  }
  CgoUiv uiv(Fixed<kCgoKeyBytes>(keys));
  uiv.Update(std::span<uint8_t, kCgoNonceBytes>(nonce.data(), kCgoNonceBytes));
  std::string diff;
  if (!std::equal(uiv.keys().begin(), uiv.keys().end(), new_keys.begin(), new_keys.end())) {
    diff = "keys";
  }
  if (nonce != new_nonce) diff += diff.empty() ? "nonce" : ", nonce";
  Record(tally, where, diff);
  return true;
}

// The body and state checks shared by the three direction tables.
std::string CellDiff(const Bytes& body, const Bytes& t_out, const Bytes& msg_out) {
  std::string diff;
  if (!std::equal(t_out.begin(), t_out.end(), body.begin())) diff = "t_out";
  if (!std::equal(msg_out.begin(), msg_out.end(), body.begin() + kCgoTagBytes)) {
    diff += diff.empty() ? "msg_out" : ", msg_out";
  }
  return diff;
}

std::string Also(std::string a, const std::string& b) {
  if (b.empty()) return a;
  return a.empty() ? b : a + ", " + b;
}

// relay: {"inbound", "state", "cmd", "tag": HEX16, "msg": HEX493, "new_state", "t_out", "msg_out"}
bool RunRelay(const Json& e, const std::string& where, KatTally& tally, std::string& error) {
  Reader r(e, where, error);
  bool inbound;
  uint8_t cmd;
  State state, new_state;
  Bytes tag, msg, t_out, msg_out;
  if (!r.OnlyKeys({"inbound", "state", "cmd", "tag", "msg", "new_state", "t_out", "msg_out"}) ||
      !r.Bool("inbound", inbound) || !r.Cmd(cmd) || !r.Hex("tag", kCgoTagBytes, tag) ||
      !r.Hex("msg", kCgoRightBytes, msg) || !r.Hex("t_out", kCgoTagBytes, t_out) ||
      !r.Hex("msg_out", kCgoRightBytes, msg_out) || !r.StateField("state", state) ||
      !r.StateField("new_state", new_state)) {
    return false;
  }
  const std::string what = where + (inbound ? " (inbound)" : " (outbound)");
  CgoDirectionBox d = MakeDirection(state);
  if (!d) {
    tally.Fail(what + ": no locked memory for the direction");
    return true;
  }
  Bytes body = Join(tag, msg);
  const CellBody cell(body.data(), kCellBodyBytes);
  if (inbound) {
    d->RelayBackward(cell, cmd);
  } else {
    d->RelayForward(cell, cmd);  // Tor's vectors are all cells for a later hop
  }
  Record(tally, what, Also(CellDiff(body, t_out, msg_out), StateDiff(*d, new_state)));
  return true;
}

// relay_originate: {"state", "cmd", "msg": HEX493, "new_state", "t_out", "msg_out"}
bool RunRelayOriginate(const Json& e, const std::string& where, KatTally& tally,
                       std::string& error) {
  Reader r(e, where, error);
  uint8_t cmd;
  State state, new_state;
  Bytes msg, t_out, msg_out;
  if (!r.OnlyKeys({"state", "cmd", "msg", "new_state", "t_out", "msg_out"}) || !r.Cmd(cmd) ||
      !r.Hex("msg", kCgoRightBytes, msg) || !r.Hex("t_out", kCgoTagBytes, t_out) ||
      !r.Hex("msg_out", kCgoRightBytes, msg_out) || !r.StateField("state", state) ||
      !r.StateField("new_state", new_state)) {
    return false;
  }
  CgoDirectionBox d = MakeDirection(state);
  if (!d) {
    tally.Fail(where + ": no locked memory for the direction");
    return true;
  }
  Bytes body = Join(Bytes(kCgoTagBytes, 0), msg);
  d->RelayOriginate(CellBody(body.data(), kCellBodyBytes), cmd);
  Record(tally, where, Also(CellDiff(body, t_out, msg_out), StateDiff(*d, new_state)));
  return true;
}

// client_originate: {"hops": [STATE...], "target_hop": 1.., "cmd", "msg", "new_hops", "t_out",
// "msg_out"}: ClientOriginate on the target hop, ClientForward on the hops before it.
bool RunClientOriginate(const Json& e, const std::string& where, KatTally& tally,
                        std::string& error) {
  Reader r(e, where, error);
  uint8_t cmd;
  int64_t target;
  Bytes msg, t_out, msg_out;
  if (!r.OnlyKeys({"hops", "target_hop", "cmd", "msg", "new_hops", "t_out", "msg_out"}) ||
      !r.Cmd(cmd) || !r.Hex("msg", kCgoRightBytes, msg) || !r.Hex("t_out", kCgoTagBytes, t_out) ||
      !r.Hex("msg_out", kCgoRightBytes, msg_out)) {
    return false;
  }
  std::vector<State> hops, new_hops;
  for (auto [key, list] : {std::pair{"hops", &hops}, std::pair{"new_hops", &new_hops}}) {
    if (!r.Has(key) || !r[key].is_array() || r[key].empty() || r[key].size() > kMaxHops) {
      return r.Fail(key, "missing or not an array of 1.." + std::to_string(kMaxHops) + " states");
    }
    for (size_t i = 0; i < r[key].size(); ++i) {
      State s;
      if (!ReadState(r[key][i], where + "." + key + "[" + std::to_string(i) + "]", s, error)) {
        return false;
      }
      list->push_back(std::move(s));
    }
  }
  if (new_hops.size() != hops.size()) return r.Fail("new_hops", "not as long as hops");
  if (!r.Int("target_hop", 1, int64_t(hops.size()), target)) return false;

  std::vector<CgoDirectionBox> layers;
  for (const State& s : hops) {
    layers.push_back(MakeDirection(s));
    if (!layers.back()) {
      tally.Fail(where + ": no locked memory for the directions");
      return true;
    }
  }
  Bytes body = Join(Bytes(kCgoTagBytes, 0), msg);
  const CellBody cell(body.data(), kCellBodyBytes);
  layers[size_t(target) - 1]->ClientOriginate(cell, cmd);
  for (size_t i = size_t(target) - 1; i-- > 0;) layers[i]->ClientForward(cell, cmd);
  std::string diff = CellDiff(body, t_out, msg_out);
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string hop_diff = StateDiff(*layers[i], new_hops[i]);
    if (!hop_diff.empty()) diff = Also(diff, "hop " + std::to_string(i + 1) + " " + hop_diff);
  }
  Record(tally, where + " (target hop " + std::to_string(target) + ")", diff);
  return true;
}

using TableFn = bool (*)(const Json& entry, const std::string& where, KatTally& tally,
                         std::string& error);
struct Table {
  const char* name;
  TableFn run;
};
constexpr std::array<Table, 7> kTables = {{
    {"et", RunEt},
    {"prf", RunPrf},
    {"uiv", RunUiv},
    {"uiv_update", RunUivUpdate},
    {"relay", RunRelay},
    {"relay_originate", RunRelayOriginate},
    {"client_originate", RunClientOriginate},
}};

bool RunCgoFile(const Json& document, KatTally& tally, std::string& error) {
  if (!document.is_object()) {
    error = "top level is not an object";
    return false;
  }
  if (!document.contains("suite") || document["suite"] != "cgo") {
    error = "\"suite\" is missing or not \"cgo\"";
    return false;
  }
  if (document.contains("source") && !document["source"].is_string()) {
    error = "\"source\" is not a string";
    return false;
  }
  for (const auto& item : document.items()) {
    const std::string& key = item.key();
    const bool known =
        key == "suite" || key == "source" || key == "comment" ||
        std::any_of(kTables.begin(), kTables.end(), [&](const Table& t) { return key == t.name; });
    if (!known) {
      error = "unknown key \"" + key + "\"";
      return false;
    }
  }
  for (const Table& table : kTables) {
    if (!document.contains(table.name)) continue;
    const Json& entries = document[table.name];
    if (!entries.is_array()) {
      error = std::string("\"") + table.name + "\" is not an array";
      return false;
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string where = std::string(table.name) + "[" + std::to_string(i) + "]";
      if (!table.run(entries[i], where, tally, error)) return false;
    }
  }
  return true;
}

const bool registered = RegisterKatKind(
    {"cgo", "Counter Galois Onion (prop 359): et, prf, uiv, uiv_update, relay, originate tables",
     RunCgoFile});

}  // namespace
}  // namespace relaycell::tools
