// Extending circuits (network.md §3–§4): the new DESTROY reasons and relay commands, the relay's
// RELAY_EARLY limit, clients built hop by hop and truncated, relays that gain and lose a next
// hop, and the relay pipeline's kAttachNext / kDetachNext / kClose / kNextDestroyed, run
// directly and under ShardedPipeline. The circuit tests run on every registered suite.
#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "circuit/cell.h"
#include "circuit/client_circuit.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "circuit/protocol_error.h"
#include "circuit/relay_circuit.h"
#include "circuit/relay_header.h"
#include "circuit_test_util.h"

namespace relaycell {
namespace {

using testing::AllSuiteIds;
using testing::Cell;
using testing::SeedFor;
using testing::SuiteParamName;
using testing::TestData;

constexpr uint32_t kBase = 7000;

// ---------------------------------------------------------------- cells and commands

TEST(CircuitExtendCells, NewDestroyReasonsParse) {
  const std::pair<DestroyReason, const char*> added[] = {
      {DestroyReason::kConnectFailed, "CONNECTFAILED"},
      {DestroyReason::kOrIdentity, "OR_IDENTITY"},
      {DestroyReason::kChannelClosed, "CHANNEL_CLOSED"},
      {DestroyReason::kTimeout, "TIMEOUT"},
  };
  const uint8_t numbers[] = {6, 7, 8, 10};
  for (size_t i = 0; i < std::size(added); ++i) {
    EXPECT_EQ(uint8_t(added[i].first), numbers[i]);
    EXPECT_STREQ(DestroyReasonName(added[i].first), added[i].second);
    Cell cell{};
    BuildDestroyCell(9, added[i].first, cell);
    const ParsedCell parsed = ParseCell(cell);
    ASSERT_TRUE(parsed.ok()) << added[i].second;
    EXPECT_EQ(parsed.header.destroy_reason, added[i].first);
  }
  for (const uint8_t unknown : {4, 12, 255}) EXPECT_FALSE(IsKnownDestroyReason(unknown));
  // VERSIONS is the link layer's: named, but never a cell of a circuit.
  EXPECT_STREQ(CellCommandName(CellCommand::kVersions), "VERSIONS");
  Cell cell{};
  WriteCellHeader(9, CellCommand::kVersions, cell);
  EXPECT_EQ(ParseCell(cell).error, ProtocolError::kUnknownCellCommand);
}

class CircuitExtend : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
};

// Where a forward cell from the client stopped: the relay (0-based) and what it did.
struct Reached {
  int relay = -1;
  CellResult result;
};
Reached Forward(std::vector<RelayCircuit>& relays, Cell& cell) {
  for (size_t i = 0; i < relays.size(); ++i) {
    const CellResult r = relays[i].HandleForward(cell);
    if (r.outcome != CellOutcome::kForward) return {int(i), r};
  }
  return {};
}
// A backward cell that relay `from` (0-based) originated, layered by the relays before it.
void Backward(std::vector<RelayCircuit>& relays, size_t from, Cell& cell) {
  for (size_t i = from; i-- > 0;) {
    ASSERT_EQ(relays[i].HandleBackward(cell).outcome, CellOutcome::kForward) << i;
  }
}
std::vector<uint8_t> Bytes(std::span<const uint8_t> data) { return {data.begin(), data.end()}; }

// Stream ids as each command takes them (cgo: only BEGIN and CONNECTED of these carry one).
uint16_t StreamFor(RelayCommand command) {
  return command == RelayCommand::kBegin || command == RelayCommand::kConnected ? 5 : 0;
}

TEST_P(CircuitExtend, NewRelayCommandsTravelBothWays) {
  testing::Path path;
  path.Build(suite(), 2);
  for (const RelayCommand command :
       {RelayCommand::kBegin, RelayCommand::kConnected, RelayCommand::kTruncated,
        RelayCommand::kExtend2, RelayCommand::kExtended2}) {
    SCOPED_TRACE(RelayCommandName(command));
    EXPECT_TRUE(IsKnownRelayCommand(uint8_t(command)));
    const RelayHeader header{command, StreamFor(command), 40};
    const auto data = TestData(40, uint8_t(command));
    for (int hop = 1; hop <= 2; ++hop) {
      Cell cell;
      ASSERT_EQ(path.client.Originate(hop, header, data, command == RelayCommand::kExtend2, cell),
                OriginateError::kOk);
      const Reached stop = Forward(path.relays, cell);
      ASSERT_EQ(stop.relay, hop - 1);
      ASSERT_EQ(stop.result.outcome, CellOutcome::kDelivered) << int(stop.result.error);
      EXPECT_EQ(stop.result.header.command, command);
      EXPECT_EQ(stop.result.header.stream_id, header.stream_id);
      EXPECT_EQ(Bytes(stop.result.data), data);

      ASSERT_EQ(path.relays[size_t(hop - 1)].Originate(header, data, cell), OriginateError::kOk);
      Backward(path.relays, size_t(hop - 1), cell);
      const CellResult back = path.client.Receive(cell);
      ASSERT_EQ(back.outcome, CellOutcome::kDelivered) << int(back.error);
      EXPECT_EQ(back.hop, hop);
      EXPECT_EQ(back.header.command, command);
      EXPECT_EQ(Bytes(back.data), data);
    }
  }
}

// ---------------------------------------------------------------- RELAY_EARLY limit

TEST_P(CircuitExtend, NinthRelayEarlyClosesTheCircuit) {
  testing::Path path;
  path.Build(suite(), 2);
  const auto data = TestData(60, 1);
  const RelayHeader extend{RelayCommand::kExtend2, 0, uint16_t(data.size())};
  // Eight RELAY_EARLY, to either hop: relay 1 counts them all, recognized there or not.
  for (int n = 0; n < kMaxRelayEarlyCells; ++n) {
    const int hop = 1 + n % 2;
    Cell cell;
    ASSERT_EQ(path.client.Originate(hop, extend, data, true, cell), OriginateError::kOk);
    const Reached stop = Forward(path.relays, cell);
    ASSERT_EQ(stop.relay, hop - 1) << n;
    ASSERT_EQ(stop.result.outcome, CellOutcome::kDelivered) << n;
    EXPECT_TRUE(stop.result.early);
  }
  // Plain RELAY cells do not count.
  for (int n = 0; n < 3; ++n) {
    Cell cell;
    ASSERT_EQ(path.client.Originate(2, {RelayCommand::kData, 1, 60}, data, false, cell),
              OriginateError::kOk);
    ASSERT_EQ(Forward(path.relays, cell).result.outcome, CellOutcome::kDelivered);
  }
  // The ninth, for hop 2 (relay 1 cannot recognize it), closes the circuit at relay 1.
  Cell cell;
  ASSERT_EQ(path.client.Originate(2, extend, data, true, cell), OriginateError::kOk);
  const CellResult r = path.relays[0].HandleForward(cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, ProtocolError::kTooManyRelayEarly);
  EXPECT_EQ(r.destroy_reason, DestroyReason::kProtocol);
  EXPECT_FALSE(path.relays[0].is_open());
  EXPECT_EQ(path.relays[0].destroy_reason(), DestroyReason::kProtocol);
  EXPECT_EQ(path.relays[0].errors()[ProtocolError::kTooManyRelayEarly], 1u);
  EXPECT_STREQ(ProtocolErrorCounterName(ProtocolError::kTooManyRelayEarly), "too_many_relay_early");
  for (size_t i = kCellHeaderBytes; i < kCellBytes; ++i) ASSERT_EQ(cell[i], 0) << i;
}

// ---------------------------------------------------------------- clients hop by hop

std::vector<std::vector<uint8_t>> Seeds(const CellSuite& suite, int hops, int salt = 0) {
  std::vector<std::vector<uint8_t>> seeds;
  for (int h = 1; h <= hops; ++h) seeds.push_back(SeedFor(suite, salt + h));
  return seeds;
}

// A cell to `hop` from both clients must be the same bytes; it reaches that hop's relay. Then
// that relay answers, and both clients read the same cell from it.
void ExchangeWith(ClientCircuit& a, ClientCircuit& b, std::vector<RelayCircuit>& relays, int hop,
                  const RelayHeader& header, std::span<const uint8_t> data, bool early) {
  SCOPED_TRACE(hop);
  Cell cell_a, cell_b;
  ASSERT_EQ(a.Originate(hop, header, data, early, cell_a), OriginateError::kOk);
  ASSERT_EQ(b.Originate(hop, header, data, early, cell_b), OriginateError::kOk);
  ASSERT_EQ(cell_a, cell_b);
  const Reached stop = Forward(relays, cell_a);
  ASSERT_EQ(stop.relay, hop - 1);
  ASSERT_EQ(stop.result.outcome, CellOutcome::kDelivered) << int(stop.result.error);
  EXPECT_EQ(stop.result.header.command, header.command);
  EXPECT_EQ(Bytes(stop.result.data), Bytes(data));

  const RelayHeader reply{RelayCommand::kData, 1, uint16_t(data.size())};
  ASSERT_EQ(relays[size_t(hop - 1)].Originate(reply, data, cell_a), OriginateError::kOk);
  Backward(relays, size_t(hop - 1), cell_a);
  cell_b = cell_a;
  const CellResult got_a = a.Receive(cell_a);
  const CellResult got_b = b.Receive(cell_b);
  ASSERT_EQ(got_a.outcome, CellOutcome::kDelivered) << int(got_a.error);
  ASSERT_EQ(got_b.outcome, CellOutcome::kDelivered) << int(got_b.error);
  EXPECT_EQ(got_a.hop, hop);
  EXPECT_EQ(got_b.hop, hop);
  EXPECT_EQ(cell_a, cell_b);  // the plaintext, byte for byte
  EXPECT_EQ(Bytes(got_a.data), Bytes(data));
}

TEST_P(CircuitExtend, HopByHopEqualsAllAtOnce) {
  constexpr int kHops = 3;
  const auto seeds = Seeds(suite(), kHops);
  std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
  ClientCircuit at_once, stepwise;
  ASSERT_EQ(ClientCircuit::Create(suite(), kBase, views, RekeyConfig{}, at_once), SuiteError::kOk);
  ASSERT_EQ(ClientCircuit::Create(suite(), kBase, views[0], RekeyConfig{}, stepwise),
            SuiteError::kOk);
  EXPECT_EQ(stepwise.hops(), 1);
  // Relay i is known as kBase + i towards the client; it learns its next hop when extended.
  std::vector<RelayCircuit> relays(1);
  ASSERT_EQ(RelayCircuit::Create(suite(), seeds[0], kBase, 0, relays[0]), SuiteError::kOk);
  const auto data = TestData(100, 7);
  for (int built = 1;; ++built) {
    // Everything so far, to and from each hop (RELAY_EARLY to the newest).
    for (int hop = 1; hop <= built; ++hop) {
      ExchangeWith(stepwise, at_once, relays, hop, {RelayCommand::kData, 3, 100}, data,
                   hop == built);
    }
    if (built == kHops) break;
    // EXTEND2 to the last hop, EXTENDED2 back (the same on both clients), then the new hop.
    ExchangeWith(stepwise, at_once, relays, built, {RelayCommand::kExtend2, 0, 100}, data, true);
    relays.emplace_back();
    ASSERT_EQ(RelayCircuit::Create(suite(), seeds[size_t(built)], kBase + uint32_t(built), 0,
                                   relays.back()),
              SuiteError::kOk);
    relays[size_t(built - 1)].AttachNext(kBase + uint32_t(built));
    EXPECT_EQ(relays[size_t(built - 1)].next_side_id(), kBase + uint32_t(built));
    ASSERT_EQ(stepwise.AddHop(seeds[size_t(built)]), SuiteError::kOk);
    EXPECT_EQ(stepwise.hops(), built + 1);
  }
  EXPECT_EQ(stepwise.hops(), at_once.hops());
}

TEST_P(CircuitExtend, AddedHopsKeepTheRekeyConfig) {
  RekeyConfig config;
  config.first = 1000;
  config.interval = 5000;
  config.slack = 100;
  config.min_spacing = 10;
  ASSERT_EQ(config.Validate(), RekeyConfigError::kOk);
  const auto seeds = Seeds(suite(), 2);
  ClientCircuit circuit;
  ASSERT_EQ(ClientCircuit::Create(suite(), kBase, seeds[0], config, circuit), SuiteError::kOk);
  ASSERT_EQ(circuit.AddHop(seeds[1]), SuiteError::kOk);
  EXPECT_EQ(circuit.hop_rekey(2).schedule().config().first, 1000u);
  EXPECT_EQ(circuit.hop_rekey(2).schedule().config().interval, 5000u);
}

TEST_P(CircuitExtend, TruncatedThenExtendedAgain) {
  testing::Path path;  // relay i: client side kBaseId + i, next side kBaseId + i + 1
  path.Build(suite(), 3);
  const auto data = TestData(80, 3);
  // Hop 3's DESTROY reaches relay 2: it loses its next side only, and says so with TRUNCATED.
  Cell cell;
  BuildDestroyCell(path.relays[1].next_side_id(), DestroyReason::kResourceLimit, cell);
  const CellResult r = path.relays[1].HandleBackward(cell);
  ASSERT_EQ(r.outcome, CellOutcome::kNextDestroyed);
  EXPECT_EQ(r.destroy_reason, DestroyReason::kResourceLimit);
  EXPECT_TRUE(path.relays[1].is_open());
  EXPECT_EQ(path.relays[1].next_side_id(), 0u);
  const uint8_t reason = uint8_t(r.destroy_reason);
  ASSERT_EQ(path.relays[1].Originate({RelayCommand::kTruncated, 0, 1}, {&reason, 1}, cell),
            OriginateError::kOk);
  Backward(path.relays, 1, cell);
  const CellResult truncated = path.client.Receive(cell);
  ASSERT_EQ(truncated.outcome, CellOutcome::kDelivered);
  EXPECT_EQ(truncated.hop, 2);
  EXPECT_EQ(truncated.header.command, RelayCommand::kTruncated);
  ASSERT_EQ(truncated.data.size(), 1u);
  EXPECT_EQ(truncated.data[0], reason);

  path.client.TruncateTo(truncated.hop);
  EXPECT_EQ(path.client.hops(), 2);
  EXPECT_TRUE(path.client.is_open());
  EXPECT_EQ(path.client.Originate(3, {RelayCommand::kData, 1, 80}, data, false, cell),
            OriginateError::kNoSuchHop);
  path.client.TruncateTo(5);  // out of range: nothing changes
  path.client.TruncateTo(0);
  EXPECT_EQ(path.client.hops(), 2);

  // Extend again to a fresh hop 3, known at relay 2 by a fresh id.
  const auto seed = SeedFor(suite(), 40);
  constexpr uint32_t kNewId = testing::Path::kBaseId + 50;
  path.relays[2] = RelayCircuit();
  ASSERT_EQ(RelayCircuit::Create(suite(), seed, kNewId, 0, path.relays[2]), SuiteError::kOk);
  path.relays[1].AttachNext(kNewId);
  ASSERT_EQ(path.client.AddHop(seed), SuiteError::kOk);
  EXPECT_EQ(path.client.hops(), 3);
  for (int round = 0; round < 3; ++round) {
    for (int hop = 1; hop <= 3; ++hop) {
      SCOPED_TRACE(hop);
      ASSERT_EQ(path.client.Originate(hop, {RelayCommand::kData, 1, 80}, data, false, cell),
                OriginateError::kOk);
      const Reached stop = Forward(path.relays, cell);
      ASSERT_EQ(stop.relay, hop - 1);
      ASSERT_EQ(stop.result.outcome, CellOutcome::kDelivered);
      EXPECT_EQ(Bytes(stop.result.data), data);
      ASSERT_EQ(path.relays[size_t(hop - 1)].Originate({RelayCommand::kData, 1, 80}, data, cell),
                OriginateError::kOk);
      Backward(path.relays, size_t(hop - 1), cell);
      const CellResult back = path.client.Receive(cell);
      ASSERT_EQ(back.outcome, CellOutcome::kDelivered) << int(back.error);
      EXPECT_EQ(back.hop, hop);
    }
  }
}

TEST_P(CircuitExtend, AddHopRefusals) {
  const auto seeds = Seeds(suite(), kMaxHops + 1);
  ClientCircuit circuit;
  ASSERT_EQ(ClientCircuit::Create(suite(), kBase, seeds[0], RekeyConfig{}, circuit),
            SuiteError::kOk);
  for (int h = 2; h <= kMaxHops; ++h)
    ASSERT_EQ(circuit.AddHop(seeds[size_t(h - 1)]), SuiteError::kOk);
  EXPECT_EQ(circuit.hops(), kMaxHops);
  EXPECT_EQ(circuit.AddHop(seeds[size_t(kMaxHops)]), SuiteError::kBadHopCount);
  EXPECT_EQ(circuit.hops(), kMaxHops);
  Cell cell;
  EXPECT_EQ(circuit.Originate(kMaxHops, {RelayCommand::kData, 1, 0}, {}, false, cell),
            OriginateError::kOk);
  // A seed the suite refuses leaves the circuit as it was.
  circuit.TruncateTo(2);
  EXPECT_NE(circuit.AddHop({}), SuiteError::kOk);
  EXPECT_EQ(circuit.hops(), 2);
  EXPECT_EQ(circuit.AddHop(seeds[2]), SuiteError::kOk);
  EXPECT_EQ(circuit.hops(), 3);
  circuit.Destroy();
  EXPECT_EQ(circuit.AddHop(seeds[3]), SuiteError::kBadCircuitId);
}

TEST_P(CircuitExtend, RelayWithoutNextSideIsTheLastHop) {
  testing::Path path;
  path.Build(suite(), 2);
  const auto data = TestData(30, 9);
  const uint32_t old_next = path.relays[0].next_side_id();
  path.relays[0].DetachNext();
  EXPECT_TRUE(path.relays[0].is_open());
  EXPECT_EQ(path.relays[0].next_side_id(), 0u);
  // Its own cells still come through.
  Cell cell;
  ASSERT_EQ(path.client.Originate(1, {RelayCommand::kData, 1, 30}, data, false, cell),
            OriginateError::kOk);
  EXPECT_EQ(path.relays[0].HandleForward(cell).outcome, CellOutcome::kDelivered);
  // A cell on the old next-side id is refused.
  WriteCellHeader(old_next, CellCommand::kRelay, cell);
  {
    testing::Path other;
    other.Build(suite(), 2);
    other.relays[0].DetachNext();
    const CellResult r = other.relays[0].HandleBackward(cell);
    EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
    EXPECT_EQ(r.error, ProtocolError::kWrongCircId);
  }
  // A cell no layer here recognizes has nowhere to go: a protocol error (network.md §3).
  ASSERT_EQ(path.client.Originate(2, {RelayCommand::kData, 1, 30}, data, false, cell),
            OriginateError::kOk);
  const CellResult r = path.relays[0].HandleForward(cell);
  EXPECT_EQ(r.outcome, CellOutcome::kDestroyed);
  EXPECT_EQ(r.error, ProtocolError::kUnrecognized);
}

// ---------------------------------------------------------------- the relay pipeline

std::vector<OutItem> Process(RelayPipeline& pipeline, const std::vector<InCell>& items) {
  DirectOutput sink;
  pipeline.ProcessBatch(items, sink.output());
  return sink.items();
}
InCell Arrived(uint32_t channel, const Cell& cell) {
  InCell in;
  in.channel = channel;
  std::copy(cell.begin(), cell.end(), in.cell.bytes.begin());
  return in;
}
Cell CellOf(const OutItem& item) {
  Cell cell;
  std::copy(item.cell.bytes.begin(), item.cell.bytes.end(), cell.begin());
  return cell;
}
InCell Originated(const CellSuite& suite, uint32_t channel, uint32_t circ_id,
                  const RelayHeader& header, std::span<const uint8_t> data) {
  InCell in;
  in.kind = InKind::kOriginate;
  in.channel = channel;
  WriteCellHeader(circ_id, CellCommand::kRelay, in.cell.span());
  EXPECT_TRUE(BuildRelayPayload(suite.relay_format(), header, data, in.cell.payload()));
  return in;
}
void ExpectItem(const OutItem& item, OutKind kind, uint32_t channel, uint32_t circ_id) {
  EXPECT_EQ(int(item.kind), int(kind));
  EXPECT_EQ(item.channel, channel);
  EXPECT_EQ(item.cell.circ_id(), circ_id);
}
void ExpectDestroyItem(const OutItem& item, OutKind kind, uint32_t channel, uint32_t circ_id,
                       DestroyReason reason) {
  ExpectItem(item, kind, channel, circ_id);
  const ParsedCell parsed = ParseCell(item.cell.span());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.header.command, CellCommand::kDestroy);
  EXPECT_EQ(parsed.header.destroy_reason, reason);
}

constexpr uint32_t kClientChannel = 1, kNextChannel = 2, kTop = 0x80000000u;

TEST_P(CircuitExtend, PipelineAttachesAndDetachesTheNextSide) {
  RelayPipeline pipeline(RelayPipelineConfig{.max_circuits = 8});
  const auto seeds = Seeds(suite(), 2);
  std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
  constexpr uint32_t kId = 5, kOther = 9, kNext = kTop | 5;
  ClientCircuit client;
  ASSERT_EQ(ClientCircuit::Create(suite(), kId, views, RekeyConfig{}, client), SuiteError::kOk);
  RelayCircuit next_hop;
  ASSERT_EQ(RelayCircuit::Create(suite(), seeds[1], kNext, 0, next_hop), SuiteError::kOk);
  const auto data = TestData(50, 4);
  const auto other_seed = SeedFor(suite(), 20);
  InCell open_a, open_b;
  ASSERT_TRUE(EncodeRelayOpen(kClientChannel, kId, {suite().id(), 0, 0, seeds[0]}, open_a));
  ASSERT_TRUE(EncodeRelayOpen(kClientChannel, kOther,
                              {suite().id(), kNextChannel, kTop | kOther, other_seed}, open_b));
  EXPECT_TRUE(Process(pipeline, {open_a, open_b}).empty());

  // An EXTEND2 in RELAY_EARLY: delivered, naming the circuit by its client side.
  Cell cell;
  ASSERT_EQ(client.Originate(1, {RelayCommand::kExtend2, 0, 50}, data, true, cell),
            OriginateError::kOk);
  auto out = Process(pipeline, {Arrived(kClientChannel, cell)});
  ASSERT_EQ(out.size(), 1u);
  ExpectItem(out[0], OutKind::kDeliver, kClientChannel, kId);
  EXPECT_EQ(out[0].cell.command(), uint8_t(CellCommand::kRelayEarly));

  // Refusals: unknown circuit; a next-side key taken on either side; a circuit with a next side.
  InCell attach;
  EXPECT_FALSE(EncodeRelayAttachNext(kClientChannel, kId, kNextChannel, 0, attach));
  EXPECT_FALSE(EncodeRelayAttachNext(kClientChannel, 0, kNextChannel, kNext, attach));
  std::vector<InCell> refused(4);
  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, 77, kNextChannel, kNext, refused[0]));
  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, kId, kNextChannel, kTop | kOther, refused[1]));
  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, kId, kClientChannel, kOther, refused[2]));
  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, kOther, kNextChannel, kTop | 99, refused[3]));
  EXPECT_TRUE(Process(pipeline, refused).empty());
  EXPECT_EQ(pipeline.counters().unknown_circuit, 1u);
  EXPECT_EQ(pipeline.counters().attach_refused, 3u);

  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, kId, kNextChannel, kNext, attach));
  EXPECT_TRUE(Process(pipeline, {attach}).empty());
  EXPECT_EQ(pipeline.counters().attached, 1u);
  EXPECT_EQ(pipeline.FindByClientSide({kClientChannel, kId})->next_side_id(), kNext);

  // Cells flow both ways.
  ASSERT_EQ(client.Originate(2, {RelayCommand::kData, 1, 50}, data, false, cell),
            OriginateError::kOk);
  out = Process(pipeline, {Arrived(kClientChannel, cell)});
  ASSERT_EQ(out.size(), 1u);
  ExpectItem(out[0], OutKind::kSend, kNextChannel, kNext);
  cell = CellOf(out[0]);
  ASSERT_EQ(next_hop.HandleForward(cell).outcome, CellOutcome::kDelivered);
  ASSERT_EQ(next_hop.Originate({RelayCommand::kData, 1, 50}, data, cell), OriginateError::kOk);
  out = Process(pipeline, {Arrived(kNextChannel, cell)});
  ASSERT_EQ(out.size(), 1u);
  ExpectItem(out[0], OutKind::kSend, kClientChannel, kId);
  cell = CellOf(out[0]);
  CellResult got = client.Receive(cell);
  ASSERT_EQ(got.outcome, CellOutcome::kDelivered);
  EXPECT_EQ(got.hop, 2);

  // The next hop's DESTROY: kNextDestroyed, the circuit stays open as the last hop.
  BuildDestroyCell(kNext, DestroyReason::kResourceLimit, cell);
  out = Process(pipeline, {Arrived(kNextChannel, cell)});
  ASSERT_EQ(out.size(), 1u);
  ExpectDestroyItem(out[0], OutKind::kNextDestroyed, kClientChannel, kId,
                    DestroyReason::kResourceLimit);
  EXPECT_EQ(out[0].cell.payload()[0], uint8_t(DestroyReason::kResourceLimit));
  EXPECT_EQ(pipeline.counters().next_destroyed, 1u);
  EXPECT_EQ(pipeline.open_circuits(), 2u);
  EXPECT_EQ(pipeline.FindByClientSide({kClientChannel, kId})->next_side_id(), 0u);
  // Later cells on the old next-side key are for no circuit.
  ASSERT_EQ(next_hop.Originate({RelayCommand::kData, 1, 50}, data, cell), OriginateError::kOk);
  EXPECT_TRUE(Process(pipeline, {Arrived(kNextChannel, cell)}).empty());
  EXPECT_EQ(pipeline.counters().unknown_circuit, 2u);
  // The host answers with TRUNCATED; forward cells to this hop are still delivered.
  const uint8_t reason = out[0].cell.payload()[0];
  ASSERT_EQ(client.Originate(1, {RelayCommand::kData, 1, 50}, data, false, cell),
            OriginateError::kOk);
  out = Process(pipeline, {Arrived(kClientChannel, cell),
                           Originated(suite(), kClientChannel, kId,
                                      {RelayCommand::kTruncated, 0, 1}, {&reason, 1})});
  ASSERT_EQ(out.size(), 2u);
  ExpectItem(out[0], OutKind::kDeliver, kClientChannel, kId);
  ExpectItem(out[1], OutKind::kSend, kClientChannel, kId);
  cell = CellOf(out[1]);
  got = client.Receive(cell);
  ASSERT_EQ(got.outcome, CellOutcome::kDelivered);
  EXPECT_EQ(got.hop, 1);
  EXPECT_EQ(got.header.command, RelayCommand::kTruncated);
  client.TruncateTo(1);

  // Attach again, then the host detaches it, naming it by its next-side key.
  ASSERT_TRUE(EncodeRelayAttachNext(kClientChannel, kId, kNextChannel, kTop | 15, attach));
  InCell detach, detach_again;
  ASSERT_TRUE(EncodeRelayDetachNext(kNextChannel, kTop | 15, detach));
  ASSERT_TRUE(EncodeRelayDetachNext(kClientChannel, kId, detach_again));
  EXPECT_FALSE(EncodeRelayDetachNext(kClientChannel, 0, detach_again));
  ASSERT_TRUE(EncodeRelayDetachNext(kClientChannel, kId, detach_again));
  EXPECT_TRUE(Process(pipeline, {attach, detach, detach_again}).empty());
  EXPECT_EQ(pipeline.counters().attached, 2u);
  EXPECT_EQ(pipeline.counters().detached, 1u);
  EXPECT_EQ(pipeline.counters().detach_refused, 1u);
  WriteCellHeader(kTop | 15, CellCommand::kRelay, cell);
  EXPECT_TRUE(Process(pipeline, {Arrived(kNextChannel, cell)}).empty());
  EXPECT_EQ(pipeline.counters().unknown_circuit, 3u);

  // As the last hop, a cell no layer here recognizes is a protocol error: DESTROY to the client
  // side only (there is no other).
  ASSERT_EQ(client.AddHop(seeds[1]), SuiteError::kOk);
  ASSERT_EQ(client.Originate(2, {RelayCommand::kData, 1, 50}, data, false, cell),
            OriginateError::kOk);
  out = Process(pipeline, {Arrived(kClientChannel, cell)});
  ASSERT_EQ(out.size(), 1u);
  ExpectDestroyItem(out[0], OutKind::kDestroy, kClientChannel, kId, DestroyReason::kProtocol);
  EXPECT_EQ(pipeline.counters().errors[ProtocolError::kUnrecognized], 1u);
  EXPECT_EQ(pipeline.open_circuits(), 1u);
}

TEST_P(CircuitExtend, PipelineClosesByEitherKeyTellingTheSidesAsked) {
  RelayPipeline pipeline(RelayPipelineConfig{.max_circuits = 8});
  const auto seed = SeedFor(suite(), 1);
  std::vector<InCell> opens(5);
  for (uint32_t i = 0; i < 5; ++i) {
    const uint32_t next = i < 4 ? kTop | (21 + i) : 0;
    ASSERT_TRUE(EncodeRelayOpen(kClientChannel, 21 + i,
                                {suite().id(), next != 0 ? kNextChannel : 0, next, seed},
                                opens[i]));
  }
  EXPECT_TRUE(Process(pipeline, opens).empty());
  ASSERT_EQ(pipeline.open_circuits(), 5u);

  InCell close;
  EXPECT_FALSE(EncodeRelayClose(kClientChannel, 0, DestroyReason::kFinished, true, true, close));
  EXPECT_FALSE(EncodeRelayClose(kClientChannel, 21, DestroyReason(4), true, true, close));

  // By the next-side key (its link died): the client hears CHANNEL_CLOSED, the next side not.
  ASSERT_TRUE(
      EncodeRelayClose(kNextChannel, kTop | 21, DestroyReason::kChannelClosed, true, false, close));
  auto out = Process(pipeline, {close});
  ASSERT_EQ(out.size(), 2u);
  ExpectDestroyItem(out[0], OutKind::kDestroy, kClientChannel, 21, DestroyReason::kChannelClosed);
  ExpectDestroyItem(out[1], OutKind::kClosed, kNextChannel, kTop | 21,
                    DestroyReason::kChannelClosed);
  // By the client-side key (the previous link died): the DESTROY goes ahead only.
  ASSERT_TRUE(
      EncodeRelayClose(kClientChannel, 22, DestroyReason::kChannelClosed, false, true, close));
  out = Process(pipeline, {close});
  ASSERT_EQ(out.size(), 2u);
  ExpectDestroyItem(out[0], OutKind::kClosed, kClientChannel, 22, DestroyReason::kChannelClosed);
  ExpectDestroyItem(out[1], OutKind::kDestroy, kNextChannel, kTop | 22,
                    DestroyReason::kChannelClosed);
  // An empty payload: FINISHED both ways, as before.
  close = InCell{};
  close.kind = InKind::kClose;
  close.channel = kClientChannel;
  WriteCellHeader(23, CellCommand::kDestroy, close.cell.span());
  out = Process(pipeline, {close});
  ASSERT_EQ(out.size(), 2u);
  ExpectDestroyItem(out[0], OutKind::kDestroy, kClientChannel, 23, DestroyReason::kFinished);
  ExpectDestroyItem(out[1], OutKind::kDestroy, kNextChannel, kTop | 23, DestroyReason::kFinished);
  // Nobody told: the host still hears of both sides.
  ASSERT_TRUE(EncodeRelayClose(kClientChannel, 24, DestroyReason::kTimeout, false, false, close));
  out = Process(pipeline, {close});
  ASSERT_EQ(out.size(), 2u);
  ExpectDestroyItem(out[0], OutKind::kClosed, kClientChannel, 24, DestroyReason::kTimeout);
  ExpectDestroyItem(out[1], OutKind::kClosed, kNextChannel, kTop | 24, DestroyReason::kTimeout);
  // A last hop has one side.
  ASSERT_TRUE(EncodeRelayClose(kClientChannel, 25, DestroyReason::kRequested, true, true, close));
  out = Process(pipeline, {close});
  ASSERT_EQ(out.size(), 1u);
  ExpectDestroyItem(out[0], OutKind::kDestroy, kClientChannel, 25, DestroyReason::kRequested);

  EXPECT_EQ(pipeline.open_circuits(), 0u);
  EXPECT_EQ(pipeline.counters().destroyed, 5u);
  EXPECT_TRUE(Process(pipeline, {close}).empty());
  EXPECT_EQ(pipeline.counters().unknown_circuit, 1u);

  // The older payload: a reason byte alone.
  WireCell old;
  old.payload()[0] = uint8_t(DestroyReason::kRequested);
  RelayCloseParams how = DecodeRelayClose(old);
  EXPECT_EQ(how.reason, DestroyReason::kRequested);
  EXPECT_TRUE(how.tell_client_side && how.tell_next_side);
  old.payload()[0] = 0;
  EXPECT_EQ(DecodeRelayClose(old).reason, DestroyReason::kFinished);
}

TEST_P(CircuitExtend, PipelineNinthRelayEarlyDestroysBothWays) {
  RelayPipeline pipeline(RelayPipelineConfig{.max_circuits = 4});
  const auto seeds = Seeds(suite(), 2);
  std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
  ClientCircuit client;
  ASSERT_EQ(ClientCircuit::Create(suite(), 5, views, RekeyConfig{}, client), SuiteError::kOk);
  InCell open;
  ASSERT_TRUE(
      EncodeRelayOpen(kClientChannel, 5, {suite().id(), kNextChannel, kTop | 5, seeds[0]}, open));
  std::vector<InCell> inputs = {open};
  const auto data = TestData(20, 2);
  for (int n = 0; n <= kMaxRelayEarlyCells; ++n) {
    Cell cell;
    ASSERT_EQ(client.Originate(1 + n % 2, {RelayCommand::kExtend2, 0, 20}, data, true, cell),
              OriginateError::kOk);
    inputs.push_back(Arrived(kClientChannel, cell));
  }
  const auto out = Process(pipeline, inputs);  // one batch: the limit holds inside a group too
  ASSERT_EQ(out.size(), size_t(kMaxRelayEarlyCells) + 2);
  for (int n = 0; n < kMaxRelayEarlyCells; ++n) {
    EXPECT_EQ(int(out[size_t(n)].kind), int(n % 2 ? OutKind::kSend : OutKind::kDeliver)) << n;
  }
  ExpectDestroyItem(out[8], OutKind::kDestroy, kClientChannel, 5, DestroyReason::kProtocol);
  ExpectDestroyItem(out[9], OutKind::kDestroy, kNextChannel, kTop | 5, DestroyReason::kProtocol);
  EXPECT_EQ(pipeline.counters().errors[ProtocolError::kTooManyRelayEarly], 1u);
}

// ---------------------------------------------------------------- under ShardedPipeline

struct Collector {
  std::vector<OutItem> items;
  void operator()(std::span<const OutItem> run) {
    items.insert(items.end(), run.begin(), run.end());
  }
};

// Submits everything and waits for `count` outputs (false after 30 s: a lost output).
bool Exchange(ShardedPipeline& engine, std::vector<InCell> items, size_t count,
              std::vector<OutItem>& out) {
  Collector sink;
  std::span<const InCell> rest(items);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!rest.empty() || sink.items.size() < count) {
    const size_t accepted = engine.Submit(rest);
    rest = rest.subspan(accepted);
    if (engine.Poll(sink) == 0 && accepted == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      engine.WaitForProgress(std::chrono::milliseconds(10));
    }
  }
  out = std::move(sink.items);
  return out.size() == count;
}

TEST_P(CircuitExtend, AttachNextUnderShardedPipeline) {
  constexpr size_t kCircuits = 16;
  ShardedPipelineConfig config;
  config.workers = 3;
  config.shard.queue_capacity = 32;
  ShardedPipeline relay(config, [](size_t) {
    return std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = 64});
  });
  struct Path {
    uint32_t id = 0, next_id = 0;
    ClientCircuit client;
    RelayCircuit next_hop;
  };
  std::vector<Path> paths(kCircuits);
  std::map<uint32_t, size_t> by_id;
  std::vector<InCell> inputs;
  for (size_t i = 0; i < kCircuits; ++i) {
    Path& p = paths[i];
    const auto seeds = Seeds(suite(), 2, int(i) * 8);
    p.id = kTop | uint32_t(1 + i);  // the client opened the link
    // The relay opens the next link: an id of its half that lands on the same shard.
    p.next_id = relay.PickCircIdForShard(kNextChannel, relay.ShardOf({kClientChannel, p.id}),
                                         100000 + uint32_t(i) * 1000, kTop);
    by_id[p.id] = i;
    ASSERT_TRUE(by_id.emplace(p.next_id, i).second);
    ASSERT_EQ(ClientCircuit::Create(suite(), p.id, seeds[0], RekeyConfig{}, p.client),
              SuiteError::kOk);
    ASSERT_EQ(RelayCircuit::Create(suite(), seeds[1], p.next_id, 0, p.next_hop), SuiteError::kOk);
    inputs.emplace_back();
    ASSERT_TRUE(
        EncodeRelayOpen(kClientChannel, p.id, {suite().id(), 0, 0, seeds[0]}, inputs.back()));
  }
  const auto data = TestData(64, 5);
  std::vector<OutItem> out;
  ASSERT_TRUE(Exchange(relay, std::move(inputs), 0, out));
  auto path_of = [&](const OutItem& o) -> Path& { return paths[by_id.at(o.cell.circ_id())]; };

  // EXTEND2 to the relay; the host attaches the next side and answers EXTENDED2.
  inputs.clear();
  for (Path& p : paths) {
    Cell cell;
    ASSERT_EQ(p.client.Originate(1, {RelayCommand::kExtend2, 0, 64}, data, true, cell),
              OriginateError::kOk);
    inputs.push_back(Arrived(kClientChannel, cell));
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), kCircuits, out));
  inputs.clear();
  for (const OutItem& o : out) {
    ASSERT_EQ(int(o.kind), int(OutKind::kDeliver));
    ASSERT_EQ(o.channel, kClientChannel);
    Path& p = path_of(o);
    ASSERT_EQ(o.cell.circ_id(), p.id);
    inputs.emplace_back();
    ASSERT_TRUE(
        EncodeRelayAttachNext(kClientChannel, p.id, kNextChannel, p.next_id, inputs.back()));
    inputs.push_back(
        Originated(suite(), kClientChannel, p.id, {RelayCommand::kExtended2, 0, 64}, data));
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), kCircuits, out));
  inputs.clear();
  for (const OutItem& o : out) {
    ASSERT_EQ(int(o.kind), int(OutKind::kSend));
    Path& p = path_of(o);
    Cell cell = CellOf(o);
    const CellResult r = p.client.Receive(cell);
    ASSERT_EQ(r.outcome, CellOutcome::kDelivered);
    ASSERT_EQ(r.header.command, RelayCommand::kExtended2);
    ASSERT_EQ(p.client.AddHop(SeedFor(suite(), int(&p - paths.data()) * 8 + 2)), SuiteError::kOk);
    // A cell to the new hop, through the relay.
    ASSERT_EQ(p.client.Originate(2, {RelayCommand::kData, 1, 64}, data, false, cell),
              OriginateError::kOk);
    inputs.push_back(Arrived(kClientChannel, cell));
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), kCircuits, out));
  inputs.clear();
  for (const OutItem& o : out) {
    ASSERT_EQ(int(o.kind), int(OutKind::kSend));
    ASSERT_EQ(o.channel, kNextChannel);
    Path& p = path_of(o);
    ASSERT_EQ(o.cell.circ_id(), p.next_id);
    Cell cell = CellOf(o);
    ASSERT_EQ(p.next_hop.HandleForward(cell).outcome, CellOutcome::kDelivered);
    ASSERT_EQ(p.next_hop.Originate({RelayCommand::kData, 1, 64}, data, cell), OriginateError::kOk);
    inputs.push_back(Arrived(kNextChannel, cell));  // and back
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), kCircuits, out));
  inputs.clear();
  for (const OutItem& o : out) {
    ASSERT_EQ(int(o.kind), int(OutKind::kSend));
    ASSERT_EQ(o.channel, kClientChannel);
    Path& p = path_of(o);
    ASSERT_EQ(o.cell.circ_id(), p.id);
    Cell cell = CellOf(o);
    const CellResult r = p.client.Receive(cell);
    ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << int(r.error);
    ASSERT_EQ(r.hop, 2);
    // The next hop goes away.
    BuildDestroyCell(p.next_id, DestroyReason::kFinished, cell);
    inputs.push_back(Arrived(kNextChannel, cell));
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), kCircuits, out));
  inputs.clear();
  for (const OutItem& o : out) {
    ExpectDestroyItem(o, OutKind::kNextDestroyed, kClientChannel, path_of(o).id,
                      DestroyReason::kFinished);
    Path& p = path_of(o);
    p.client.TruncateTo(1);
    // The circuit still delivers forward cells, and the host sends TRUNCATED.
    Cell cell;
    ASSERT_EQ(p.client.Originate(1, {RelayCommand::kData, 1, 64}, data, false, cell),
              OriginateError::kOk);
    inputs.push_back(Arrived(kClientChannel, cell));
    const uint8_t reason = o.cell.payload()[0];
    inputs.push_back(
        Originated(suite(), kClientChannel, p.id, {RelayCommand::kTruncated, 0, 1}, {&reason, 1}));
  }
  ASSERT_TRUE(Exchange(relay, std::move(inputs), 2 * kCircuits, out));
  size_t delivered = 0, truncated = 0;
  for (const OutItem& o : out) {
    Path& p = path_of(o);
    ASSERT_EQ(o.cell.circ_id(), p.id);
    if (o.kind == OutKind::kDeliver) {
      ++delivered;
      continue;
    }
    ASSERT_EQ(int(o.kind), int(OutKind::kSend));
    Cell cell = CellOf(o);
    const CellResult r = p.client.Receive(cell);
    ASSERT_EQ(r.outcome, CellOutcome::kDelivered);
    EXPECT_EQ(r.header.command, RelayCommand::kTruncated);
    ++truncated;
  }
  EXPECT_EQ(delivered, kCircuits);
  EXPECT_EQ(truncated, kCircuits);
  Collector rest;
  relay.Stop(rest);
  EXPECT_TRUE(rest.items.empty());
  RelayPipelineCounters sum;
  size_t open = 0;
  for (size_t s = 0; s < relay.workers(); ++s) {
    const auto& engine = static_cast<RelayPipeline&>(relay.processor(s));
    sum.attached += engine.counters().attached;
    sum.next_destroyed += engine.counters().next_destroyed;
    sum.unknown_circuit += engine.counters().unknown_circuit;
    open += engine.open_circuits();
  }
  EXPECT_EQ(sum.attached, kCircuits);
  EXPECT_EQ(sum.next_destroyed, kCircuits);
  EXPECT_EQ(sum.unknown_circuit, 0u);
  EXPECT_EQ(open, kCircuits);
}

INSTANTIATE_TEST_SUITE_P(Suites, CircuitExtend, ::testing::ValuesIn(AllSuiteIds()), SuiteParamName);

}  // namespace
}  // namespace relaycell
