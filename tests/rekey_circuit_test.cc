// RELAY_REKEY wired into ClientCircuit / RelayCircuit (protocol §6–§7): the exchange, the key
// switch on both sides, and every protocol error through real circuits, each with its own
// counted reason.
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "circuit/client_circuit.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_circuit.h"
#include "circuit/relay_header.h"
#include "engine/suite/cell_suite.h"
#include "engine/rekey/rekey_config.h"
#include "engine/rekey/rekey_limits.h"
#include "tests/circuit_test_util.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using testing::Cell;
using testing::SeedFor;
using testing::TestData;

RekeyConfig SmallConfig() {
  RekeyConfig config;
  config.first = 64;
  config.interval = 256;
  config.slack = 16;
  config.min_spacing = 8;
  return config;
}

struct Net {
  ClientCircuit client;
  std::vector<RelayCircuit> relays;
  int hops = 0;
  static constexpr uint32_t kBaseId = 900;

  void Build(const CellSuite& suite, int n, const RekeyConfig& client_config,
             const RekeyConfig& relay_config) {
    hops = n;
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int i = 0; i < n; ++i) seeds.push_back(SeedFor(suite, i + 1));
    for (auto& s : seeds) views.emplace_back(s);
    ASSERT_EQ(ClientCircuit::Create(suite, kBaseId, views, client_config, client), SuiteError::kOk);
    relays.resize(size_t(n));
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(RelayCircuit::Create(suite, seeds[size_t(i)], kBaseId + uint32_t(i),
                                     i + 1 < n ? kBaseId + uint32_t(i) + 1 : 0, relay_config,
                                     RekeyEnforcer::Mode::kEnforce, relays[size_t(i)]),
                SuiteError::kOk);
    }
  }
  void Build(int n, const RekeyConfig& config) { Build(AezCellSuite(), n, config, config); }

  // A cell the client built for `hop`, through relays 1..hop; the target's result.
  CellResult Forward(int hop, Cell& cell) {
    CellResult r;
    for (int i = 0; i < hop; ++i) {
      r = relays[size_t(i)].HandleForward(cell);
      if (i + 1 < hop && r.outcome != CellOutcome::kForward) return r;
    }
    return r;
  }
  // A cell relay `hop` originated, through relays hop-1..1 to the client.
  CellResult Backward(int hop, Cell& cell) {
    for (int i = hop - 2; i >= 0; --i) {
      const CellResult r = relays[size_t(i)].HandleBackward(cell);
      if (r.outcome != CellOutcome::kForward) return r;
    }
    return client.Receive(cell);
  }
  // Runs every due rekey to completion (REKEY out, ACK back); returns how many ran.
  int RunRekeys() {
    int done = 0;
    Cell cell{};
    int hop = 0;
    while (client.PollControlCell(cell, &hop)) {
      const CellResult at_relay = Forward(hop, cell);
      EXPECT_EQ(at_relay.outcome, CellOutcome::kIgnored);
      EXPECT_TRUE(relays[size_t(hop - 1)].PollControlCell(cell));
      const CellResult back = Backward(hop, cell);
      EXPECT_EQ(back.outcome, CellOutcome::kIgnored);
      EXPECT_EQ(back.hop, hop);
      ++done;
    }
    return done;
  }
  // One DATA cell to `hop` and one back, both checked byte for byte.
  void RoundTrip(int hop, uint32_t salt) {
    const std::vector<uint8_t> out = TestData(100 + salt % 300, salt);
    Cell cell{};
    ASSERT_EQ(
        client.Originate(hop, {RelayCommand::kData, 3, uint16_t(out.size())}, out, false, cell),
        OriginateError::kOk);
    CellResult r = Forward(hop, cell);
    ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << ProtocolErrorName(r.error);
    ASSERT_EQ(std::vector<uint8_t>(r.data.begin(), r.data.end()), out);
    const std::vector<uint8_t> back = TestData(50 + salt % 400, salt + 7);
    ASSERT_EQ(relays[size_t(hop - 1)].Originate({RelayCommand::kData, 3, uint16_t(back.size())},
                                                back, cell),
              OriginateError::kOk);
    r = Backward(hop, cell);
    ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << ProtocolErrorName(r.error);
    ASSERT_EQ(r.hop, hop);
    ASSERT_EQ(std::vector<uint8_t>(r.data.begin(), r.data.end()), back);
  }
};

// A raw REKEY payload (aez layout) with any stream_id and body, for the violations.
std::array<uint8_t, kCellBodyBytes> RekeyPayload(uint16_t stream_id, std::vector<uint8_t> body) {
  std::array<uint8_t, kCellBodyBytes> payload{};
  EXPECT_TRUE(BuildRelayPayload(
      kAezRelayFormat, {RelayCommand::kRekey, stream_id, uint16_t(body.size())}, body, payload));
  return payload;
}
std::vector<uint8_t> Method1(size_t data_bytes) {
  std::vector<uint8_t> body = {0, 1};
  for (size_t i = 0; i < data_bytes; ++i) body.push_back(uint8_t(i * 7 + 1));
  return body;
}

// The client sends a crafted REKEY to `hop`: the relay must destroy with `want`.
void ExpectRelayRefuses(Net& net, int hop, uint16_t stream_id, std::vector<uint8_t> body,
                        ProtocolError want) {
  Cell cell{};
  ASSERT_EQ(net.client.OriginatePayload(hop, RekeyPayload(stream_id, body), false, cell),
            OriginateError::kOk);
  const CellResult r = net.Forward(hop, cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, want) << ProtocolErrorName(r.error);
  EXPECT_EQ(r.destroy_reason, DestroyReason::kProtocol);
  const RelayCircuit& relay = net.relays[size_t(hop - 1)];
  EXPECT_EQ(relay.errors()[want], 1u);
  EXPECT_EQ(relay.errors().Total(), 1u);
  EXPECT_FALSE(relay.is_open());
  EXPECT_FALSE(relay.has_control_cell());
  for (size_t i = kCellBytes - kCellBodyBytes; i < kCellBytes; ++i)
    ASSERT_EQ(cell[i], 0) << "a refused cell is wiped";
}

// Relay `hop` sends a crafted REKEY to the client: the client must destroy with `want`.
void ExpectClientRefuses(Net& net, int hop, uint16_t stream_id, std::vector<uint8_t> body,
                         ProtocolError want) {
  Cell cell{};
  ASSERT_EQ(net.relays[size_t(hop - 1)].OriginatePayload(RekeyPayload(stream_id, body), cell),
            OriginateError::kOk);
  const CellResult r = net.Backward(hop, cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, want) << ProtocolErrorName(r.error);
  EXPECT_EQ(net.client.errors()[want], 1u);
  EXPECT_EQ(net.client.errors().Total(), 1u);
  EXPECT_FALSE(net.client.is_open());
  EXPECT_EQ(net.client.destroy_reason(), DestroyReason::kProtocol);
}

TEST(RekeyCircuit, ScheduledRekeysKeepEveryHopWorking) {
  Net net;
  net.Build(3, SmallConfig());
  int rekeys = 0;
  for (uint32_t i = 0; i < 1500; ++i) {
    net.RoundTrip(int(i % 3) + 1, i);
    rekeys += net.RunRekeys();
  }
  for (int hop = 1; hop <= 3; ++hop) {
    EXPECT_GE(net.client.hop_rekey(hop).schedule().rekeys_sent(), 3u) << hop;
    EXPECT_EQ(net.relays[size_t(hop - 1)].rekey().enforcer().switches(),
              net.client.hop_rekey(hop).schedule().rekeys_sent());
    EXPECT_EQ(net.client.hop_rekey(hop).state(), ClientRekeyState::kIdle);
  }
  EXPECT_GT(rekeys, 9);
  EXPECT_EQ(net.client.errors().Total(), 0u);
}

TEST(RekeyCircuit, RekeyChangesTheKeysOnBothSides) {
  // Two identical circuits; one rekeys hop 2. Afterwards the same plaintext gives different
  // link bytes, and both still deliver.
  Net a, b;
  a.Build(3, SmallConfig());
  b.Build(3, SmallConfig());
  for (int i = 0; i < 10; ++i) {
    a.RoundTrip(2, i);
    b.RoundTrip(2, i);
  }
  ASSERT_EQ(a.client.RequestRekey(2), RekeyError::kNone);
  EXPECT_EQ(a.RunRekeys(), 1);
  const std::vector<uint8_t> data = TestData(64, 99);
  Cell ca{}, cb{};
  ASSERT_EQ(a.client.Originate(2, {RelayCommand::kData, 1, 64}, data, false, ca),
            OriginateError::kOk);
  ASSERT_EQ(b.client.Originate(2, {RelayCommand::kData, 1, 64}, data, false, cb),
            OriginateError::kOk);
  // Hop 1's layer is identical; hop 2's is not: peel hop 1 and compare.
  ASSERT_EQ(a.relays[0].HandleForward(ca).outcome, CellOutcome::kForward);
  ASSERT_EQ(b.relays[0].HandleForward(cb).outcome, CellOutcome::kForward);
  EXPECT_NE(std::memcmp(ca.data() + 5, cb.data() + 5, kCellBodyBytes), 0);
  EXPECT_EQ(a.relays[1].HandleForward(ca).outcome, CellOutcome::kDelivered);
  for (int i = 0; i < 10; ++i) a.RoundTrip(2, 100 + i);
}

TEST(RekeyCircuit, OriginateRefusesARekeyHeader) {
  Net net;
  net.Build(2, SmallConfig());
  Cell cell{};
  const uint8_t body[2] = {0, 1};
  EXPECT_EQ(net.client.Originate(1, {RelayCommand::kRekey, 0, 2}, body, false, cell),
            OriginateError::kBadPayload);
  EXPECT_EQ(net.relays[0].Originate({RelayCommand::kRekey, 0, 2}, body, cell),
            OriginateError::kBadPayload);
  net.RoundTrip(2, 1);
}

// ---- protocol §6 errors at the relay ----

TEST(RekeyCircuit, UnknownMethodAtRelay) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(2, i);
  ExpectRelayRefuses(net, 2, 0, {0, 2}, ProtocolError::kRekeyUnknownMethod);
}
TEST(RekeyCircuit, UnknownMethodAtClient) {
  Net net;
  net.Build(2, SmallConfig());
  ExpectClientRefuses(net, 2, 0, {0x12, 0x34}, ProtocolError::kRekeyUnknownMethod);
}
TEST(RekeyCircuit, Method1WithShortData) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(3, i);
  ExpectRelayRefuses(net, 3, 0, Method1(31), ProtocolError::kRekeyBadDataLength);
}
TEST(RekeyCircuit, Method1WithLongData) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(1, i);
  ExpectRelayRefuses(net, 1, 0, Method1(33), ProtocolError::kRekeyBadDataLength);
}
TEST(RekeyCircuit, TruncatedBody) {
  Net net;
  net.Build(1, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(1, i);
  ExpectRelayRefuses(net, 1, 0, {1}, ProtocolError::kRekeyTruncatedBody);
}
TEST(RekeyCircuit, AckAtRelay) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(2, i);
  ExpectRelayRefuses(net, 2, 0, {0, 0}, ProtocolError::kRekeyAckAtRelay);
}
TEST(RekeyCircuit, NonZeroStreamIdAtRelay) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(3, i);
  ExpectRelayRefuses(net, 3, 5, Method1(32), ProtocolError::kRekeyNonZeroStreamId);
}
TEST(RekeyCircuit, NonZeroStreamIdAtClient) {
  Net net;
  net.Build(2, SmallConfig());
  ExpectClientRefuses(net, 1, 1, {0, 0}, ProtocolError::kRekeyNonZeroStreamId);
}
TEST(RekeyCircuit, TooSoonAfterCreation) {
  Net net;
  net.Build(3, SmallConfig());  // min_spacing 8: the REKEY is the 3rd cell at hop 2
  net.RoundTrip(2, 1);
  ExpectRelayRefuses(net, 2, 0, Method1(32), ProtocolError::kRekeyTooSoon);
}
TEST(RekeyCircuit, TooSoonAfterASwitch) {
  Net net;
  net.Build(2, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(2, i);
  ASSERT_EQ(net.client.RequestRekey(2), RekeyError::kNone);
  ASSERT_EQ(net.RunRekeys(), 1);
  // The client's own schedule would wait; a REKEY built by hand does not.
  ExpectRelayRefuses(net, 2, 0, Method1(32), ProtocolError::kRekeyTooSoon);
}
TEST(RekeyCircuit, SecondRekeyBeforeTheAckLeftIsRefused) {
  RekeyConfig config = SmallConfig();
  config.min_spacing = 0;
  Net net;
  net.Build(1, config);
  Cell cell{};
  ASSERT_EQ(net.client.RequestRekey(1), RekeyError::kNone);
  ASSERT_TRUE(net.client.PollControlCell(cell));
  ASSERT_EQ(net.Forward(1, cell).outcome, CellOutcome::kIgnored);
  ASSERT_TRUE(net.relays[0].has_control_cell());
  // The relay's host has not sent the ACK; a second REKEY arrives (crafted, under the client's
  // new forward keys). Two rekeys outstanding: refused.
  ExpectRelayRefuses(net, 1, 0, Method1(32), ProtocolError::kRekeyTooSoon);
}
TEST(RekeyCircuit, ClientNotRekeyingInTime) {
  // The relay holds the client to first = 64 + slack 16; this client's schedule is the default.
  Net net;
  net.Build(AezCellSuite(), 2, RekeyConfig{}, SmallConfig());
  const uint64_t deadline = 64 + 16;
  Cell cell{};
  const std::vector<uint8_t> data = TestData(10, 1);
  for (uint64_t i = 0; i < deadline; ++i) {  // forward and backward alternate: both count
    if (i % 2 == 0) {
      ASSERT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
                OriginateError::kOk);
      ASSERT_EQ(net.Forward(1, cell).outcome, CellOutcome::kDelivered) << i;
    } else {
      ASSERT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell),
                OriginateError::kOk);
      ASSERT_EQ(net.Backward(1, cell).outcome, CellOutcome::kDelivered) << i;
    }
  }
  ASSERT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
            OriginateError::kOk);
  const CellResult r = net.Forward(1, cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, ProtocolError::kRekeyOverdue);
  EXPECT_EQ(net.relays[0].errors()[ProtocolError::kRekeyOverdue], 1u);
}
TEST(RekeyCircuit, RelayOriginatePastTheDeadlineCloses) {
  Net net;
  net.Build(AezCellSuite(), 1, RekeyConfig{}, SmallConfig());
  Cell cell{};
  const std::vector<uint8_t> data = TestData(10, 1);
  for (int i = 0; i < 80; ++i) {
    ASSERT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell),
              OriginateError::kOk);
  }
  EXPECT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell),
            OriginateError::kClosed);
  EXPECT_FALSE(net.relays[0].is_open());
  EXPECT_EQ(net.relays[0].errors()[ProtocolError::kRekeyOverdue], 1u);
  EXPECT_EQ(net.relays[0].destroy_reason(), DestroyReason::kProtocol);
}
TEST(RekeyCircuit, ClientThatNeverPollsClosesItselfAtItsCap) {
  Net net;
  net.Build(2, SmallConfig());
  Cell cell{};
  const std::vector<uint8_t> data = TestData(10, 1);
  for (int i = 0; i < 80; ++i) {
    ASSERT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
              OriginateError::kOk)
        << i;
  }
  EXPECT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
            OriginateError::kClosed);
  EXPECT_EQ(net.client.errors()[ProtocolError::kRekeyOverdue], 1u);
  EXPECT_EQ(net.client.destroy_reason(), DestroyReason::kProtocol);
}

// ---- protocol §6 errors at the client ----

TEST(RekeyCircuit, Method1AtClient) {
  Net net;
  net.Build(3, SmallConfig());
  ExpectClientRefuses(net, 3, 0, Method1(32), ProtocolError::kRekeyClientMethodAtClient);
}
TEST(RekeyCircuit, AckWithData) {
  Net net;
  net.Build(3, SmallConfig());
  ExpectClientRefuses(net, 2, 0, {0, 0, 0xaa}, ProtocolError::kRekeyAckWithData);
}
TEST(RekeyCircuit, AckWithNothingPending) {
  Net net;
  net.Build(3, SmallConfig());
  for (int i = 0; i < 5; ++i) net.RoundTrip(3, i);
  ExpectClientRefuses(net, 3, 0, {0, 0}, ProtocolError::kRekeyAckWithoutPending);
}
TEST(RekeyCircuit, AckNeverComing) {
  // The client waits for hop 1's ACK; more than `slack` backward cells arrive on the old keys.
  Net net;
  net.Build(2, SmallConfig());
  for (int i = 0; i < 20; ++i) net.RoundTrip(1, i);
  ASSERT_EQ(net.client.RequestRekey(1), RekeyError::kNone);
  Cell cell{};
  ASSERT_TRUE(net.client.PollControlCell(cell));  // never delivered to the relay
  const std::vector<uint8_t> data = TestData(10, 1);
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell),
              OriginateError::kOk);
    ASSERT_EQ(net.Backward(1, cell).outcome, CellOutcome::kDelivered) << i;
  }
  ASSERT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell), OriginateError::kOk);
  const CellResult r = net.Backward(1, cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, ProtocolError::kRekeyAckOverdue);
  EXPECT_EQ(net.client.errors()[ProtocolError::kRekeyAckOverdue], 1u);
}

// ---- tor1 ----

TEST(RekeyCircuit, RekeyOnTor1ClosesBothSides) {
  Net net;
  net.Build(Tor1CellSuite(), 2, RekeyConfig{}, RekeyConfig{});
  EXPECT_EQ(net.client.RequestRekey(1), RekeyError::kNotRekeyable);
  Cell cell{};
  EXPECT_FALSE(net.client.PollControlCell(cell));
  const uint8_t ack[2] = {0, 0};
  std::array<uint8_t, kCellBodyBytes> payload{};
  ASSERT_TRUE(BuildRelayPayload(kTor1RelayFormat, {RelayCommand::kRekey, 0, 2}, ack, payload));
  ASSERT_EQ(net.relays[1].OriginatePayload(payload, cell), OriginateError::kOk);
  CellResult r = net.Backward(2, cell);
  EXPECT_EQ(r.error, ProtocolError::kRekeyUnsupported);
  EXPECT_STREQ(ProtocolErrorCounterName(r.error), "rekey_on_tor1");
  EXPECT_EQ(net.client.errors()[ProtocolError::kRekeyUnsupported], 1u);

  Net other;
  other.Build(Tor1CellSuite(), 2, RekeyConfig{}, RekeyConfig{});
  const std::vector<uint8_t> body = Method1(32);
  ASSERT_TRUE(BuildRelayPayload(kTor1RelayFormat, {RelayCommand::kRekey, 0, 34}, body, payload));
  ASSERT_EQ(other.client.OriginatePayload(2, payload, false, cell), OriginateError::kOk);
  r = other.Forward(2, cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, ProtocolError::kRekeyUnsupported);
  EXPECT_EQ(other.relays[1].errors()[ProtocolError::kRekeyUnsupported], 1u);
}

TEST(RekeyCircuit, Tor1IsNeverHeldToARekeyDeadline) {
  Net net;
  net.Build(Tor1CellSuite(), 1, SmallConfig(), SmallConfig());
  for (int i = 0; i < 300; ++i) net.RoundTrip(1, i);  // far past first + slack
  EXPECT_TRUE(net.client.is_open());
  EXPECT_TRUE(net.relays[0].is_open());
}

// ---- production defaults (2^15, then 2^32), counters preset just below ----

TEST(RekeyCircuit, ProductionFirstRekeyAt2p15) {
  Net net;
  net.Build(2, RekeyConfig{});
  const uint64_t first = kDefaultFirstRekeyCells;
  ASSERT_EQ(first, uint64_t{1} << 15);
  net.client.hop_rekey(2).PresetCountForTesting(first - 2);
  net.relays[1].rekey().PresetCountForTesting(first - 2);
  Cell cell{};
  net.RoundTrip(2, 1);  // the count reaches 2^15 exactly
  EXPECT_EQ(net.client.hop_rekey(2).schedule().cells(), first);
  EXPECT_EQ(net.RunRekeys(), 1);
  EXPECT_FALSE(net.client.PollControlCell(cell));
  // Next: 2^32 under the new keys.
  const uint64_t interval = kDefaultRekeyIntervalCells;
  ASSERT_EQ(interval, uint64_t{1} << 32);
  net.client.hop_rekey(2).PresetCountForTesting(interval - 2);
  net.relays[1].rekey().PresetCountForTesting(interval - 2);
  net.RoundTrip(2, 2);
  EXPECT_EQ(net.RunRekeys(), 1);
  EXPECT_EQ(net.relays[1].rekey().enforcer().switches(), 2u);
  net.RoundTrip(2, 3);
}

TEST(RekeyCircuit, ProductionRelayDeadlineAt2p15PlusSlack) {
  Net net;
  net.Build(AezCellSuite(), 1, RekeyConfig{}, RekeyConfig{});
  const uint64_t deadline = kDefaultFirstRekeyCells + kDefaultRekeySlackCells;
  net.relays[0].rekey().PresetCountForTesting(deadline - 1);
  const std::vector<uint8_t> data = TestData(10, 1);
  Cell cell{};
  ASSERT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
            OriginateError::kOk);
  ASSERT_EQ(net.Forward(1, cell).outcome, CellOutcome::kDelivered);  // count == deadline: ok
  ASSERT_EQ(net.client.Originate(1, {RelayCommand::kData, 1, 10}, data, false, cell),
            OriginateError::kOk);
  const CellResult r = net.Forward(1, cell);
  EXPECT_EQ(r.error, ProtocolError::kRekeyOverdue);
}

TEST(RekeyCircuit, ProductionRelayDeadlineAfterFirstRekey) {
  Net net;
  net.Build(AezCellSuite(), 1, RekeyConfig{}, RekeyConfig{});
  net.client.hop_rekey(1).PresetCountForTesting(kDefaultFirstRekeyCells - 1);
  net.relays[0].rekey().PresetCountForTesting(kDefaultFirstRekeyCells - 1);
  net.RoundTrip(1, 1);
  ASSERT_EQ(net.RunRekeys(), 1);
  const uint64_t deadline = kDefaultRekeyIntervalCells + kDefaultRekeySlackCells;
  net.relays[0].rekey().PresetCountForTesting(deadline - 1);
  const std::vector<uint8_t> data = TestData(10, 1);
  Cell cell{};
  ASSERT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell), OriginateError::kOk);
  EXPECT_EQ(net.relays[0].Originate({RelayCommand::kData, 1, 10}, data, cell),
            OriginateError::kClosed);
  EXPECT_EQ(net.relays[0].errors()[ProtocolError::kRekeyOverdue], 1u);
}

TEST(RekeyCircuit, CounterNamesAreStable) {
  EXPECT_STREQ(ProtocolErrorCounterName(ProtocolError::kRekeyTooSoon), "rekey_too_soon");
  EXPECT_STREQ(ProtocolErrorCounterName(ProtocolError::kRekeyOverdue), "rekey_overdue");
  EXPECT_STREQ(ProtocolErrorCounterName(ProtocolError::kRekeyAckOverdue), "rekey_ack_overdue");
  EXPECT_STREQ(ProtocolErrorCounterName(ProtocolError::kRekeyBadDataLength),
               "rekey_bad_data_length");
  EXPECT_EQ(ProtocolErrorFromRekey(RekeyError::kAlreadyPending), ProtocolError::kNone);
  // Every rekey violation maps to its own circuit reason.
  std::vector<ProtocolError> seen;
  for (size_t i = 1; i < kRekeyErrorCount; ++i) {
    const RekeyError e = RekeyError(i);
    const ProtocolError p = ProtocolErrorFromRekey(e);
    if (!IsRekeyProtocolViolation(e)) continue;
    ASSERT_NE(p, ProtocolError::kNone) << RekeyErrorName(e);
    EXPECT_STREQ(ProtocolErrorCounterName(p), RekeyErrorName(e));
    for (ProtocolError q : seen) EXPECT_NE(p, q);
    seen.push_back(p);
  }
}

}  // namespace
}  // namespace relaycell
