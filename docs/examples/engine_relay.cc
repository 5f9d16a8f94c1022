// The pipelines, embedded: a client pipeline and a sharded relay pipeline holding all three
// hops of a circuit. A request goes to hop 3, hop 3 answers, the client gets the answer; then
// the client closes the circuit and the DESTROY walks out. Built and run by ctest
// (example.engine_relay); see docs/embedding.md, "The pipelines (many circuits, worker threads)".
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "circuit/pipeline/client_pipeline.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/relay_header.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "engine/suite/suite_registry.h"

using namespace relaycell;

namespace {

// Submits everything (back-pressure: retry what was refused), then waits for `outputs` items.
// The host loop: submit, poll, and when neither did anything park until a worker has made
// progress (the timeout is only a safety net).
std::vector<OutItem> Exchange(ShardedPipeline& engine, std::vector<InCell> items, size_t outputs) {
  constexpr std::chrono::milliseconds kSafetyNet{100};
  std::vector<OutItem> out;
  auto sink = [&](std::span<const OutItem> run) { out.insert(out.end(), run.begin(), run.end()); };
  std::span<const InCell> rest(items);
  while (!rest.empty() || out.size() < outputs) {
    const size_t accepted = engine.Submit(rest);
    rest = rest.subspan(accepted);
    if (engine.Poll(sink) == 0 && accepted == 0) engine.WaitForProgress(kSafetyNet);
  }
  return out;
}

// What hop h sends on channel 100 + h arrives at hop h + 1 on channel h + 1 (one link, an id
// at each end); channel 0 is the client's link to hop 1.
InCell Arrive(const OutItem& o) {
  InCell in;
  in.channel = o.channel >= 100 ? o.channel - 99 : o.channel;
  in.cell = o.cell;
  return in;
}

int Fail(const char* what) {
  std::fprintf(stderr, "engine_relay: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  std::vector<uint8_t> seeds[3];
  std::vector<std::span<const uint8_t>> views;
  for (int h = 0; h < 3; ++h) seeds[h].assign(32, uint8_t(0x10 * (h + 1)));  // from handshakes
  for (auto& s : seeds) views.emplace_back(s);

  ShardedPipeline relay({.workers = 2, .shard = {}}, [](size_t) {
    return std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = 1000});
  });
  ShardedPipeline client({.workers = 1, .shard = {}}, [](size_t) {
    return std::make_unique<ClientPipeline>(ClientPipelineConfig{.max_circuits = 1000});
  });

  // Open: hop h is known as (h, id[h]) towards the client and (100 + h, id[h + 1]) onwards;
  // each next-side id is picked so both sides of a hop land on one worker.
  uint32_t id[4] = {42, 0, 0, 0};
  std::vector<InCell> opens(3);
  for (int h = 0; h < 3; ++h) {
    const size_t shard = relay.ShardOf({uint32_t(h), id[h]});
    id[h + 1] = h < 2 ? relay.PickCircIdForShard(100 + uint32_t(h), shard, 1000) : 0;
    EncodeRelayOpen(uint32_t(h), id[h], {kAezSuiteId, 100 + uint32_t(h), id[h + 1], seeds[h]},
                    opens[size_t(h)]);
  }
  Exchange(relay, opens, 0);
  InCell open;
  EncodeClientOpen(0, id[0], {kAezSuiteId, views}, open);
  Exchange(client, {open}, 0);

  // The client originates to hop 3; the cell crosses hops 1 and 2 (kSend) and is delivered.
  const std::string_view request = "GET / HTTP/1.0";
  InCell originate;
  originate.kind = InKind::kOriginate;
  originate.hop = 3;
  WriteCellHeader(id[0], CellCommand::kRelay, originate.cell.span());
  BuildRelayPayload(kAezRelayFormat, {RelayCommand::kData, 1, uint16_t(request.size())},
                    {reinterpret_cast<const uint8_t*>(request.data()), request.size()},
                    originate.cell.payload());
  OutItem item = Exchange(client, {originate}, 1)[0];
  for (int hop = 1; item.kind == OutKind::kSend; ++hop)
    item = Exchange(relay, {Arrive(item)}, 1)[0];
  const ParsedRelay got = ParseRelayPayload(kAezRelayFormat, item.cell.payload());
  if (item.kind != OutKind::kDeliver || item.channel != 2 || !got.ok() ||
      std::string_view(reinterpret_cast<const char*>(got.data.data()), got.data.size()) !=
          request) {
    return Fail("request not delivered at hop 3");
  }

  // Hop 3 answers: its cell goes back through hops 2 and 1 to the client.
  const std::string_view reply = "HTTP/1.0 200 OK";
  InCell answer;
  answer.kind = InKind::kOriginate;
  answer.channel = 2;
  WriteCellHeader(id[2], CellCommand::kRelay, answer.cell.span());
  BuildRelayPayload(kAezRelayFormat, {RelayCommand::kData, 1, uint16_t(reply.size())},
                    {reinterpret_cast<const uint8_t*>(reply.data()), reply.size()},
                    answer.cell.payload());
  item = Exchange(relay, {answer}, 1)[0];
  while (item.channel != 0) {  // towards the client: arrives on hop h's 100 + h side
    InCell back;
    back.channel = 100 + item.channel - 1;
    back.cell = item.cell;
    item = Exchange(relay, {back}, 1)[0];
  }
  item = Exchange(client, {Arrive(item)}, 1)[0];
  const ParsedRelay answered = ParseRelayPayload(kAezRelayFormat, item.cell.payload());
  if (item.kind != OutKind::kDeliver || item.hop != 3 || !answered.ok() ||
      std::string_view(reinterpret_cast<const char*>(answered.data.data()), answered.data.size()) !=
          reply) {
    return Fail("reply not delivered from hop 3");
  }

  // Close: the client's DESTROY walks out; each hop reports kClosed behind it, kDestroy ahead.
  InCell close;
  close.kind = InKind::kClose;
  WriteCellHeader(id[0], CellCommand::kDestroy, close.cell.span());
  item = Exchange(client, {close}, 1)[0];
  for (int h = 0; h < 3; ++h) {
    const std::vector<OutItem> out = Exchange(relay, {Arrive(item)}, h < 2 ? 2 : 1);
    for (const OutItem& o : out) {
      if (o.kind == OutKind::kDestroy) item = o;
    }
  }
  std::vector<OutItem> rest;
  auto sink = [&](std::span<const OutItem> run) {
    rest.insert(rest.end(), run.begin(), run.end());
  };
  relay.Stop(sink);
  client.Stop(sink);
  for (size_t s = 0; s < relay.workers(); ++s) {
    if (static_cast<RelayPipeline&>(relay.processor(s)).open_circuits() != 0)
      return Fail("circuit left open");
  }
  std::printf("engine_relay: request and reply through 3 hops, circuit closed\n");
  return rest.empty() ? 0 : Fail("unexpected output");
}
