#include "engine/cell_suite.h"

namespace relaycell {

const char* SuiteErrorName(SuiteError error) {
  switch (error) {
    case SuiteError::kOk: return "ok";
    case SuiteError::kBadSeedLength: return "key seed of the wrong length";
    case SuiteError::kOutOfKeyMemory: return "no locked memory for keys";
    case SuiteError::kKdfFailed: return "key derivation failed";
  }
  return "unknown";
}

}  // namespace relaycell
