// Google Benchmark view of the DSKE crypto: Shamir split/combine (64 KiB, k = 3, n = 5) and the
// WC MAC over one 498-byte message. `relaycell bench dske` is the summary with baselines.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <array>
#include <vector>

#include "engine/dske/sss.h"
#include "engine/dske/wc_mac.h"

namespace {

constexpr size_t kSecretBytes = 64 * 1024;

void BM_SssSplitK3N5(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init");
  std::vector<uint8_t> secret(kSecretBytes, 0x42);
  std::vector<std::vector<uint8_t>> shares(5, std::vector<uint8_t>(kSecretBytes));
  std::vector<uint8_t*> pointers;
  for (auto& s : shares) pointers.push_back(s.data());
  relaycell::sss::Splitter splitter;
  for (auto _ : state) {
    splitter.Split(secret, 3, pointers);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kSecretBytes);
}
BENCHMARK(BM_SssSplitK3N5);

void BM_SssCombineK3(benchmark::State& state) {
  std::vector<std::vector<uint8_t>> shares(3, std::vector<uint8_t>(kSecretBytes, 7));
  const uint8_t xs[3] = {1, 3, 5};
  const uint8_t* ys[3] = {shares[0].data(), shares[1].data(), shares[2].data()};
  std::vector<uint8_t> out(kSecretBytes);
  for (auto _ : state) {
    relaycell::sss::Combine(xs, ys, out);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kSecretBytes);
}
BENCHMARK(BM_SssCombineK3);

void BM_WcMac498(benchmark::State& state) {
  std::array<uint8_t, relaycell::wc_mac::kKeyBytes> key{};
  std::array<uint8_t, 498> message{};
  std::array<uint8_t, relaycell::wc_mac::kTagBytes> tag;
  const std::span<const uint8_t> header(message.data(), 39), body(message.data() + 39, 443);
  for (auto _ : state) {
    relaycell::wc_mac::ComputeTag(key, header, body, tag);
    benchmark::DoNotOptimize(tag);
  }
}
BENCHMARK(BM_WcMac498);

}  // namespace
