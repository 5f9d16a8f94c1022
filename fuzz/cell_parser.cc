// Fuzzes ParseCell: any 514 bytes give a valid header or a typed error, never a crash.
#include <array>
#include <cstdint>
#include <cstring>

#include "circuit/cell.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::array<uint8_t, relaycell::kCellBytes> cell{};
  std::memcpy(cell.data(), data, size < cell.size() ? size : cell.size());
  const relaycell::ParsedCell parsed = relaycell::ParseCell(cell);
  if (parsed.ok() && parsed.header.command == relaycell::CellCommand::kDestroy &&
      !relaycell::IsKnownDestroyReason(uint8_t(parsed.header.destroy_reason))) {
    __builtin_trap();  // a DESTROY is only accepted with a known reason
  }
  return 0;
}
