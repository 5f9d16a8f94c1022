#include "tools/bench_baselines.h"

#include <intel-ipsec-mb.h>

#include <memory>
#include <random>

#include "tools/bench.h"

namespace relaycell::tools {
namespace {

struct MgrDeleter {
  void operator()(IMB_MGR* mgr) const { free_mb_mgr(mgr); }
};

}  // namespace

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct IpsecMbAes128Ctr::State {
  std::unique_ptr<IMB_MGR, MgrDeleter> mgr{alloc_mb_mgr(0)};
  alignas(16) uint8_t enc[11 * 16], dec[11 * 16];
  std::vector<uint8_t> iv = RandomBytes(16, 5), buffer;
};

IpsecMbAes128Ctr::IpsecMbAes128Ctr(size_t bytes) : state_(std::make_unique<State>()) {
  init_mb_mgr_auto(state_->mgr.get(), nullptr);
  const auto key = RandomBytes(16, 4);
  IMB_AES_KEYEXP_128(state_->mgr.get(), key.data(), state_->enc, state_->dec);
  state_->buffer = RandomBytes(bytes, 6);
}

IpsecMbAes128Ctr::~IpsecMbAes128Ctr() = default;

void IpsecMbAes128Ctr::Run(size_t n) {
  State& s = *state_;
  for (size_t i = 0; i < n; ++i) {
    IMB_JOB* job = IMB_GET_NEXT_JOB(s.mgr.get());
    job->cipher_mode = IMB_CIPHER_CNTR;
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = s.enc;
    job->dec_keys = s.dec;
    job->key_len_in_bytes = IMB_KEY_128_BYTES;
    job->src = s.buffer.data();
    job->dst = s.buffer.data();
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = s.buffer.size();
    job->iv = s.iv.data();
    job->iv_len_in_bytes = 16;
    job = IMB_SUBMIT_JOB(s.mgr.get());
    while (job == nullptr) job = IMB_FLUSH_JOB(s.mgr.get());  // one message at a time
  }
  DoNotOptimize(s.buffer[0]);
}

double IpsecMbAes128CtrNs(size_t bytes, double min_time_s) {
  IpsecMbAes128Ctr ctr(bytes);
  return NsPerOp([&](size_t n) { ctr.Run(n); }, min_time_s);
}

}  // namespace relaycell::tools
