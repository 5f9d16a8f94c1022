// `relaycell bench aez`: AEZ v5 encipher, one message at a time and in batches under different
// keys, against ipsec-mb's AES-128-CTR of a 509-byte cell measured in the same run.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/aez/aez.h"
#include "engine/suite/relay_format.h"
#include "tools/bench.h"
#include "tools/bench_baselines.h"

namespace relaycell::tools {
namespace {

constexpr size_t kBatch = 16;
constexpr size_t kLongBytes = 4096;

std::unique_ptr<AezKey> MakeKey(uint64_t seed) {
  const auto raw = RandomBytes(kAezKeyBytes, seed);
  return std::make_unique<AezKey>(std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes));
}

// Run(n) enciphers one message n times in place (each call reads the last one's output).
struct EncipherWorkload {
  const AezKey& key;
  std::vector<uint8_t> delta, buffer;
  EncipherWorkload(const AezKey& k, size_t bytes)
      : key(k), delta(RandomBytes(16, 11)), buffer(RandomBytes(bytes, 12)) {}
  void Run(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      AezEncipher(key, std::span<const uint8_t, 16>(delta.data(), 16), buffer, buffer);
    }
    DoNotOptimize(buffer[0]);
  }
};

// AES block-rounds of AEZ-core on `bytes` (>= 32), as kernels/aez_core_*.cc issue them: five
// AES4 per 32-byte pair (two in pass 1, three in pass 2); for each fragment block an AES4 in,
// an AES10 pad and an AES4 out; AES4 of Xy and of Cy; the middle AES10 and Cy's AES10.
size_t AezCoreBlockRounds(size_t bytes) {
  const size_t pairs = (bytes - 32) / 32, fragment = bytes - 32 - 32 * pairs;
  const size_t fragment_blocks = (fragment > 0 ? 1 : 0) + (fragment >= 16 ? 1 : 0);
  return 20 * pairs + 18 * fragment_blocks + 28;
}

std::string FloorNote(double ns, double floor_ns) {
  char text[48];
  std::snprintf(text, sizeof text, "%.2fx the floor", ns / floor_ns);
  return text;
}

void BenchAez(const BenchConfig& config, std::vector<BenchResult>& results) {
  const auto key = MakeKey(1);
  EncipherWorkload cell(*key, kCellBodyBytes), long_message(*key, kLongBytes);
  std::vector<std::unique_ptr<AezKey>> keys;
  std::vector<std::vector<uint8_t>> cells, deltas;
  std::vector<AezBatchJob> jobs;
  for (size_t i = 0; i < kBatch; ++i) {
    keys.push_back(MakeKey(100 + i));
    cells.push_back(RandomBytes(kCellBodyBytes, 200 + i));
    deltas.push_back(RandomBytes(16, 300 + i));
  }
  for (size_t i = 0; i < kBatch; ++i) {
    jobs.push_back(
        {keys[i].get(), deltas[i].data(), cells[i].data(), cells[i].data(), kCellBodyBytes});
  }
  IpsecMbAes128Ctr ctr(kCellBodyBytes), ctr_long(kLongBytes);
  AesRoundsWorkload rounds;
  // Ours and the baselines in alternation, so the ratios survive this machine's noise.
  const std::vector<double> ns =
      NsPerOpInterleaved({[&](size_t n) { cell.Run(n); },
                          [&](size_t n) {
                            for (size_t i = 0; i < n; ++i) AezEncipherBatch(jobs);
                            DoNotOptimize(cells[0][0]);
                          },
                          [&](size_t n) { long_message.Run(n); }, [&](size_t n) { ctr.Run(n); },
                          [&](size_t n) { ctr_long.Run(n); }, [&](size_t n) { rounds.Run(n); }},
                         config.min_time_s * 4);
  const double cell_ns = ns[0], batch_ns = ns[1] / double(kBatch), long_ns = ns[2];
  const double ctr_ns = ns[3], ctr_long_ns = ns[4];
  // The floor: AEZ-core's block-rounds at the AES-round kernel's own rate, what AEZ would cost
  // if nothing but the AES units mattered.
  const double rounds_per_ns = AesRoundsWorkload::kBlockRounds / ns[5];
  const double floor_ns = double(AezCoreBlockRounds(kCellBodyBytes)) / rounds_per_ns;
  const double floor_long_ns = double(AezCoreBlockRounds(kLongBytes)) / rounds_per_ns;

  char note[160];
  std::snprintf(note, sizeof note, "AES-128-CTR 509 B = %.1f ns; %s", ctr_ns,
                FloorNote(cell_ns, floor_ns).c_str());
  results.push_back(
      {"aez.encipher_509", cell_ns, "ns", {{"ipsec_mb.aes128_ctr_509", ctr_ns / cell_ns}}, note});
  results.push_back({"aez.encipher_509_batch",
                     batch_ns,
                     "ns",
                     {{"ipsec_mb.aes128_ctr_509", ctr_ns / batch_ns}},
                     "per message, 16 messages under 16 keys; " + FloorNote(batch_ns, floor_ns)});
  std::snprintf(note, sizeof note, "AES-128-CTR 4096 B = %.1f ns; %s", ctr_long_ns,
                FloorNote(long_ns, floor_long_ns).c_str());
  results.push_back({"aez.encipher_4096",
                     long_ns * TscTicksPerNs() / double(kLongBytes),
                     "cpb",
                     {{"ipsec_mb.aes128_ctr_4096", ctr_long_ns / long_ns}},
                     note});
  std::snprintf(note, sizeof note,
                "%zu AEZ-core block-rounds of a 509-byte cell at %.2f block-rounds/ns",
                AezCoreBlockRounds(kCellBodyBytes), rounds_per_ns);
  results.push_back({"aez.floor", floor_ns, "ns", {}, note});
}

const bool registered = RegisterBenchGroup(
    {"aez", "AEZ v5 encipher: one cell, batches under many keys, 4 KiB", BenchAez, 20});

}  // namespace
}  // namespace relaycell::tools
