// `relaycell bench rekey`: what RELAY_REKEY costs.
//   rekey.enforcement_overhead  % slower a relay's peel loop is with the rekey enforcer on than
//                               off (same run, same cells; on/off interleaved, medians)
//   rekey.switch                one rekey at a relay: SHAKE256 KDF + both directions' key
//                               setup + wiping the derived material
//   rekey.client_overhead_2p15  % of a client's originate time spent rekeying when every hop
//                               rekeys each 2^15 cells (the first threshold)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <vector>

#include <sodium.h>

#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/aez_layer.h"
#include "engine/common/kdf.h"
#include "engine/rekey/rekey_config.h"
#include "tools/bench.h"
#include "engine/suite/suite_registry.h"

namespace relaycell::tools {
namespace {

using Cell = std::array<uint8_t, kCellBytes>;
constexpr uint32_t kBaseId = 700;

// Thresholds the bench never reaches, so the enforced loop runs its steady-state branch.
RekeyConfig FarThresholds() {
  RekeyConfig config;
  config.first = uint64_t{1} << 36;
  config.interval = uint64_t{1} << 36;
  return config;
}

std::vector<uint8_t> Seed(int hop) { return std::vector<uint8_t>(32, uint8_t(0x30 + hop)); }

// A middle relay peeling cells it does not recognize (they go on to the next hop).
double PeelNs(RelayCircuit& relay, double min_time_s) {
  Cell cell{};
  for (size_t i = 0; i < cell.size(); ++i) cell[i] = uint8_t(i * 7 + 3);
  return NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          WriteCellHeader(kBaseId, CellCommand::kRelay, cell);
          DoNotOptimize(relay.HandleForward(cell).outcome);
        }
      },
      min_time_s);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double EnforcementOverheadPercent(const BenchConfig& config) {
  const std::vector<uint8_t> seed = Seed(1);
  RelayCircuit on, off;
  if (RelayCircuit::Create(AezCellSuite(), seed, kBaseId, kBaseId + 1, FarThresholds(),
                           RekeyEnforcer::Mode::kEnforce, on) != SuiteError::kOk ||
      RelayCircuit::Create(AezCellSuite(), seed, kBaseId, kBaseId + 1, FarThresholds(),
                           RekeyEnforcer::Mode::kDisabled, off) != SuiteError::kOk) {
    return 0;
  }
  const int rounds = config.quick ? 3 : 7;
  const double slice = config.min_time_s / 2;
  std::vector<double> on_ns, off_ns;
  for (int r = 0; r < rounds; ++r) {  // interleaved so drift hits both alike
    if (r % 2 == 0) {
      on_ns.push_back(PeelNs(on, slice));
      off_ns.push_back(PeelNs(off, slice));
    } else {
      off_ns.push_back(PeelNs(off, slice));
      on_ns.push_back(PeelNs(on, slice));
    }
  }
  return (Median(on_ns) / Median(off_ns) - 1) * 100;
}

double SwitchNs(const BenchConfig& config) {
  const std::vector<uint8_t> seed = Seed(2);
  RelayCircuit relay;
  if (RelayCircuit::Create(AezCellSuite(), seed, kBaseId, 0, relay) != SuiteError::kOk) return 0;
  CellLayer& forward = relay.layer(true);
  CellLayer& backward = relay.layer(false);
  std::array<uint8_t, 32> rekey_data{};
  randombytes_buf(rekey_data.data(), rekey_data.size());
  return NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          alignas(16) uint8_t material[kKdfOutputBytes];
          (void)forward.DeriveRekeyMaterial(rekey_data, material);
          forward.InstallRekeyMaterial(material);
          backward.InstallRekeyMaterial(material);
          sodium_memzero(material, sizeof material);
          rekey_data[0] = uint8_t(i);
        }
      },
      config.min_time_s);
}

// A 3-hop client circuit with its relays (min_spacing off so rekeys can be timed back to back).
struct Path {
  ClientCircuit client;
  std::array<RelayCircuit, 3> relays;
  bool ok = false;
  explicit Path(const RekeyConfig& config) {
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 0; h < 3; ++h) seeds.push_back(Seed(h + 1));
    for (auto& s : seeds) views.emplace_back(s);
    if (ClientCircuit::Create(AezCellSuite(), kBaseId, views, config, client) != SuiteError::kOk)
      return;
    for (int h = 0; h < 3; ++h) {
      if (RelayCircuit::Create(AezCellSuite(), seeds[size_t(h)], kBaseId + uint32_t(h),
                               h < 2 ? kBaseId + uint32_t(h) + 1 : 0, config,
                               RekeyEnforcer::Mode::kEnforce,
                               relays[size_t(h)]) != SuiteError::kOk) {
        return;
      }
    }
    ok = true;
  }
};

// The client's own work for one rekey of hop `hop`: PollControlCell (KDF, REKEY cell through
// the layers, forward switch) plus Receive of the ACK (old-key decipher, backward switch).
double ClientRekeyNs(const BenchConfig& config) {
  RekeyConfig rekey = FarThresholds();
  rekey.min_spacing = 0;
  Path path(rekey);
  if (!path.ok) return 0;
  using Clock = std::chrono::steady_clock;
  const int count = config.quick ? 300 : 2000;
  double best = 1e300;
  for (int repeat = 0; repeat < 3; ++repeat) {
    Clock::duration client_time{};
    for (int i = 0; i < count; ++i) {
      const int hop = i % 3 + 1;
      Cell cell{};
      path.client.RequestRekey(hop);
      auto t0 = Clock::now();
      if (!path.client.PollControlCell(cell)) return 0;
      client_time += Clock::now() - t0;
      for (int h = 0; h < hop; ++h) path.relays[size_t(h)].HandleForward(cell);
      if (!path.relays[size_t(hop - 1)].PollControlCell(cell)) return 0;
      for (int h = hop - 2; h >= 0; --h) path.relays[size_t(h)].HandleBackward(cell);
      t0 = Clock::now();
      DoNotOptimize(path.client.Receive(cell).outcome);
      client_time += Clock::now() - t0;
    }
    best = std::min(best, std::chrono::duration<double, std::nano>(client_time).count() / count);
  }
  return best;
}

double OriginateNs(const BenchConfig& config) {
  Path path(FarThresholds());
  if (!path.ok) return 0;
  std::array<uint8_t, kCellBodyBytes> payload{};
  payload[8] = 0x01;
  payload[9] = 0xf2;
  payload[10] = 2;
  Cell cell{};
  return NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          DoNotOptimize(path.client.OriginatePayload(3, payload, false, cell));
        }
      },
      config.min_time_s);
}

void RunRekeyBench(const BenchConfig& config, std::vector<BenchResult>& results) {
  const double overhead = EnforcementOverheadPercent(config);
  results.push_back({"rekey.enforcement_overhead",
                     overhead,
                     "%",
                     {},
                     "relay peel loop, enforcer on vs off, medians of interleaved runs"});
  results.push_back({"rekey.switch",
                     SwitchNs(config),
                     "ns",
                     {},
                     "one relay rekey: SHAKE256 KDF + both directions' key setup + wipe"});
  const double rekey_ns = ClientRekeyNs(config);
  const double originate_ns = OriginateNs(config);
  // Each hop rekeys once per 2^15 cells it carries; a cell to hop 3 is carried by all three
  // hops, so per 2^15 such cells the client runs three rekeys.
  const double cells = double(uint64_t{1} << 15);
  const double percent = 100 * 3 * rekey_ns / (3 * rekey_ns + cells * originate_ns);
  results.push_back({"rekey.client_overhead_2p15",
                     percent,
                     "%",
                     {},
                     "client rekey work / (rekey + originate) time, cells to hop 3 of 3"});
}

const bool registered =
    RegisterBenchGroup({"rekey", "RELAY_REKEY: enforcement overhead, switch cost, client overhead",
                        RunRekeyBench, 40});

}  // namespace
}  // namespace relaycell::tools
