#include "engine/suite/cell_suite.h"

namespace relaycell {

const char* SuiteErrorName(SuiteError error) {
  switch (error) {
    case SuiteError::kOk: return "ok";
    case SuiteError::kBadSeedLength: return "key seed of the wrong length";
    case SuiteError::kOutOfKeyMemory: return "no locked memory for keys";
    case SuiteError::kKdfFailed: return "key derivation failed";
    case SuiteError::kBadCircuitId: return "circuit id 0 is reserved";
    case SuiteError::kBadHopCount: return "a client circuit has 1 to 8 hops";
    case SuiteError::kBadRekeyConfig:
      return "rekey configuration refused (see RekeyConfig::Validate)";
    case SuiteError::kUnknownSuite: return "no such cell suite";
  }
  return "unknown";
}

}  // namespace relaycell
