#include "engine/suite/cgo/cgo_prf.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/common/ipsec_mb_manager.h"
#include "kernels/polyval.h"

namespace relaycell {
namespace {

// Jobs per pass of XorMany (the stack arrays' size; more jobs loop).
constexpr size_t kPass = 64;
constexpr uint8_t kCounterWindowMask = 0xC0;  // c[15] keeps its top two bits

[[noreturn]] void Fail(const char* what, int detail) {
  std::fprintf(stderr, "relaycell: CGO PRF: %s (%d)\n", what, detail);
  std::abort();
}

void CheckJob(const IMB_JOB* job) {
  // A failed job leaves data unXORed: a cell would go out in the clear. Never continue.
  if (job->status != IMB_STATUS_COMPLETED) Fail("AES-128-CTR job failed, status", job->status);
}

}  // namespace

CgoPrf::~CgoPrf() {
  sodium_memzero(enc_keys_, sizeof enc_keys_);
  sodium_memzero(b_, sizeof b_);
}

void CgoPrf::SetKeys(std::span<const uint8_t, kCgoPrfKeyBytes> keys) {
  alignas(16) uint8_t dec_keys[kRoundKeyBytes];
  IMB_AES_KEYEXP_128(ThreadIpsecMbManager(), keys.data(), enc_keys_, dec_keys);
  sodium_memzero(dec_keys, sizeof dec_keys);
  std::memcpy(b_, keys.data() + 16, sizeof b_);
}

void CgoPrf::XorMany(std::span<const Job> jobs) {
  IMB_MGR* mgr = ThreadIpsecMbManager();
  for (size_t begin = 0; begin < jobs.size(); begin += kPass) {
    const size_t n = std::min(kPass, jobs.size() - begin);
    const Job* pass = jobs.data() + begin;
    kernels::PolyvalJob hashes[kPass];
    for (size_t i = 0; i < n; ++i) {
      const Job& job = pass[i];
      const bool fits = job.position == 0 ? job.length == kCgoPrfT0Bytes
                                          : job.position == 1 && job.length <= kCgoPrfT1MaxBytes;
      if (!fits) Fail("stream length outside the counter window", int(job.length));
      hashes[i] = {job.prf->b_, job.input, kCgoBlockBytes, job.counter};
    }
    kernels::PolyvalBatch(std::span<const kernels::PolyvalJob>(hashes, n));

    // One CTR job per stream. The manager is this thread's and empty between calls (every
    // user flushes it), so what comes back here is ours; flush them all before returning.
    size_t completed = 0;
    for (size_t i = 0; i < n; ++i) {
      const Job& job = pass[i];
      job.counter[15] = uint8_t((job.counter[15] & kCounterWindowMask) +
                                (job.position == 0 ? 0 : kCgoPrfT1Offset));
      if (job.length == 0) {  // nothing to XOR (a t = 1 request for no bytes)
        ++completed;
        continue;
      }
      IMB_JOB* imb = IMB_GET_NEXT_JOB(mgr);
      imb->cipher_direction = IMB_DIR_ENCRYPT;
      imb->chain_order = IMB_ORDER_CIPHER_HASH;
      imb->cipher_mode = IMB_CIPHER_CNTR;
      imb->hash_alg = IMB_AUTH_NULL;
      imb->enc_keys = job.prf->enc_keys_;
      imb->dec_keys = job.prf->enc_keys_;
      imb->key_len_in_bytes = 16;
      imb->src = job.data;
      imb->dst = job.data;
      imb->cipher_start_src_offset_in_bytes = 0;
      imb->msg_len_to_cipher_in_bytes = job.length;
      imb->iv = job.counter;
      imb->iv_len_in_bytes = kCgoBlockBytes;
      for (IMB_JOB* done = IMB_SUBMIT_JOB(mgr); done != nullptr;
           done = IMB_GET_COMPLETED_JOB(mgr)) {
        CheckJob(done);
        ++completed;
      }
    }
    while (completed < n) {
      IMB_JOB* done = IMB_FLUSH_JOB(mgr);
      if (done == nullptr) Fail("ipsec-mb returned fewer CTR jobs than submitted", int(completed));
      CheckJob(done);
      ++completed;
    }
  }
}

void CgoPrf::XorT0(std::span<const uint8_t, kCgoBlockBytes> input,
                   std::span<uint8_t, kCgoPrfT0Bytes> data) const {
  alignas(16) uint8_t counter[kCgoBlockBytes];
  const Job job{this, input.data(), data.data(), kCgoPrfT0Bytes, 0, counter};
  XorMany({&job, 1});
  sodium_memzero(counter, sizeof counter);
}

void CgoPrf::GenT1(std::span<const uint8_t, kCgoBlockBytes> input, std::span<uint8_t> out) const {
  alignas(16) uint8_t counter[kCgoBlockBytes];
  std::memset(out.data(), 0, out.size());
  const Job job{this, input.data(), out.data(), out.size(), 1, counter};
  XorMany({&job, 1});
  sodium_memzero(counter, sizeof counter);
}

}  // namespace relaycell
