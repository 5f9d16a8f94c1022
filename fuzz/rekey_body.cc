// Fuzzes REKEY bodies and arbitrary event sequences at a relay hop (enforcer + state machine)
// and a client hop. Never a crash; never a key switch on a malformed or out-of-place body;
// closed stays closed; a refused body carries no key material.
//
// Input: byte 0 picks a small configuration, then a stream of events, each an opcode byte
// followed by what that event reads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "engine/rekey/rekey_message.h"
#include "engine/rekey/rekey_state.h"

namespace {

using relaycell::RekeyAction;
using relaycell::RekeyBody;
using relaycell::RekeyError;

#define REKEY_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) abort();      \
  } while (0)

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  std::span<const uint8_t> Bytes(size_t n) {
    n = n < size_ - pos_ ? n : size_ - pos_;
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

bool IsEmptyAck(const RekeyBody& body) {
  if (body.method() != relaycell::RekeyMethod::kAck) return false;
  for (uint8_t b : body.rekey_data()) {
    if (b != 0) return false;
  }
  return true;
}

void CheckRelayStep(const relaycell::RelayHopRekey& relay, relaycell::RelayRekeyState before,
                    uint64_t switches_before, uint16_t stream_id, std::span<const uint8_t> data,
                    const relaycell::RekeyStep& step, const RekeyBody& body) {
  RekeyBody parsed;
  const RekeyError parse = relaycell::ParseRekeyBody(stream_id, data, parsed);
  const bool well_formed_request =
      parse == RekeyError::kNone && parsed.method() == relaycell::RekeyMethod::kShake256Client;
  if (step.action == RekeyAction::kSendAckThenSwitchBoth) {
    REKEY_FUZZ_CHECK(well_formed_request);
    REKEY_FUZZ_CHECK(before == relaycell::RelayRekeyState::kReady);
    REKEY_FUZZ_CHECK(relay.enforcer().switches() == switches_before + 1);
    REKEY_FUZZ_CHECK(relay.enforcer().cells() == 0);
    REKEY_FUZZ_CHECK(std::equal(body.rekey_data().begin(), body.rekey_data().end(),
                                parsed.rekey_data().begin()));
  } else {
    REKEY_FUZZ_CHECK(step.action == RekeyAction::kDestroyProtocol);
    REKEY_FUZZ_CHECK(relaycell::IsRekeyProtocolViolation(step.error));
    REKEY_FUZZ_CHECK(relay.state() == relaycell::RelayRekeyState::kClosed);
    REKEY_FUZZ_CHECK(relay.enforcer().switches() == switches_before);
    REKEY_FUZZ_CHECK(IsEmptyAck(body));
    if (before != relaycell::RelayRekeyState::kClosed && parse != RekeyError::kNone &&
        before != relaycell::RelayRekeyState::kUnsupported) {
      REKEY_FUZZ_CHECK(step.error == parse);
    }
  }
}

void CheckClientStep(const relaycell::ClientHopRekey& client, relaycell::ClientRekeyState before,
                     uint16_t stream_id, std::span<const uint8_t> data,
                     const relaycell::RekeyStep& step) {
  if (step.action == RekeyAction::kSwitchBackward) {
    REKEY_FUZZ_CHECK(before == relaycell::ClientRekeyState::kPending);
    REKEY_FUZZ_CHECK(stream_id == 0 && data.size() == 2 && data[0] == 0 && data[1] == 0);
    REKEY_FUZZ_CHECK(client.state() == relaycell::ClientRekeyState::kIdle);
  } else {
    REKEY_FUZZ_CHECK(step.action == RekeyAction::kDestroyProtocol);
    REKEY_FUZZ_CHECK(relaycell::IsRekeyProtocolViolation(step.error));
    REKEY_FUZZ_CHECK(client.state() == relaycell::ClientRekeyState::kClosed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);

  // Bare parser first: whatever the bytes, a failed parse leaves an empty ACK.
  {
    RekeyBody body;
    body.SetFreshShake256Client();
    const std::span<const uint8_t> whole(data, size);
    if (relaycell::ParseRekeyBody(0, whole, body) != RekeyError::kNone) {
      REKEY_FUZZ_CHECK(IsEmptyAck(body));
    } else {
      REKEY_FUZZ_CHECK(body.encoded_length() == size);
    }
  }

  const uint8_t setup = in.Byte();
  relaycell::RekeyConfig config;
  config.first = 16 + (setup & 0x0f);
  config.interval = 64;
  config.slack = 4;
  config.min_spacing = (setup & 0x10) ? 0 : 4;
  config.randomize = (setup & 0x20) != 0;
  REKEY_FUZZ_CHECK(config.Validate() == relaycell::RekeyConfigError::kOk);
  const auto capability = (setup & 0x40) ? relaycell::RekeyCapability::kNotRekeyable
                                         : relaycell::RekeyCapability::kRekeyable;
  const auto mode = (setup & 0x80) ? relaycell::RekeyEnforcer::Mode::kDisabled
                                   : relaycell::RekeyEnforcer::Mode::kEnforce;
  const uint8_t seed[relaycell::kRekeyScheduleSeedBytes] = {setup};
  relaycell::RelayHopRekey relay(config, capability, mode);
  relaycell::ClientHopRekey client(config, capability, seed);

  // The last REKEY(1) the client made, so valid requests reach the relay too.
  uint8_t last_request[relaycell::kRekeyBodyMaxBytes] = {0, 1};
  size_t last_request_length = 0;

  for (int events = 0; !in.empty() && events < 4096; ++events) {
    switch (in.Byte() % 9) {
      case 0: {  // cells through the relay hop
        const int n = in.Byte();
        for (int i = 0; i < n; ++i) {
          const bool was_closed = relay.state() == relaycell::RelayRekeyState::kClosed;
          const RekeyError e = relay.CountCell();
          if (e != RekeyError::kNone) {  // overdue, or the sticky reason of an earlier close
            REKEY_FUZZ_CHECK(was_closed || e == RekeyError::kRekeyOverdue);
            REKEY_FUZZ_CHECK(relay.state() == relaycell::RelayRekeyState::kClosed);
            REKEY_FUZZ_CHECK(e == relay.close_reason());
          }
        }
        break;
      }
      case 1:
      case 2: {  // an arbitrary or the client's last body at the relay
        const bool replay = (in.Byte() & 1) && last_request_length != 0;
        const uint16_t stream_id = (in.Byte() & 0x80) ? in.U16() : 0;
        const std::span<const uint8_t> body_bytes =
            replay ? std::span<const uint8_t>(last_request, last_request_length)
                   : in.Bytes(in.Byte());
        const auto before = relay.state();
        const uint64_t switches = relay.enforcer().switches();
        RekeyBody body;
        const auto step = relay.OnRekeyCell(stream_id, body_bytes, body);
        CheckRelayStep(relay, before, switches, stream_id, body_bytes, step, body);
        break;
      }
      case 3: {  // cells through the client hop
        const int n = in.Byte();
        for (int i = 0; i < n; ++i) {
          const bool was_closed = client.state() == relaycell::ClientRekeyState::kClosed;
          const RekeyError e = (i & 1) ? client.CountBackwardCell() : client.CountForwardCell();
          if (e != RekeyError::kNone) {
            REKEY_FUZZ_CHECK(was_closed || e == RekeyError::kRekeyOverdue ||
                             e == RekeyError::kAckOverdue);
            REKEY_FUZZ_CHECK(client.state() == relaycell::ClientRekeyState::kClosed);
            REKEY_FUZZ_CHECK(e == client.close_reason());
          }
        }
        break;
      }
      case 4: {  // the client starts a rekey
        const auto before = client.state();
        RekeyBody body;
        const auto step = client.StartRekey(body);
        if (step.action == RekeyAction::kSendRekeyThenSwitchForward) {
          REKEY_FUZZ_CHECK(before == relaycell::ClientRekeyState::kIdle);
          REKEY_FUZZ_CHECK(client.state() == relaycell::ClientRekeyState::kPending);
          last_request_length = relaycell::BuildRekeyBody(body, last_request);
          REKEY_FUZZ_CHECK(last_request_length == relaycell::kRekeyBodyMaxBytes);
        } else {
          REKEY_FUZZ_CHECK(client.state() == before);  // refusals change nothing
          REKEY_FUZZ_CHECK(IsEmptyAck(body));
        }
        break;
      }
      case 5: {  // an arbitrary body at the client
        const uint16_t stream_id = (in.Byte() & 0x80) ? in.U16() : 0;
        const std::span<const uint8_t> body_bytes = in.Bytes(in.Byte() % 40);
        const auto before = client.state();
        const auto step = client.OnRekeyCell(stream_id, body_bytes);
        CheckClientStep(client, before, stream_id, body_bytes, step);
        break;
      }
      case 6: {  // a well-formed ACK at the client
        static constexpr uint8_t kAck[2] = {0, 0};
        const auto before = client.state();
        const auto step = client.OnRekeyCell(0, kAck);
        CheckClientStep(client, before, 0, kAck, step);
        break;
      }
      case 7: client.RequestRekey(); break;
      case 8: {  // jump the counts (large values reach the deadlines quickly)
        const uint64_t n = in.Byte();
        relay.PresetCountForTesting(relay.enforcer().cells() + n);
        client.PresetCountForTesting(client.schedule().cells() + n);
        break;
      }
    }
    if (client.Due()) REKEY_FUZZ_CHECK(client.state() == relaycell::ClientRekeyState::kIdle);
  }
  return 0;
}
