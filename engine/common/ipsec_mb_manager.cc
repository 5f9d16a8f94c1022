#include "engine/common/ipsec_mb_manager.h"

#include <cstdio>
#include <cstdlib>

namespace relaycell {
namespace {

struct ManagerHolder {
  IMB_MGR* manager = nullptr;
  ManagerHolder() {
    manager = alloc_mb_mgr(0);
    if (manager == nullptr) {
      std::fprintf(stderr, "relaycell: intel-ipsec-mb could not allocate a manager\n");
      std::abort();
    }
#ifdef RELAYCELL_CT_CHECK
    // The constant-time check runs under Valgrind 3.19, which executes no AVX-512 and no VAES:
    // never ipsec-mb's AVX-512 code. Within AVX2, ipsec-mb takes its VAES flavour only where
    // CPUID reports VAES, which Valgrind's CPUID does not: there this is AES-NI code.
    if ((imb_get_feature_flags() & IMB_CPUFLAGS_AVX2) == IMB_CPUFLAGS_AVX2) {
      init_mb_mgr_avx2(manager);
    } else {
      init_mb_mgr_sse(manager);
    }
#else
    init_mb_mgr_auto(manager, nullptr);
#endif
  }
  ~ManagerHolder() { free_mb_mgr(manager); }
};

}  // namespace

IMB_MGR* ThreadIpsecMbManager() {
  thread_local ManagerHolder holder;
  return holder.manager;
}

bool RunCipherJob(const CipherJob& spec) {
  IMB_MGR* mgr = ThreadIpsecMbManager();
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
  job->cipher_mode = spec.mode;
  job->cipher_direction = spec.encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
  job->chain_order = spec.encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = spec.round_keys;
  job->dec_keys = spec.round_keys;
  job->key_len_in_bytes = spec.key_bytes;
  job->src = spec.src;
  job->dst = spec.dst;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = spec.bytes;
  job->iv = spec.iv;
  job->iv_len_in_bytes = spec.iv_bytes;
  job = IMB_SUBMIT_JOB(mgr);
  while (job == nullptr) job = IMB_FLUSH_JOB(mgr);
  return job->status == IMB_STATUS_COMPLETED;
}

}  // namespace relaycell
