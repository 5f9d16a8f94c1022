// The pipelines against the circuits they are built from: a random workload over many circuits
// (relay cells to every hop, garbage, DESTROYs, host closes, PADDING, unknown circuits,
// originated cells and, on aez, RELAY_REKEY) goes once through the pipeline (in random batch
// sizes, and batches of one) and once, cell by cell, through plain RelayCircuits /
// ClientCircuits driven as docs/embedding.md says. Every output must match byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "circuit/pipeline/client_pipeline.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/relay_header.h"
#include "circuit_test_util.h"
#include "engine/suite/suite_registry.h"

namespace relaycell {
namespace {

using testing::AllSuiteIds;
using testing::SeedFor;
using testing::SuiteParamName;
using testing::TestData;

RekeyConfig SmallRekeyConfig() {
  RekeyConfig config;
  config.first = 12;
  config.interval = 40;
  config.slack = 12;
  config.min_spacing = 4;
  return config;
}

// Batches of 1..max_batch items, at random, into an output of `buffer` items: 7 flushes
// mid-batch and is smaller than a group (the relay's cells go through working copies); 200
// takes a group's cells straight into its items.
std::vector<OutItem> RunInBatches(ShardProcessor& processor, std::span<const InCell> items,
                                  std::mt19937_64& rng, size_t max_batch, size_t buffer = 7) {
  DirectOutput sink(true, buffer);
  size_t at = 0;
  while (at < items.size()) {
    const size_t n = std::min<size_t>(items.size() - at, 1 + rng() % max_batch);
    processor.ProcessBatch(items.subspan(at, n), sink.output());
    at += n;
  }
  return sink.items();
}

void ExpectSame(const std::vector<OutItem>& got, const std::vector<OutItem>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(int(got[i].kind), int(want[i].kind));
    EXPECT_EQ(got[i].channel, want[i].channel);
    EXPECT_EQ(got[i].hop, want[i].hop);
    EXPECT_EQ(got[i].cell.bytes, want[i].cell.bytes);
  }
}

OutItem Item(OutKind kind, uint32_t channel, const WireCell& cell, uint8_t hop = 0) {
  OutItem item;
  item.kind = kind;
  item.channel = channel;
  item.cell = cell;
  item.hop = hop;
  return item;
}

WireCell Destroy(uint32_t circ_id, DestroyReason reason) {
  WireCell cell;
  BuildDestroyCell(circ_id, reason, cell.span());
  return cell;
}

// ---------------------------------------------------------------- relay side

// The relay is hop 1 of each circuit (a guard: forward cells to hops 2..3 pass, cells to hop 1
// are delivered) or the only hop (a last hop: everything must be recognized).
struct RelayWorld {
  struct Circuit {
    uint32_t channel, circ_id, next_channel, next_id;
    std::vector<uint8_t> seed;
    ClientCircuit client;  // makes the forward cells
  };
  std::vector<Circuit> circuits;
  std::vector<InCell> inputs;
};

RelayWorld MakeRelayWorkload(const CellSuite& suite, size_t count, size_t cells, uint64_t seed) {
  std::mt19937_64 rng(seed);
  RelayWorld world;
  world.circuits.resize(count);
  for (size_t i = 0; i < count; ++i) {
    auto& c = world.circuits[i];
    c.channel = 1 + uint32_t(i % 5);
    c.circ_id = 100 + uint32_t(i);
    const bool last = i % 3 == 2;
    c.next_channel = last ? 0 : 10 + uint32_t(i % 4);
    c.next_id = last ? 0 : 0x80000000u + 100 + uint32_t(i);
    const int hops = last ? 1 : 3;
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 1; h <= hops; ++h) seeds.push_back(SeedFor(suite, int(i * 8 + size_t(h))));
    for (auto& s : seeds) views.emplace_back(s);
    c.seed = seeds[0];
    EXPECT_EQ(ClientCircuit::Create(suite, c.circ_id, views, SmallRekeyConfig(), c.client),
              SuiteError::kOk);
    InCell open;
    EXPECT_TRUE(EncodeRelayOpen(c.channel, c.circ_id,
                                {suite.id(), c.next_channel, c.next_id, c.seed}, open));
    world.inputs.push_back(open);
  }
  const RelayFormat& layout = suite.relay_format();
  const size_t max_data = layout.max_data(uint8_t(RelayCommand::kData));
  for (size_t n = 0; n < cells; ++n) {
    auto& c = world.circuits[rng() % count];
    InCell in;
    in.channel = c.channel;
    const unsigned pick = unsigned(rng() % 100);
    if (pick < 55) {  // a relay cell from the client to some hop, and any REKEY it now owes
      if (!c.client.is_open()) continue;
      const int hop = 1 + int(rng() % unsigned(c.client.hops()));
      const auto data = TestData(rng() % (max_data + 1), uint32_t(n));
      if (c.client.Originate(hop, {RelayCommand::kData, 7, uint16_t(data.size())}, data,
                             rng() % 8 == 0, in.cell.span()) != OriginateError::kOk) {
        continue;
      }
      world.inputs.push_back(in);
      while (c.client.PollControlCell(in.cell.span())) world.inputs.push_back(in);
      continue;
    }
    if (pick < 75 && c.next_id != 0) {  // a cell from the next hop
      in.channel = c.next_channel;
      WriteCellHeader(c.next_id, CellCommand::kRelay, in.cell.span());
      const auto body = TestData(kCellBodyBytes, uint32_t(n) ^ 0x5555);
      std::copy(body.begin(), body.end(), in.cell.payload().begin());
    } else if (pick < 83) {  // the relay originates towards the client
      in.kind = InKind::kOriginate;
      WriteCellHeader(c.circ_id, CellCommand::kRelay, in.cell.span());
      const auto data = TestData(rng() % (max_data + 1), uint32_t(n) ^ 0x777);
      BuildRelayPayload(layout, {RelayCommand::kData, 9, uint16_t(data.size())}, data,
                        in.cell.payload());
      if (rng() % 10 == 0) in.cell.payload()[0] ^= 1;  // malformed: refused
    } else if (pick < 88) {                            // garbage from the client side
      WriteCellHeader(c.circ_id, CellCommand::kRelay, in.cell.span());
      const auto body = TestData(kCellBodyBytes, uint32_t(n) ^ 0x9999);
      std::copy(body.begin(), body.end(), in.cell.payload().begin());
    } else if (pick < 91) {
      WriteCellHeader(c.circ_id, CellCommand::kPadding, in.cell.span());
    } else if (pick < 94) {  // unknown circuit
      WriteCellHeader(c.circ_id + 100000, CellCommand::kRelay, in.cell.span());
    } else if (pick < 97) {  // DESTROY from either side
      const bool from_next = c.next_id != 0 && rng() % 2 == 0;
      in.channel = from_next ? c.next_channel : c.channel;
      BuildDestroyCell(from_next ? c.next_id : c.circ_id, DestroyReason::kFinished, in.cell.span());
    } else if (pick < 99) {  // a bad header: DESTROY with junk after the reason
      BuildDestroyCell(c.circ_id, DestroyReason::kFinished, in.cell.span());
      in.cell.payload()[5] = 1;
    } else {
      in.kind = InKind::kClose;
      WriteCellHeader(c.circ_id, CellCommand::kDestroy, in.cell.span());
      in.cell.payload()[0] = uint8_t(DestroyReason::kRequested);
    }
    world.inputs.push_back(in);
  }
  return world;
}

// One cell at a time through plain RelayCircuits, acted on as docs/embedding.md says.
std::vector<OutItem> RelayReference(const CellSuite& suite, const RelayWorld& world) {
  struct Ref {
    RelayCircuit circuit;
    uint32_t channel, next_channel;
  };
  std::map<uint64_t, size_t> by_client, by_next;
  std::vector<Ref> refs(world.circuits.size());
  std::vector<OutItem> out;
  auto close = [&](size_t i, bool tell_client, DestroyReason to_client, bool tell_next,
                   DestroyReason to_next) {
    Ref& r = refs[i];
    const DestroyReason got = r.circuit.destroy_reason();
    out.push_back(Item(tell_client ? OutKind::kDestroy : OutKind::kClosed, r.channel,
                       Destroy(r.circuit.client_side_id(), tell_client ? to_client : got)));
    if (r.circuit.next_side_id() != 0) {
      out.push_back(Item(tell_next ? OutKind::kDestroy : OutKind::kClosed, r.next_channel,
                         Destroy(r.circuit.next_side_id(), tell_next ? to_next : got)));
      by_next.erase(CircuitKey{r.next_channel, r.circuit.next_side_id()}.packed());
    }
    by_client.erase(CircuitKey{r.channel, r.circuit.client_side_id()}.packed());
  };
  for (const InCell& in : world.inputs) {
    const CircuitKey key{in.channel, in.cell.circ_id()};
    if (in.kind == InKind::kOpen) {
      RelayOpenParams params;
      EXPECT_TRUE(DecodeRelayOpen(in.cell, params));
      const size_t i = size_t(key.circ_id - 100);
      EXPECT_EQ(
          RelayCircuit::Create(suite, params.seed, key.circ_id, params.next_circ_id,
                               SmallRekeyConfig(), RekeyEnforcer::Mode::kEnforce, refs[i].circuit),
          SuiteError::kOk);
      refs[i].channel = in.channel;
      refs[i].next_channel = params.next_channel;
      by_client[key.packed()] = i;
      if (params.next_circ_id != 0)
        by_next[CircuitKey{params.next_channel, params.next_circ_id}.packed()] = i;
      continue;
    }
    auto fwd = by_client.find(key.packed());
    if (in.kind == InKind::kClose) {
      if (fwd == by_client.end()) continue;
      close(fwd->second, true, DestroyReason::kRequested, true, DestroyReason::kRequested);
      continue;
    }
    if (in.kind == InKind::kOriginate) {
      if (fwd == by_client.end()) continue;
      Ref& r = refs[fwd->second];
      const ParsedRelay relay =
          ParseRelayPayload(r.circuit.suite().relay_format(), in.cell.payload());
      if (!relay.ok()) continue;
      OutItem item = Item(OutKind::kSend, r.channel, WireCell{});
      if (r.circuit.Originate(relay.header, relay.data, item.cell.span()) == OriginateError::kOk) {
        out.push_back(item);
      } else if (!r.circuit.is_open()) {
        close(fwd->second, true, DestroyReason::kProtocol, true, DestroyReason::kProtocol);
      }
      continue;
    }
    const bool from_client = fwd != by_client.end();
    auto back = by_next.find(key.packed());
    if (!from_client && back == by_next.end()) continue;
    const size_t i = from_client ? fwd->second : back->second;
    Ref& r = refs[i];
    OutItem item = Item(OutKind::kSend, 0, in.cell);
    const CellResult result = from_client ? r.circuit.HandleForward(item.cell.span())
                                          : r.circuit.HandleBackward(item.cell.span());
    switch (result.outcome) {
      case CellOutcome::kForward:
        item.channel = from_client ? r.next_channel : r.channel;
        out.push_back(item);
        break;
      case CellOutcome::kDelivered:
        item.kind = OutKind::kDeliver;
        item.channel = r.channel;
        out.push_back(item);
        break;
      case CellOutcome::kIgnored:
        if (r.circuit.PollControlCell(item.cell.span())) {
          item.channel = r.channel;
          out.push_back(item);
        }
        break;
      case CellOutcome::kDestroyed:
        if (result.error != ProtocolError::kNone) {
          close(i, true, DestroyReason::kProtocol, true, DestroyReason::kProtocol);
        } else {
          close(i, false, {}, true, DestroyReason::kDestroyed);
        }
        break;
      case CellOutcome::kNextDestroyed:  // the circuit stays, as the last hop
        by_next.erase(key.packed());
        out.push_back(Item(OutKind::kNextDestroyed, r.channel,
                           Destroy(r.circuit.client_side_id(), result.destroy_reason)));
        break;
      case CellOutcome::kClosed: ADD_FAILURE() << "closed circuits leave the map"; break;
    }
  }
  return out;
}

class PipelineDifferential : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
};

TEST_P(PipelineDifferential, RelayPipelineMatchesOneCellAtATime) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    const RelayWorld world = MakeRelayWorkload(suite(), 60, 5000, seed);
    const std::vector<OutItem> want = RelayReference(suite(), world);
    size_t delivered = 0, destroyed = 0, next_destroyed = 0, control = 0;
    for (const OutItem& o : want) {
      delivered += o.kind == OutKind::kDeliver;
      destroyed += o.kind == OutKind::kDestroy;
      next_destroyed += o.kind == OutKind::kNextDestroyed;
    }
    EXPECT_GT(delivered, 100u);  // the workload reaches every branch that matters
    EXPECT_GT(destroyed, 10u);
    EXPECT_GT(next_destroyed, 0u);
    (void)control;
    // Random batch splits into a small output and a large one, and batches of one: the same
    // outputs every way.
    struct Run {
      size_t max_batch, buffer;
    };
    constexpr Run kRuns[] = {{64, 7}, {64, 200}, {1, 7}};
    RelayPipelineCounters counted[std::size(kRuns)];
    for (size_t r = 0; r < std::size(kRuns); ++r) {
      SCOPED_TRACE(r);
      RelayPipelineConfig config;
      config.max_circuits = 64;
      config.rekey = SmallRekeyConfig();
      RelayPipeline engine(config);
      std::mt19937_64 rng(seed * 7 + r);
      ExpectSame(RunInBatches(engine, world.inputs, rng, kRuns[r].max_batch, kRuns[r].buffer),
                 want);
      EXPECT_EQ(engine.counters().opened, 60u);
      if (suite().supports_rekey()) {
        EXPECT_GT(engine.counters().control_cells, 0u);
      }
      counted[r] = engine.counters();
    }
    // The inputs that lead to no output (unknown circuits, PADDING) are counted alike.
    for (size_t r = 1; r < std::size(kRuns); ++r) {
      EXPECT_EQ(counted[0].unknown_circuit, counted[r].unknown_circuit);
      EXPECT_EQ(counted[0].ignored, counted[r].ignored);
      EXPECT_EQ(counted[0].forwarded, counted[r].forwarded);
      EXPECT_EQ(counted[0].destroyed, counted[r].destroyed);
    }
    EXPECT_GT(counted[0].unknown_circuit, 0u);
  }
}

// ---------------------------------------------------------------- client side

struct ClientWorld {
  struct Circuit {
    uint32_t channel, circ_id;
    std::vector<RelayCircuit> relays;  // make the backward cells
  };
  std::vector<Circuit> circuits;
  std::vector<InCell> inputs;
};

ClientWorld MakeClientWorkload(const CellSuite& suite, size_t count, size_t cells, uint64_t seed) {
  std::mt19937_64 rng(seed);
  ClientWorld world;
  world.circuits.resize(count);
  const RelayFormat& layout = suite.relay_format();
  const size_t max_data = layout.max_data(uint8_t(RelayCommand::kData));
  for (size_t i = 0; i < count; ++i) {
    auto& c = world.circuits[i];
    c.channel = 1 + uint32_t(i % 3);
    c.circ_id = 0x80000000u + uint32_t(i);
    const int hops = 1 + int(i % 3);
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 1; h <= hops; ++h) seeds.push_back(SeedFor(suite, int(i * 8 + size_t(h))));
    for (auto& s : seeds) views.emplace_back(s);
    c.relays.resize(size_t(hops));
    for (int h = 0; h < hops; ++h) {
      EXPECT_EQ(RelayCircuit::Create(suite, seeds[size_t(h)], 5 + uint32_t(h),
                                     h + 1 < hops ? 6 + uint32_t(h) : 0, c.relays[size_t(h)]),
                SuiteError::kOk);
    }
    InCell open;
    EXPECT_TRUE(EncodeClientOpen(c.channel, c.circ_id, {suite.id(), views}, open));
    world.inputs.push_back(open);
  }
  for (size_t n = 0; n < cells; ++n) {
    auto& c = world.circuits[rng() % count];
    InCell in;
    in.channel = c.channel;
    const unsigned pick = unsigned(rng() % 100);
    const int hops = int(c.relays.size());
    if (pick < 45) {  // originate to a hop (sometimes one that does not exist)
      in.kind = InKind::kOriginate;
      in.hop = uint8_t(1 + rng() % unsigned(hops + (rng() % 20 == 0)));
      WriteCellHeader(c.circ_id, rng() % 8 ? CellCommand::kRelay : CellCommand::kRelayEarly,
                      in.cell.span());
      const auto data = TestData(rng() % (max_data + 1), uint32_t(n));
      BuildRelayPayload(layout, {RelayCommand::kData, 3, uint16_t(data.size())}, data,
                        in.cell.payload());
    } else if (pick < 85) {  // a cell originated by some hop, layered on the way back
      const int hop = 1 + int(rng() % unsigned(hops));
      if (!c.relays[size_t(hop - 1)].is_open()) continue;
      const auto data = TestData(rng() % (max_data + 1), uint32_t(n) ^ 0x1234);
      if (c.relays[size_t(hop - 1)].Originate({RelayCommand::kData, 3, uint16_t(data.size())}, data,
                                              in.cell.span()) != OriginateError::kOk) {
        continue;
      }
      bool ok = true;
      for (int h = hop - 2; h >= 0 && ok; --h) {
        ok = c.relays[size_t(h)].HandleBackward(in.cell.span()).outcome == CellOutcome::kForward;
      }
      if (!ok) continue;
      WriteCellHeader(c.circ_id, CellCommand::kRelay, in.cell.span());
    } else if (pick < 90) {  // garbage
      WriteCellHeader(c.circ_id, CellCommand::kRelay, in.cell.span());
      const auto body = TestData(kCellBodyBytes, uint32_t(n) ^ 0x4321);
      std::copy(body.begin(), body.end(), in.cell.payload().begin());
    } else if (pick < 93) {
      WriteCellHeader(c.circ_id + 7, CellCommand::kRelay, in.cell.span());  // unknown
    } else if (pick < 95) {
      BuildDestroyCell(c.circ_id, DestroyReason::kResourceLimit, in.cell.span());
    } else if (pick < 96) {
      in.kind = InKind::kClose;
      WriteCellHeader(c.circ_id, CellCommand::kDestroy, in.cell.span());
    } else {
      WriteCellHeader(c.circ_id, CellCommand::kPadding, in.cell.span());
    }
    world.inputs.push_back(in);
  }
  return world;
}

std::vector<OutItem> ClientReference(const CellSuite& suite, const ClientWorld& world) {
  std::map<uint64_t, ClientCircuit> live;
  std::map<uint64_t, uint32_t> channel_of;
  std::vector<OutItem> out;
  auto poll = [&](ClientCircuit& client, uint32_t channel) {
    OutItem item = Item(OutKind::kSend, channel, WireCell{});
    while (client.PollControlCell(item.cell.span())) out.push_back(item);
  };
  for (const InCell& in : world.inputs) {
    const CircuitKey key{in.channel, in.cell.circ_id()};
    if (in.kind == InKind::kOpen) {
      const size_t i = size_t(key.circ_id - 0x80000000u);
      const size_t hops = world.circuits[i].relays.size();
      std::vector<std::vector<uint8_t>> seeds;
      std::vector<std::span<const uint8_t>> views;
      for (size_t h = 1; h <= hops; ++h) seeds.push_back(SeedFor(suite, int(i * 8 + h)));
      for (auto& s : seeds) views.emplace_back(s);
      EXPECT_EQ(ClientCircuit::Create(suite, key.circ_id, views, RekeyConfig{}, live[key.packed()]),
                SuiteError::kOk);
      continue;
    }
    auto it = live.find(key.packed());
    if (it == live.end()) continue;
    ClientCircuit& client = it->second;
    auto close = [&](OutKind kind, DestroyReason reason) {
      out.push_back(Item(kind, in.channel, Destroy(key.circ_id, reason)));
      live.erase(it);
    };
    if (in.kind == InKind::kClose) {
      close(OutKind::kDestroy, DestroyReason::kFinished);
      continue;
    }
    if (in.kind == InKind::kOriginate) {
      const ParsedRelay relay = ParseRelayPayload(client.suite().relay_format(), in.cell.payload());
      OutItem item = Item(OutKind::kSend, in.channel, WireCell{});
      const OriginateError e = client.Originate(
          in.hop, relay.header, relay.data, in.cell.command() == uint8_t(CellCommand::kRelayEarly),
          item.cell.span());
      if (e == OriginateError::kOk) {
        out.push_back(item);
        poll(client, in.channel);
      } else if (!client.is_open()) {
        close(OutKind::kDestroy, DestroyReason::kProtocol);
      }
      continue;
    }
    OutItem item = Item(OutKind::kDeliver, in.channel, in.cell);
    const CellResult result = client.Receive(item.cell.span());
    if (result.outcome == CellOutcome::kDestroyed) {
      if (result.error != ProtocolError::kNone) {
        close(OutKind::kDestroy, DestroyReason::kProtocol);
      } else {
        close(OutKind::kClosed, client.destroy_reason());
      }
      continue;
    }
    if (result.outcome == CellOutcome::kDelivered) {
      item.hop = uint8_t(result.hop);
      out.push_back(item);
    }
    poll(client, in.channel);
  }
  return out;
}

TEST_P(PipelineDifferential, ClientPipelineMatchesOneCellAtATime) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    const ClientWorld world = MakeClientWorkload(suite(), 40, 3000, seed);
    const std::vector<OutItem> want = ClientReference(suite(), world);
    size_t delivered = 0;
    for (const OutItem& o : want) delivered += o.kind == OutKind::kDeliver;
    EXPECT_GT(delivered, 100u);
    // Default thresholds: a client's REKEY carries fresh random bytes, so two runs could not
    // agree past one; the relay test covers rekeys (its inputs are shared).
    for (const bool split : {true, false}) {
      SCOPED_TRACE(split);
      ClientPipeline engine({.max_circuits = 64});
      std::mt19937_64 rng(seed * 7 + split);
      ExpectSame(RunInBatches(engine, world.inputs, rng, split ? 64 : 1), want);
      EXPECT_EQ(engine.counters().opened, 40u);
    }
  }
}

// Rekeys through the client pipeline: its REKEY(1) cells carry fresh random bytes, so no
// reference can match them byte for byte; instead the engine's circuits talk to real relays
// (small thresholds: many rekeys of every hop) and every cell must arrive intact both ways.
TEST_P(PipelineDifferential, BatchedClientPipelineRekeysWithRelays) {
  if (!suite().supports_rekey()) GTEST_SKIP() << "tor1 has no RELAY_REKEY";
  constexpr size_t kCircuits = 12;
  constexpr int kHops = 3;
  const RelayFormat& layout = suite().relay_format();
  struct Path {
    uint32_t circ_id;
    std::vector<RelayCircuit> relays;  // relay h: client side 5 + h, next side 6 + h
    std::map<int, std::vector<std::vector<uint8_t>>> to_relay, to_client;  // by hop, in order
    std::map<int, size_t> relay_got, client_got;
  };
  std::vector<Path> paths(kCircuits);
  ClientPipeline engine({.max_circuits = 16, .rekey = SmallRekeyConfig()});
  DirectOutput sink(true, 5);
  std::vector<InCell> inputs;
  for (size_t i = 0; i < kCircuits; ++i) {
    Path& p = paths[i];
    p.circ_id = 0x70000000u + uint32_t(i);
    std::vector<std::vector<uint8_t>> seeds;
    std::vector<std::span<const uint8_t>> views;
    for (int h = 1; h <= kHops; ++h) seeds.push_back(SeedFor(suite(), int(i * 8 + size_t(h))));
    for (auto& seed : seeds) views.emplace_back(seed);
    p.relays.resize(kHops);
    for (int h = 0; h < kHops; ++h) {
      ASSERT_EQ(RelayCircuit::Create(suite(), seeds[size_t(h)], 5 + uint32_t(h),
                                     h + 1 < kHops ? 6 + uint32_t(h) : 0, SmallRekeyConfig(),
                                     RekeyEnforcer::Mode::kEnforce, p.relays[size_t(h)]),
                SuiteError::kOk);
    }
    InCell open;
    ASSERT_TRUE(EncodeClientOpen(1, p.circ_id, {suite().id(), views}, open));
    inputs.push_back(open);
  }
  // A backward cell leaving relay `from` (0-based) on its way to the client engine.
  auto send_back = [&](Path& p, int from, WireCell cell) {
    for (int h = from - 1; h >= 0; --h) {
      ASSERT_EQ(p.relays[size_t(h)].HandleBackward(cell.span()).outcome, CellOutcome::kForward);
    }
    WriteCellHeader(p.circ_id, CellCommand::kRelay, cell.span());
    InCell in;
    in.channel = 1;
    in.cell = cell;
    inputs.push_back(in);
  };
  std::mt19937_64 rng(5);
  size_t acks = 0;
  for (int round = 0; round < 120; ++round) {
    // Circuits interleaved, two items of each kind per circuit: groups of many circuits, and
    // a circuit's second item splits the batch into groups.
    for (int k = 0; k < 2; ++k) {
      for (size_t i = 0; i < kCircuits; ++i) {
        Path& p = paths[i];
        const int to = 1 + int(rng() % kHops);
        auto data = TestData(rng() % 400, uint32_t(round * 1000 + int(i) * 10 + k));
        InCell in;
        in.kind = InKind::kOriginate;
        in.channel = 1;
        in.hop = uint8_t(to);
        // A few RELAY_EARLY, within what a relay takes (kMaxRelayEarlyCells).
        const bool early = k == 1 && round < int(kMaxRelayEarlyCells);
        WriteCellHeader(p.circ_id, early ? CellCommand::kRelayEarly : CellCommand::kRelay,
                        in.cell.span());
        BuildRelayPayload(layout, {RelayCommand::kData, 3, uint16_t(data.size())}, data,
                          in.cell.payload());
        p.to_relay[to].push_back(std::move(data));
        inputs.push_back(in);
        const int from = 1 + int(rng() % kHops);
        auto back = TestData(rng() % 400, uint32_t(round * 1000 + int(i) * 10 + k) ^ 0xabcd);
        WireCell cell;
        ASSERT_EQ(p.relays[size_t(from - 1)].Originate(
                      {RelayCommand::kData, 4, uint16_t(back.size())}, back, cell.span()),
                  OriginateError::kOk);
        p.to_client[from].push_back(std::move(back));
        send_back(p, from - 1, cell);
      }
    }
    std::vector<InCell> batch;
    batch.swap(inputs);
    engine.ProcessBatch(batch, sink.output());
    std::vector<OutItem> items = sink.items();
    sink.Clear();
    for (OutItem& o : items) {
      size_t i = 0;
      while (i < kCircuits && paths[i].circ_id != o.cell.circ_id()) ++i;
      ASSERT_LT(i, kCircuits) << int(o.kind);
      Path& p = paths[i];
      if (o.kind == OutKind::kDeliver) {
        const ParsedRelay relay = ParseRelayPayload(layout, o.cell.payload());
        ASSERT_TRUE(relay.ok());
        size_t& n = p.client_got[o.hop];
        ASSERT_LT(n, p.to_client[o.hop].size());
        EXPECT_EQ(std::vector<uint8_t>(relay.data.begin(), relay.data.end()),
                  p.to_client[o.hop][n]);
        ++n;
        continue;
      }
      ASSERT_EQ(o.kind, OutKind::kSend) << "circuit " << i << " closed";
      WireCell cell = o.cell;
      WriteCellHeader(5, CellCommand(cell.command()), cell.span());
      for (int h = 0; h < kHops; ++h) {
        const CellResult r = p.relays[size_t(h)].HandleForward(cell.span());
        if (r.outcome == CellOutcome::kForward) continue;
        if (r.outcome == CellOutcome::kIgnored) {  // the client's REKEY(1): the ACK goes back
          ASSERT_TRUE(p.relays[size_t(h)].PollControlCell(cell.span()));
          ++acks;
          send_back(p, h, cell);
          break;
        }
        ASSERT_EQ(r.outcome, CellOutcome::kDelivered) << int(r.error);
        size_t& n = p.relay_got[h + 1];
        ASSERT_LT(n, p.to_relay[h + 1].size());
        EXPECT_EQ(std::vector<uint8_t>(r.data.begin(), r.data.end()), p.to_relay[h + 1][n]);
        ++n;
        break;
      }
    }
  }
  EXPECT_EQ(engine.counters().control_cells, acks);  // every REKEY(1) was answered
  engine.ProcessBatch(inputs, sink.output());        // the last ACKs
  EXPECT_EQ(engine.counters().destroyed, 0u);
  EXPECT_GT(engine.counters().delivered, 0u);
  EXPECT_GT(acks, kCircuits * kHops * 4);  // every hop rekeyed several times
  for (Path& p : paths) {
    for (int h = 1; h <= kHops; ++h) {
      EXPECT_EQ(p.relay_got[h], p.to_relay[h].size());
      EXPECT_EQ(p.client_got[h], p.to_client[h].size());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, PipelineDifferential, ::testing::ValuesIn(AllSuiteIds()),
                         SuiteParamName);

}  // namespace
}  // namespace relaycell
