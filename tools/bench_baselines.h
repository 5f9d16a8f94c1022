// Baselines and inputs that several `relaycell bench` groups share, so every group measures a
// peer the same way.
#ifndef RELAYCELL_TOOLS_BENCH_BASELINES_H_
#define RELAYCELL_TOOLS_BENCH_BASELINES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace relaycell::tools {

// Deterministic filler for benchmark inputs (not secrets).
std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed);

// ns per AES-128-CTR of `bytes` through intel-ipsec-mb's job API, one message at a time (the
// tor1 cipher's cost; `ipsec_mb.aes128_ctr_509` with bytes = 509).
double IpsecMbAes128CtrNs(size_t bytes, double min_time_s);

// The same as a body for NsPerOp / NsPerOpInterleaved: Run(n) encrypts n messages.
class IpsecMbAes128Ctr {
 public:
  explicit IpsecMbAes128Ctr(size_t bytes);
  ~IpsecMbAes128Ctr();
  IpsecMbAes128Ctr(const IpsecMbAes128Ctr&) = delete;
  IpsecMbAes128Ctr& operator=(const IpsecMbAes128Ctr&) = delete;
  void Run(size_t n);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace relaycell::tools

#endif  // RELAYCELL_TOOLS_BENCH_BASELINES_H_
