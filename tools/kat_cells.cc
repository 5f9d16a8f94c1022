// `relaycell kat cells FILE...`: cells run in order through one in-memory circuit (a client and
// its n relays). Format in docs/kat-cells.md.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "circuit/cell.h"
#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/rekey/rekey_error.h"
#include "engine/rekey/rekey_limits.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

constexpr uint32_t kFirstCircId = 100;  // client side of relay i is kFirstCircId + i

struct CellVector {
  int rekey = 0;  // > 0: a rekey event for this hop instead of a cell
  std::vector<unsigned char> rekey_data;
  std::vector<unsigned char> expect_ack;  // rekey: the ACK between hop 1 and the client
  bool forward = true;
  int hop = 0;
  bool early = false;
  std::vector<unsigned char> payload;
  std::vector<unsigned char> expect;  // empty: not checked
};

bool ReadCell(const nlohmann::json& entry, size_t index, size_t hops, CellVector& out,
              std::string& error) {
  const std::string where = "cells[" + std::to_string(index) + "]: ";
  if (!entry.is_object()) {
    error = where + "not an object";
    return false;
  }
  // Only the shapes this runner knows; anything else is refused by name, never skipped.
  static const std::array<const char*, 9> kKnown = {
      "dir", "hop", "early", "payload", "expect", "comment", "rekey", "rekey_data", "expect_ack"};
  for (const auto& item : entry.items()) {
    const std::string& key = item.key();
    if (std::find_if(kKnown.begin(), kKnown.end(), [&](const char* k) { return key == k; }) ==
        kKnown.end()) {
      error = where + "unsupported entry (unknown key \"" + key + "\")";
      return false;
    }
  }
  if (entry.contains("rekey")) {
    // {"rekey": K, "rekey_data": HEX32, "expect": HEX509?, "expect_ack": HEX509?}
    for (const char* cell_key : {"dir", "hop", "early", "payload"}) {
      if (entry.contains(cell_key)) {
        error = where + "a rekey event has no \"" + cell_key + "\"";
        return false;
      }
    }
    if (!entry["rekey"].is_number_integer() || entry["rekey"].get<int>() < 1 ||
        size_t(entry["rekey"].get<int>()) > hops) {
      error = where + "\"rekey\" must be an integer in 1..hops";
      return false;
    }
    out.rekey = entry["rekey"].get<int>();
    if (!HexField(entry, "rekey_data", out.rekey_data, error) ||
        out.rekey_data.size() != kRekeyDataBytes) {
      error = where + (error.empty() ? "rekey_data must be 32 bytes" : error);
      return false;
    }
    for (auto [key, field] :
         {std::pair{"expect", &out.expect}, std::pair{"expect_ack", &out.expect_ack}}) {
      if (!entry.contains(key)) continue;
      if (!HexField(entry, key, *field, error) || field->size() != kCellBodyBytes) {
        error = where + (error.empty() ? std::string(key) + " must be 509 bytes" : error);
        return false;
      }
    }
    return true;
  }
  if (entry.contains("rekey_data") || entry.contains("expect_ack")) {
    error = where + "\"rekey_data\" and \"expect_ack\" belong to a rekey event";
    return false;
  }
  if (entry.contains("dir")) {
    const std::string dir = entry["dir"].is_string() ? entry["dir"].get<std::string>() : "";
    if (dir != "forward" && dir != "backward") {
      error = where + "\"dir\" must be \"forward\" or \"backward\"";
      return false;
    }
    out.forward = dir == "forward";
  }
  if (!entry.contains("hop") || !entry["hop"].is_number_integer() || entry["hop"].get<int>() < 1 ||
      size_t(entry["hop"].get<int>()) > hops) {
    error = where + "\"hop\" must be an integer in 1..hops";
    return false;
  }
  out.hop = entry["hop"].get<int>();
  if (entry.contains("early")) {
    if (!entry["early"].is_boolean()) {
      error = where + "\"early\" must be a boolean";
      return false;
    }
    out.early = entry["early"].get<bool>();
  }
  if (!HexField(entry, "payload", out.payload, error)) {
    error = where + error;
    return false;
  }
  if (out.payload.size() != kCellBodyBytes) {
    error = where + "payload must be 509 bytes";
    return false;
  }
  if (entry.contains("expect")) {
    if (!HexField(entry, "expect", out.expect, error) || out.expect.size() != kCellBodyBytes) {
      error = where + (error.empty() ? "expect must be 509 bytes" : error);
      return false;
    }
  }
  return true;
}

// The delivered payload must be the one sent, but for the bytes the layer owns (tor1's digest).
bool SamePayload(const RelayFormat& format, std::span<const uint8_t> got,
                 const std::vector<unsigned char>& want) {
  for (size_t i = 0; i < kCellBodyBytes; ++i) {
    if (i >= format.layer_begin && i < format.layer_end) continue;
    if (got[i] != want[i]) return false;
  }
  return true;
}

// A rekey event: the client sends REKEY(1) with the given data to hop K, hop K answers with the
// ACK, both switch. Link bytes are checked against expect / expect_ack when given.
void RunRekey(const CellVector& v, const std::string& name, ClientCircuit& client,
              std::vector<RelayCircuit>& relays, KatTally& tally) {
  std::array<uint8_t, kCellBytes> cell{};
  const auto matches = [&](const std::vector<unsigned char>& want) {
    return want.empty() ||
           std::memcmp(CellPayload(CellBytes(cell)).data(), want.data(), kCellBodyBytes) == 0;
  };
  const std::span<const uint8_t, kRekeyDataBytes> data(v.rekey_data.data(), kRekeyDataBytes);
  const RekeyError started = client.StartRekeyWithData(v.rekey, data, cell);
  if (started != RekeyError::kNone) {
    tally.Fail(name + ": client could not start the rekey (" + RekeyErrorName(started) + ")");
    return;
  }
  if (!matches(v.expect)) {
    tally.Fail(name + ": REKEY between client and hop 1 differs from expect");
    return;
  }
  for (int i = 0; i < v.rekey; ++i) {
    const CellResult r = relays[size_t(i)].HandleForward(cell);
    const CellOutcome want = i + 1 == v.rekey ? CellOutcome::kIgnored : CellOutcome::kForward;
    if (r.outcome != want) {
      tally.Fail(name + ": relay " + std::to_string(i + 1) + " did not " +
                 (want == CellOutcome::kIgnored ? "accept the REKEY" : "pass it on") + " (" +
                 ProtocolErrorName(r.error) + ")");
      return;
    }
  }
  if (!relays[size_t(v.rekey - 1)].PollControlCell(cell)) {
    tally.Fail(name + ": hop did not answer with an ACK");
    return;
  }
  for (int i = v.rekey - 2; i >= 0; --i) {
    if (relays[size_t(i)].HandleBackward(cell).outcome != CellOutcome::kForward) {
      tally.Fail(name + ": relay " + std::to_string(i + 1) + " did not pass the ACK on");
      return;
    }
  }
  if (!matches(v.expect_ack)) {
    tally.Fail(name + ": ACK between hop 1 and client differs from expect_ack");
    return;
  }
  const CellResult r = client.Receive(cell);
  if (r.outcome != CellOutcome::kIgnored || r.hop != v.rekey ||
      client.hop_rekey(v.rekey).state() != ClientRekeyState::kIdle) {
    tally.Fail(name + ": client did not take the ACK (" + ProtocolErrorName(r.error) + ")");
    return;
  }
  tally.Pass();
}

bool RunCellsFile(const nlohmann::json& document, KatTally& tally, std::string& error) {
  if (!document.is_object() || !document.contains("suite") || !document["suite"].is_string() ||
      !document.contains("hops") || !document["hops"].is_array() || !document.contains("cells") ||
      !document["cells"].is_array()) {
    error = "need an object with \"suite\", \"hops\" and \"cells\"";
    return false;
  }
  const std::string suite_name = document["suite"].get<std::string>();
  const CellSuite* suite = FindSuite(suite_name);
  if (suite == nullptr) {
    error = "unknown suite \"" + suite_name + "\"";
    return false;
  }
  const size_t hops = document["hops"].size();
  if (hops < 1 || hops > size_t(kMaxHops)) {
    error = "\"hops\" needs 1..8 key seeds";
    return false;
  }
  std::vector<std::vector<unsigned char>> seeds(hops);
  std::vector<std::span<const uint8_t>> seed_views;
  for (size_t i = 0; i < hops; ++i) {
    const nlohmann::json& h = document["hops"][i];
    if (!h.is_string() || !DecodeHex(h.get<std::string>(), seeds[i])) {
      error = "hops[" + std::to_string(i) + "] is not a hex string";
      return false;
    }
    seed_views.emplace_back(seeds[i]);
  }
  std::vector<CellVector> cells(document["cells"].size());
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!ReadCell(document["cells"][i], i, hops, cells[i], error)) return false;
  }

  // Default thresholds, but no min_spacing: rekey events may follow each other closely so
  // vector files stay short (the limit itself is tested in tests/rekey_circuit_test.cc).
  RekeyConfig rekey_config;
  rekey_config.min_spacing = 0;
  ClientCircuit client;
  SuiteError made = ClientCircuit::Create(*suite, kFirstCircId, seed_views, rekey_config, client);
  std::vector<RelayCircuit> relays(hops);
  for (size_t i = 0; i < hops && made == SuiteError::kOk; ++i) {
    made = RelayCircuit::Create(*suite, seeds[i], kFirstCircId + uint32_t(i),
                                i + 1 < hops ? kFirstCircId + uint32_t(i) + 1 : 0, rekey_config,
                                RekeyEnforcer::Mode::kEnforce, relays[i]);
  }
  for (auto& s : seeds) sodium_memzero(s.data(), s.size());
  if (made != SuiteError::kOk) {
    error = std::string("cannot build the circuit: ") + SuiteErrorName(made);
    return false;
  }

  const RelayFormat& layout = client.suite().relay_format();
  for (size_t index = 0; index < cells.size(); ++index) {
    const CellVector& v = cells[index];
    if (v.rekey > 0) {
      if (!client.is_open()) {
        tally.Fail("cell " + std::to_string(index) + " rekey: the circuit is closed");
        continue;
      }
      RunRekey(v, "cell " + std::to_string(index) + " rekey hop " + std::to_string(v.rekey), client,
               relays, tally);
      continue;
    }
    const std::string name = "cell " + std::to_string(index) +
                             (v.forward ? " forward" : " backward") + " hop " +
                             std::to_string(v.hop);
    std::array<uint8_t, kCellBytes> cell{};
    const std::span<const uint8_t, kCellBodyBytes> payload(v.payload.data(), kCellBodyBytes);
    const auto matches_expect = [&] {
      return v.expect.empty() ||
             std::memcmp(CellPayload(CellBytes(cell)).data(), v.expect.data(), kCellBodyBytes) == 0;
    };
    if (v.forward) {
      if (client.OriginatePayload(v.hop, payload, v.early, cell) != OriginateError::kOk) {
        tally.Fail(name + ": client could not originate");
        continue;
      }
      if (!matches_expect()) {
        tally.Fail(name + ": cell between client and hop 1 differs from expect");
        continue;
      }
      bool ok = true;
      for (int i = 0; i < v.hop && ok; ++i) {
        const CellResult r = relays[size_t(i)].HandleForward(cell);
        const CellOutcome want = i + 1 == v.hop ? CellOutcome::kDelivered : CellOutcome::kForward;
        if (r.outcome != want) {
          tally.Fail(name + ": relay " + std::to_string(i + 1) + " did not " +
                     (want == CellOutcome::kDelivered ? "deliver" : "pass on") + " the cell (" +
                     ProtocolErrorName(r.error) + ")");
          ok = false;
        }
      }
      if (!ok) continue;
      if (!SamePayload(layout, CellPayload(CellBytes(cell)), v.payload)) {
        tally.Fail(name + ": delivered payload differs");
        continue;
      }
    } else {
      if (relays[size_t(v.hop - 1)].OriginatePayload(payload, cell) != OriginateError::kOk) {
        tally.Fail(name + ": relay could not originate");
        continue;
      }
      bool ok = true;
      for (int i = v.hop - 2; i >= 0 && ok; --i) {
        if (relays[size_t(i)].HandleBackward(cell).outcome != CellOutcome::kForward) {
          tally.Fail(name + ": relay " + std::to_string(i + 1) + " did not pass the cell on");
          ok = false;
        }
      }
      if (!ok) continue;
      if (!matches_expect()) {
        tally.Fail(name + ": cell between hop 1 and client differs from expect");
        continue;
      }
      const CellResult r = client.Receive(cell);
      if (r.outcome != CellOutcome::kDelivered || r.hop != v.hop) {
        tally.Fail(name + ": client did not deliver it from hop " + std::to_string(v.hop) + " (" +
                   ProtocolErrorName(r.error) + ")");
        continue;
      }
      if (!SamePayload(layout, CellPayload(CellBytes(cell)), v.payload)) {
        tally.Fail(name + ": delivered payload differs");
        continue;
      }
    }
    tally.Pass();
  }
  return true;
}

const bool registered = RegisterKatKind(
    {"cells", "cells through an in-memory client + relays circuit (aez, tor1)", RunCellsFile});

}  // namespace
}  // namespace relaycell::tools
