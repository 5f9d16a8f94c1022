// The intel-ipsec-mb manager of the calling thread (the job API is not thread-safe, and a
// manager is too costly to build per call). Initialized for the best architecture this CPU has
// (under RELAYCELL_CT_CHECK: AVX2 at most, what Valgrind runs).
#ifndef RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_
#define RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_

#include <intel-ipsec-mb.h>

#include <cstddef>
#include <cstdint>

namespace relaycell {

// Never null (aborts if ipsec-mb cannot allocate a manager at all: nothing works without it).
IMB_MGR* ThreadIpsecMbManager();

// One cipher-only job (ECB or CTR) on the thread's manager, submitted and drained at once: the
// manager is empty between calls, so the job that comes back is this one.
struct CipherJob {
  IMB_CIPHER_MODE mode;  // IMB_CIPHER_ECB or IMB_CIPHER_CNTR
  bool encrypt = true;
  const void* round_keys;  // the expanded schedule for that direction
  uint64_t key_bytes;      // 16 or 32
  const uint8_t* src;
  uint8_t* dst;
  uint64_t bytes;
  const uint8_t* iv = nullptr;  // CTR: the 16-byte counter block
  uint64_t iv_bytes = 0;
};
// True if the job completed. A caller whose output would go out unencrypted on failure aborts.
bool RunCipherJob(const CipherJob& spec);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_IPSEC_MB_MANAGER_H_
