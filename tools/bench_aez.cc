// `relaycell bench aez`: AEZ v5 encipher, one message at a time and in batches under different
// keys, against ipsec-mb's AES-128-CTR of a 509-byte cell measured in the same run.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/aez.h"
#include "tools/bench.h"
#include "tools/bench_baselines.h"

namespace relaycell::tools {
namespace {

constexpr size_t kCellBytes = 509;
constexpr size_t kBatch = 16;
constexpr size_t kLongBytes = 4096;

std::unique_ptr<AezKey> MakeKey(uint64_t seed) {
  const auto raw = RandomBytes(kAezKeyBytes, seed);
  return std::make_unique<AezKey>(std::span<const uint8_t, kAezKeyBytes>(raw.data(), kAezKeyBytes));
}

double EncipherNs(const AezKey& key, size_t bytes, double min_time_s) {
  const auto delta = RandomBytes(16, 11);
  auto buffer = RandomBytes(bytes, 12);
  return NsPerOp(
      [&](size_t n) {
        for (size_t i = 0; i < n; ++i) {
          AezEncipher(key, std::span<const uint8_t, 16>(delta.data(), 16), buffer, buffer);
        }
        DoNotOptimize(buffer[0]);
      },
      min_time_s);
}

void BenchAez(const BenchConfig& config, std::vector<BenchResult>& results) {
  const double ctr_ns = IpsecMbAes128CtrNs(kCellBytes, config.min_time_s);
  const auto key = MakeKey(1);

  const double cell_ns = EncipherNs(*key, kCellBytes, config.min_time_s);
  char note[96];
  std::snprintf(note, sizeof note, "AES-128-CTR 509 B = %.1f ns", ctr_ns);
  results.push_back({"aez.encipher_509", cell_ns, "ns", {{"ipsec_mb.aes128_ctr_509", ctr_ns / cell_ns}}, note});

  std::vector<std::unique_ptr<AezKey>> keys;
  std::vector<std::vector<uint8_t>> cells, deltas;
  std::vector<AezBatchJob> jobs;
  for (size_t i = 0; i < kBatch; ++i) {
    keys.push_back(MakeKey(100 + i));
    cells.push_back(RandomBytes(kCellBytes, 200 + i));
    deltas.push_back(RandomBytes(16, 300 + i));
  }
  for (size_t i = 0; i < kBatch; ++i) {
    jobs.push_back({keys[i].get(), deltas[i].data(), cells[i].data(), cells[i].data(), kCellBytes});
  }
  const double batch_ns = NsPerOp(
                              [&](size_t n) {
                                for (size_t i = 0; i < n; ++i) AezEncipherBatch(jobs);
                                DoNotOptimize(cells[0][0]);
                              },
                              config.min_time_s) /
                          double(kBatch);
  results.push_back({"aez.encipher_509_batch", batch_ns, "ns",
                     {{"ipsec_mb.aes128_ctr_509", ctr_ns / batch_ns}},
                     "per message, 16 messages under 16 keys"});

  const double long_ns = EncipherNs(*key, kLongBytes, config.min_time_s);
  results.push_back({"aez.encipher_4096", long_ns * TscTicksPerNs() / double(kLongBytes), "cpb", {}, ""});
}

const bool registered = RegisterBenchGroup(
    {"aez", "AEZ v5 encipher: one cell, batches under many keys, 4 KiB", BenchAez, 20});

}  // namespace
}  // namespace relaycell::tools
