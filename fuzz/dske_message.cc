// libFuzzer harness for the DSKE wire format and the hub that serves it.
//
// 1. Parse must never read out of bounds or crash; whatever parses must serialize back to the
//    same bytes and parse again to the same fields.
// 2. The same bytes go to a live DskeHub (PSRD stores on tmpfs) as a message from a client it
//    shares pools with. With the first byte 0xFF the harness first seals a genuine PUT (so the
//    MAC, storage and FETCH paths are reached) and XORs the rest of the input over it. Whatever
//    comes in, the hub must answer with nothing (a stored PUT) or with one valid DELIVER/ERROR
//    of at most 498 bytes, and never crash.
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "circuit/dske/dske_hub.h"
#include "circuit/dske/dske_message.h"
#include "engine/dske/psrd.h"

namespace {

using namespace relaycell;
using namespace relaycell::dske;

constexpr uint64_t kPoolBytes = 256 * 1024;

// A client "fuzzer" and a hub "H1" sharing pools; rebuilt when the client's pool runs low (the
// hub burns gaps for arbitrary references, so pools are spent quickly).
class HubWorld {
 public:
  ~HubWorld() { Clear(); }
  bool Ensure() {
    if (hub_ != nullptr) {
      psrd::PoolStatus up, down;
      if (client_->Status("fuzzer.to.H1", up) == psrd::PsrdError::kOk &&
          hub_->store().Status("fuzzer.to.H1", down) == psrd::PsrdError::kOk &&
          up.remaining() > 4096 && down.remaining() > 4096) {
        return true;
      }
      Clear();
    }
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "fuzz_dske_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return false;
    root_ = pattern;
    if (psrd::InitPair(root_ / "client", "fuzzer", root_ / "hub", "H1", kPoolBytes) !=
            psrd::PsrdError::kOk ||
        psrd::PsrdStore::Open(root_ / "client", client_) != psrd::PsrdError::kOk ||
        DskeHub::Open("H1", root_ / "hub", hub_) != HubError::kOk) {
      Clear();
      return false;
    }
    return true;
  }
  psrd::PsrdStore& client() { return *client_; }
  DskeHub& hub() { return *hub_; }

 private:
  void Clear() {
    hub_.reset();
    client_.reset();
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
      root_.clear();
    }
  }
  std::filesystem::path root_;
  std::unique_ptr<psrd::PsrdStore> client_;
  std::unique_ptr<DskeHub> hub_;
};

HubWorld* World() {
  static HubWorld* world = [] {
    if (sodium_init() < 0) std::abort();
    auto* w = new HubWorld;
    std::atexit([] { delete World(); });
    return w;
  }();
  return world;
}

void CheckParseRoundTrip(const uint8_t* data, size_t size) {
  Message message;
  if (Parse(std::span(data, size), message) != ParseError::kOk) return;
  uint8_t wire[kMaxMessageBytes];
  size_t written = 0;
  if (Serialize(message, wire, written) != ParseError::kOk) std::abort();
  if (written != size || std::memcmp(wire, data, size) != 0) std::abort();
  Message again;
  if (Parse(std::span(wire, written), again) != ParseError::kOk) std::abort();
  if (again.type != message.type || again.key_id != message.key_id || again.x != message.x ||
      again.pad.count != message.pad.count ||
      again.ciphertext.size() != message.ciphertext.size()) {
    std::abort();
  }
  if (message.type == MessageType::kPut || message.type == MessageType::kDeliver) {
    uint8_t header[kMaxMessageBytes];
    if (WriteShareHeader(message, header) != ShareHeaderBytes(message.pad.count)) std::abort();
    if (std::memcmp(header, data, ShareHeaderBytes(message.pad.count)) != 0) std::abort();
  }
}

void CheckHub(const uint8_t* data, size_t size) {
  HubWorld& world = *World();
  if (!world.Ensure()) return;  // no room for stores: nothing to fuzz against
  uint8_t message[kMaxMessageBytes];
  size_t message_bytes = std::min(size, sizeof message);
  std::memcpy(message, data, message_bytes);
  if (size > 0 && data[0] == 0xFF) {
    // A genuine PUT of a share whose length comes from the input, then the input XORed over it.
    const size_t share_bytes = 48 + (size > 1 ? data[1] % 241 : 0);
    uint8_t share[288] = {};
    KeyId id{};
    for (size_t i = 0; i < id.size() && i + 2 < size; ++i) id[i] = data[i + 2];
    const SealStatus sealed = SealShare(world.client(), "fuzzer.to.H1", MessageType::kPut, id, 1, 2,
                                        3, std::span(share, share_bytes), message, message_bytes);
    if (!sealed.ok()) return;
    for (size_t i = 18; i < size && i - 18 < message_bytes; ++i) message[i - 18] ^= data[i];
  }
  uint8_t reply[kMaxMessageBytes];
  const HubResult result = world.hub().Handle("fuzzer", std::span(message, message_bytes), reply);
  if (result.reply_bytes > kMaxMessageBytes) std::abort();
  if (result.outcome == HubOutcome::kStored && result.reply_bytes != 0) std::abort();
  if (result.reply_bytes > 0) {
    Message answer;
    if (Parse(std::span(reply, result.reply_bytes), answer) != ParseError::kOk) std::abort();
    const MessageType expected =
        result.outcome == HubOutcome::kDelivered ? MessageType::kDeliver : MessageType::kError;
    if (answer.type != expected) std::abort();
    if (answer.type == MessageType::kError && answer.error != result.error) std::abort();
  } else if (result.outcome != HubOutcome::kStored) {
    std::abort();  // a refusal always says why
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckParseRoundTrip(data, size);
  CheckHub(data, size);
  return 0;
}
