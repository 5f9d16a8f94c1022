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
    init_mb_mgr_auto(manager, nullptr);
  }
  ~ManagerHolder() { free_mb_mgr(manager); }
};

}  // namespace

IMB_MGR* ThreadIpsecMbManager() {
  thread_local ManagerHolder holder;
  return holder.manager;
}

}  // namespace relaycell
