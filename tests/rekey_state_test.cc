#include "engine/rekey/rekey_state.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/common/kdf.h"
#include "engine/rekey/rekey_message.h"

namespace relaycell {
namespace {

RekeyConfig Small() {
  RekeyConfig config;
  config.first = 64;
  config.interval = 256;
  config.slack = 16;
  config.min_spacing = 8;
  EXPECT_EQ(config.Validate(), RekeyConfigError::kOk);
  return config;
}

// The wire form of a body, as the peer would put it in the relay cell's data.
std::vector<uint8_t> Wire(const RekeyBody& body) {
  std::array<uint8_t, 498> data{};
  const size_t length = BuildRekeyBody(body, data);
  return {data.begin(), data.begin() + length};
}

std::vector<uint8_t> AckWire() { return {0x00, 0x00}; }

std::vector<uint8_t> ClientWire() {
  RekeyBody body;
  body.SetFreshShake256Client();
  return Wire(body);
}

void ExpectDestroy(const RekeyStep& step, RekeyError error) {
  EXPECT_EQ(step.action, RekeyAction::kDestroyProtocol);
  EXPECT_EQ(step.error, error) << RekeyErrorName(step.error);
}

// ---- client: states and transitions ---------------------------------------------------------

TEST(ClientHopRekey, StartsIdleOnAnAezHopAndUnsupportedOnTor1) {
  EXPECT_EQ(ClientHopRekey(Small(), RekeyCapability::kRekeyable).state(), ClientRekeyState::kIdle);
  EXPECT_EQ(ClientHopRekey(Small(), RekeyCapability::kNotRekeyable).state(),
            ClientRekeyState::kUnsupported);
}

TEST(ClientHopRekey, IdleToPendingSendsAFreshRekeyAndRestartsTheCount) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(hop.CountForwardCell(), RekeyError::kNone);
  ASSERT_TRUE(hop.Due());
  RekeyBody body;
  const RekeyStep step = hop.StartRekey(body);
  EXPECT_EQ(step.action, RekeyAction::kSendRekeyThenSwitchForward);
  EXPECT_EQ(step.error, RekeyError::kNone);
  EXPECT_EQ(hop.state(), ClientRekeyState::kPending);
  EXPECT_EQ(body.method(), RekeyMethod::kShake256Client);
  EXPECT_EQ(hop.schedule().cells(), 0u);
  EXPECT_FALSE(hop.Due()) << "never due with a rekey pending";
}

TEST(ClientHopRekey, PendingToIdleOnAck) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  const auto ack = AckWire();
  const RekeyStep step = hop.OnRekeyCell(0, ack);
  EXPECT_EQ(step.action, RekeyAction::kSwitchBackward);
  EXPECT_EQ(step.error, RekeyError::kNone);
  EXPECT_EQ(hop.state(), ClientRekeyState::kIdle);
}

TEST(ClientHopRekey, NeverTwoRekeysPending) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody first, second;
  ASSERT_EQ(hop.StartRekey(first).action, RekeyAction::kSendRekeyThenSwitchForward);
  hop.RequestRekey();
  hop.PresetCountForTesting(1000);
  EXPECT_FALSE(hop.Due());
  const RekeyStep step = hop.StartRekey(second);
  EXPECT_EQ(step.action, RekeyAction::kNone);
  EXPECT_EQ(step.error, RekeyError::kAlreadyPending);
  EXPECT_FALSE(IsRekeyProtocolViolation(step.error));
  EXPECT_EQ(hop.state(), ClientRekeyState::kPending);
  EXPECT_EQ(second.method(), RekeyMethod::kAck) << "no second body was made";
}

TEST(ClientHopRekey, StartOnTor1IsRefusedLocally) {
  ClientHopRekey hop(Small(), RekeyCapability::kNotRekeyable);
  hop.RequestRekey();
  hop.PresetCountForTesting(1 << 20);
  EXPECT_FALSE(hop.Due());
  EXPECT_EQ(hop.CountForwardCell(), RekeyError::kNone) << "tor1 hops have no rekey deadline";
  RekeyBody body;
  const RekeyStep step = hop.StartRekey(body);
  EXPECT_EQ(step.action, RekeyAction::kNone);
  EXPECT_EQ(step.error, RekeyError::kNotRekeyable);
  EXPECT_EQ(hop.state(), ClientRekeyState::kUnsupported);
}

TEST(ClientHopRekey, ForcedRekeyWaitsForMinSpacing) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.RequestRekey();
  EXPECT_FALSE(hop.Due());
  for (int i = 0; i < 8; ++i) ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  EXPECT_TRUE(hop.Due());
}

TEST(ClientHopRekey, BothDirectionsCountTowardTheThreshold) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  for (int i = 0; i < 32; ++i) {
    ASSERT_EQ(hop.CountForwardCell(), RekeyError::kNone);
    ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  }
  EXPECT_TRUE(hop.Due());
}

TEST(ClientHopRekey, BackwardCellsWhilePendingCountOnTheOldKeysOnly) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  EXPECT_EQ(hop.schedule().cells(), 0u);
  EXPECT_EQ(hop.old_backward_cells(), 10u);
  ASSERT_EQ(hop.OnRekeyCell(0, AckWire()).action, RekeyAction::kSwitchBackward);
  ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  EXPECT_EQ(hop.schedule().cells(), 1u);
}

// ---- client: every error path --------------------------------------------------------------

TEST(ClientHopRekeyError, AckWithoutPending) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  ExpectDestroy(hop.OnRekeyCell(0, AckWire()), RekeyError::kAckWithoutPending);
  EXPECT_EQ(hop.state(), ClientRekeyState::kClosed);
}

TEST(ClientHopRekeyError, Method1AtClient) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire()), RekeyError::kClientMethodAtClient);
  EXPECT_EQ(hop.state(), ClientRekeyState::kClosed);
}

TEST(ClientHopRekeyError, RekeyFromATor1Hop) {
  ClientHopRekey hop(Small(), RekeyCapability::kNotRekeyable);
  ExpectDestroy(hop.OnRekeyCell(0, AckWire()), RekeyError::kRekeyOnTor1);
}

TEST(ClientHopRekeyError, MalformedBodiesWhilePendingNeverSwitch) {
  const std::vector<std::pair<std::vector<uint8_t>, RekeyError>> cases = {
      {{}, RekeyError::kTruncatedBody},
      {{0x00, 0x07}, RekeyError::kUnknownMethod},
      {{0x00, 0x00, 0x01}, RekeyError::kAckWithData},
      {{0x00, 0x01, 0x02}, RekeyError::kBadRekeyDataLength},
  };
  for (const auto& [wire, error] : cases) {
    ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
    hop.PresetCountForTesting(64);
    RekeyBody body;
    ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
    ExpectDestroy(hop.OnRekeyCell(0, wire), error);
  }
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  ExpectDestroy(hop.OnRekeyCell(3, AckWire()), RekeyError::kNonZeroStreamId);
}

TEST(ClientHopRekeyError, AckOverdueAfterSlackOldBackwardCells) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  for (int i = 0; i < 16; ++i) ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  EXPECT_EQ(hop.CountBackwardCell(), RekeyError::kAckOverdue);
  EXPECT_EQ(hop.state(), ClientRekeyState::kClosed);
  EXPECT_EQ(hop.close_reason(), RekeyError::kAckOverdue);
}

TEST(ClientHopRekeyError, OverdueWhenTheHostNeverRekeys) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  for (int i = 0; i < 80; ++i) ASSERT_EQ(hop.CountForwardCell(), RekeyError::kNone);
  EXPECT_EQ(hop.CountForwardCell(), RekeyError::kRekeyOverdue);
  EXPECT_EQ(hop.state(), ClientRekeyState::kClosed);
}

TEST(ClientHopRekeyError, ClosedIsStickyWithTheFirstReason) {
  ClientHopRekey hop(Small(), RekeyCapability::kRekeyable);
  ExpectDestroy(hop.OnRekeyCell(0, AckWire()), RekeyError::kAckWithoutPending);
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire()), RekeyError::kAckWithoutPending);
  RekeyBody body;
  ExpectDestroy(hop.StartRekey(body), RekeyError::kAckWithoutPending);
  EXPECT_EQ(body.method(), RekeyMethod::kAck);
  EXPECT_FALSE(hop.Due());
}

TEST(ClientHopRekey, ProductionDefaultsFirstAndSecondRekey) {
  ClientHopRekey hop(RekeyConfig{}, RekeyCapability::kRekeyable);
  hop.PresetCountForTesting((uint64_t{1} << 15) - 1);
  EXPECT_FALSE(hop.Due());
  ASSERT_EQ(hop.CountBackwardCell(), RekeyError::kNone);
  ASSERT_TRUE(hop.Due());
  RekeyBody body;
  ASSERT_EQ(hop.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
  ASSERT_EQ(hop.OnRekeyCell(0, AckWire()).action, RekeyAction::kSwitchBackward);
  hop.PresetCountForTesting((uint64_t{1} << 32) - 1);
  EXPECT_FALSE(hop.Due());
  ASSERT_EQ(hop.CountForwardCell(), RekeyError::kNone);
  EXPECT_TRUE(hop.Due());
}

// ---- relay: states and transitions ---------------------------------------------------------

TEST(RelayHopRekey, ValidRekeyAnswersAckThenSwitchesBoth) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable);
  EXPECT_EQ(hop.state(), RelayRekeyState::kReady);
  for (int i = 0; i < 65; ++i) ASSERT_EQ(hop.CountCell(), RekeyError::kNone);  // incl. the REKEY
  const auto wire = ClientWire();
  RekeyBody body;
  const RekeyStep step = hop.OnRekeyCell(0, wire, body);
  EXPECT_EQ(step.action, RekeyAction::kSendAckThenSwitchBoth);
  EXPECT_EQ(step.error, RekeyError::kNone);
  EXPECT_EQ(hop.state(), RelayRekeyState::kReady);
  EXPECT_EQ(body.method(), RekeyMethod::kShake256Client);
  EXPECT_TRUE(std::equal(body.rekey_data().begin(), body.rekey_data().end(), wire.begin() + 2));
  EXPECT_EQ(hop.enforcer().cells(), 0u);
  EXPECT_EQ(hop.enforcer().deadline(), 256u + 16u);
}

TEST(RelayHopRekey, Tor1HopStartsUnsupportedAndHasNoDeadline) {
  RelayHopRekey hop(Small(), RekeyCapability::kNotRekeyable);
  EXPECT_EQ(hop.state(), RelayRekeyState::kUnsupported);
  hop.PresetCountForTesting(uint64_t{1} << 40);
  EXPECT_EQ(hop.CountCell(), RekeyError::kNone);
}

TEST(RelayHopRekey, ProductionDefaults) {
  RelayHopRekey hop(RekeyConfig{}, RekeyCapability::kRekeyable);
  hop.PresetCountForTesting((uint64_t{1} << 15) + 4095);
  ASSERT_EQ(hop.CountCell(), RekeyError::kNone);  // the REKEY, at the last allowed cell
  RekeyBody body;
  ASSERT_EQ(hop.OnRekeyCell(0, ClientWire(), body).action, RekeyAction::kSendAckThenSwitchBoth);
  hop.PresetCountForTesting((uint64_t{1} << 32) + 4095);
  ASSERT_EQ(hop.CountCell(), RekeyError::kNone);
  EXPECT_EQ(hop.CountCell(), RekeyError::kRekeyOverdue);
  EXPECT_EQ(hop.state(), RelayRekeyState::kClosed);
}

// ---- relay: every error path ---------------------------------------------------------------

struct RelayCase {
  const char* name;
  uint16_t stream_id;
  std::vector<uint8_t> data;
  RekeyError error;
};

class RelayHopRekeyError : public testing::TestWithParam<RelayCase> {};

TEST_P(RelayHopRekeyError, ClosesWithoutSwitchingOrKeepingKeyMaterial) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  body.SetFreshShake256Client();
  ExpectDestroy(hop.OnRekeyCell(GetParam().stream_id, GetParam().data, body), GetParam().error);
  EXPECT_EQ(hop.state(), RelayRekeyState::kClosed);
  EXPECT_EQ(hop.close_reason(), GetParam().error);
  EXPECT_EQ(hop.enforcer().switches(), 0u);
  EXPECT_EQ(body.method(), RekeyMethod::kAck);
  for (uint8_t b : body.rekey_data()) EXPECT_EQ(b, 0);
}

std::vector<uint8_t> Method(uint16_t method, size_t data_bytes) {
  std::vector<uint8_t> v(2 + data_bytes, 0x5A);
  v[0] = static_cast<uint8_t>(method >> 8);
  v[1] = static_cast<uint8_t>(method);
  return v;
}

INSTANTIATE_TEST_SUITE_P(
    All, RelayHopRekeyError,
    testing::Values(RelayCase{"AckAtRelay", 0, Method(0, 0), RekeyError::kAckAtRelay},
                    RelayCase{"UnknownMethod", 0, Method(2, 32), RekeyError::kUnknownMethod},
                    RelayCase{"Method1Short", 0, Method(1, 31), RekeyError::kBadRekeyDataLength},
                    RelayCase{"Method1Long", 0, Method(1, 33), RekeyError::kBadRekeyDataLength},
                    RelayCase{"AckWithData", 0, Method(0, 1), RekeyError::kAckWithData},
                    RelayCase{"Truncated", 0, {0x00}, RekeyError::kTruncatedBody},
                    RelayCase{"StreamId", 9, Method(1, 32), RekeyError::kNonZeroStreamId}),
    [](const testing::TestParamInfo<RelayCase>& p) { return p.param.name; });

TEST(RelayHopRekeyErrors, RekeyOnTor1) {
  RelayHopRekey hop(Small(), RekeyCapability::kNotRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire(), body), RekeyError::kRekeyOnTor1);
  EXPECT_EQ(hop.state(), RelayRekeyState::kClosed);
}

TEST(RelayHopRekeyErrors, TooSoonAfterCreation) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(hop.CountCell(), RekeyError::kNone);  // 7 + the REKEY
  RekeyBody body;
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire(), body), RekeyError::kRekeyTooSoon);
  EXPECT_EQ(body.method(), RekeyMethod::kAck) << "refused rekey_data is wiped";
  EXPECT_EQ(hop.enforcer().switches(), 0u);
}

TEST(RelayHopRekeyErrors, TooSoonAfterTheFirstSwitch) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable);
  hop.PresetCountForTesting(64);
  RekeyBody body;
  ASSERT_EQ(hop.OnRekeyCell(0, ClientWire(), body).action, RekeyAction::kSendAckThenSwitchBoth);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(hop.CountCell(), RekeyError::kNone);
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire(), body), RekeyError::kRekeyTooSoon);
}

TEST(RelayHopRekeyErrors, OverdueFirstRekey) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable);
  for (int i = 0; i < 80; ++i) ASSERT_EQ(hop.CountCell(), RekeyError::kNone);
  EXPECT_EQ(hop.CountCell(), RekeyError::kRekeyOverdue);
  EXPECT_EQ(hop.state(), RelayRekeyState::kClosed);
  RekeyBody body;
  ExpectDestroy(hop.OnRekeyCell(0, ClientWire(), body), RekeyError::kRekeyOverdue);
  EXPECT_EQ(hop.enforcer().switches(), 0u) << "closed is sticky: no late switch";
}

TEST(RelayHopRekeyErrors, DisabledModeStillChecksTheBody) {
  RelayHopRekey hop(Small(), RekeyCapability::kRekeyable, RekeyEnforcer::Mode::kDisabled);
  RekeyBody body;
  ASSERT_EQ(hop.OnRekeyCell(0, ClientWire(), body).action, RekeyAction::kSendAckThenSwitchBoth)
      << "no spacing check when disabled";
  ExpectDestroy(hop.OnRekeyCell(0, AckWire(), body), RekeyError::kAckAtRelay);
}

TEST(RekeyNames, StatesAndActionsAreNamed) {
  EXPECT_STREQ(ClientRekeyStateName(ClientRekeyState::kPending), "pending");
  EXPECT_STREQ(RelayRekeyStateName(RelayRekeyState::kReady), "ready");
  EXPECT_STREQ(RekeyActionName(RekeyAction::kSendAckThenSwitchBoth), "send_ack_then_switch_both");
}

// ---- both ends together --------------------------------------------------------------------

// Client and relay agree on the new keys: both derive SHAKE256(old aez_key || rekey_data) from
// the body that went over the wire.
TEST(RekeyEndToEnd, BothSidesDeriveTheSameNextKeys) {
  std::array<uint8_t, kKdfOutputBytes> hop_keys{};
  const std::array<uint8_t, 32> seed{1, 2, 3};
  ASSERT_EQ(DeriveHopKeys(seed, hop_keys), KdfError::kOk);
  const auto old_aez_key = SplitKeyMaterial(hop_keys).aez_key;

  ClientHopRekey client(Small(), RekeyCapability::kRekeyable);
  RelayHopRekey relay(Small(), RekeyCapability::kRekeyable);
  client.PresetCountForTesting(64);
  relay.PresetCountForTesting(64);
  RekeyBody sent;
  ASSERT_EQ(client.StartRekey(sent).action, RekeyAction::kSendRekeyThenSwitchForward);
  std::array<uint8_t, kKdfOutputBytes> client_next{}, relay_next{};
  ASSERT_EQ(DeriveRekeyKeys(old_aez_key, sent.rekey_data(), client_next), KdfError::kOk);

  ASSERT_EQ(relay.CountCell(), RekeyError::kNone);
  RekeyBody received;
  ASSERT_EQ(relay.OnRekeyCell(0, Wire(sent), received).action, RekeyAction::kSendAckThenSwitchBoth);
  ASSERT_EQ(DeriveRekeyKeys(old_aez_key, received.rekey_data(), relay_next), KdfError::kOk);
  EXPECT_EQ(client_next, relay_next);
  EXPECT_NE(client_next, hop_keys);
  ASSERT_EQ(client.OnRekeyCell(0, AckWire()).action, RekeyAction::kSwitchBackward);
}

// A client that follows its schedule, with backward cells in flight and forced rekeys at the
// earliest moment, never trips the relay's limits: the relay's count is never below the
// client's, and the backward cells in flight stay within slack. The relay's backward sending is
// held to a window (as Tor's circuit SENDME window holds it) that forward cells acknowledge.
TEST(RekeyEndToEnd, HonestClientNeverViolatesTheRelayLimits) {
  constexpr uint64_t kWindow = 12;  // < slack (16): what `slack` is sized to cover
  for (bool randomize : {false, true}) {
    RekeyConfig config = Small();
    config.randomize = randomize;
    config.min_spacing = randomize ? 40 : 8;
    ASSERT_EQ(config.Validate(), RekeyConfigError::kOk);
    ClientHopRekey client(config, RekeyCapability::kRekeyable);
    RelayHopRekey relay(config, RekeyCapability::kRekeyable);

    enum class Kind { kData, kRekey, kAck };
    struct Cell {
      Kind kind;
      std::vector<uint8_t> body;
      uint64_t acked_backward = 0;  // forward cells: backward cells the client had received
    };
    std::deque<Cell> forward, backward;  // cells in flight
    uint64_t client_received = 0, relay_sent = 0, relay_acked = 0;
    uint32_t lcg = 12345;
    auto next = [&lcg] { return (lcg = lcg * 1103515245u + 12345u) >> 16; };
    int rekeys_done = 0;

    for (int step = 0; step < 40000; ++step) {
      const uint32_t r = next() % 8;
      if (step % 997 == 0) client.RequestRekey();
      if (client.Due()) {
        RekeyBody body;
        ASSERT_EQ(client.StartRekey(body).action, RekeyAction::kSendRekeyThenSwitchForward);
        ASSERT_EQ(client.CountForwardCell(), RekeyError::kNone);
        forward.push_back({Kind::kRekey, Wire(body), client_received});
      } else if (r < 2) {
        ASSERT_EQ(client.CountForwardCell(), RekeyError::kNone);
        forward.push_back({Kind::kData, {}, client_received});
      } else if (r < 4 && relay_sent - relay_acked < kWindow) {  // relay originates backward
        ASSERT_EQ(relay.CountCell(), RekeyError::kNone) << "step " << step;
        backward.push_back({Kind::kData, {}});
        ++relay_sent;
      } else if (r < 6 && !forward.empty()) {  // deliver forward
        const Cell cell = forward.front();
        forward.pop_front();
        relay_acked = cell.acked_backward;
        ASSERT_EQ(relay.CountCell(), RekeyError::kNone) << "step " << step;
        if (cell.kind == Kind::kRekey) {
          RekeyBody body;
          const RekeyStep s = relay.OnRekeyCell(0, cell.body, body);
          ASSERT_EQ(s.action, RekeyAction::kSendAckThenSwitchBoth)
              << RekeyErrorName(s.error) << " at step " << step;
          ASSERT_EQ(relay.CountCell(), RekeyError::kNone);  // the ACK, on the new count
          backward.push_back({Kind::kAck, AckWire()});
          ++relay_sent;
          ++rekeys_done;
        }
      } else if (!backward.empty()) {  // deliver backward
        const Cell cell = backward.front();
        backward.pop_front();
        ++client_received;
        ASSERT_EQ(client.CountBackwardCell(), RekeyError::kNone) << "step " << step;
        if (cell.kind == Kind::kAck) {
          ASSERT_EQ(client.OnRekeyCell(0, cell.body).action, RekeyAction::kSwitchBackward);
        }
      }
    }
    EXPECT_GT(rekeys_done, 20) << "randomize " << randomize;
    EXPECT_NE(client.state(), ClientRekeyState::kClosed);
    EXPECT_NE(relay.state(), RelayRekeyState::kClosed);
  }
}

}  // namespace
}  // namespace relaycell
