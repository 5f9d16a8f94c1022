// libFuzzer harness for the DSKE wire format: Parse must never read out of bounds or crash;
// whatever parses must serialize back to the same bytes and parse again to the same fields.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "circuit/dske_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace relaycell::dske;
  Message message;
  if (Parse(std::span(data, size), message) != ParseError::kOk) return 0;
  uint8_t wire[kMaxMessageBytes];
  size_t written = 0;
  if (Serialize(message, wire, written) != ParseError::kOk) std::abort();
  if (written != size || std::memcmp(wire, data, size) != 0) std::abort();
  Message again;
  if (Parse(std::span(wire, written), again) != ParseError::kOk) std::abort();
  if (again.type != message.type || again.key_id != message.key_id || again.x != message.x ||
      again.pad.count != message.pad.count || again.ciphertext.size() != message.ciphertext.size()) {
    std::abort();
  }
  if (message.type == MessageType::kPut || message.type == MessageType::kDeliver) {
    uint8_t header[kMaxMessageBytes];
    if (WriteShareHeader(message, header) != ShareHeaderBytes(message.pad.count)) std::abort();
    if (std::memcmp(header, data, ShareHeaderBytes(message.pad.count)) != 0) std::abort();
  }
  return 0;
}
