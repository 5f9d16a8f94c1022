// Keys provably gone (issue #15): what a circuit's keys leave behind once they are no longer
// needed, read back from memory.
//
//   - KeyArena slots: after a circuit is destroyed (by the host, a DESTROY, a protocol error,
//     a pipeline's close), after a hop setup that failed half way, and after a RELAY_REKEY
//     (which installs the new keys in the same slot: none of the old key's bytes may remain
//     there, and the slot that carried the new backward keys to the ACK is zero again).
//     KeyArena keeps every slab mapped until the arena goes (the suites' arenas are static),
//     so a released slot can be read: it must read as zeros.
//   - Key slabs are locked and marked MADV_DONTDUMP ("dd" in /proc/self/smaps).
//   - The stack: every suite's LayerBatch::Run ends with WipeStack, and so does a host's burst
//     of single calls (docs/embedding.md), so no byte that depends on a key is left in the dead
//     frames below, on any kernel path. Found by running the same work twice with everything
//     equal but the keys and comparing the dead stack; the same probe around unwiped work shows
//     it does find key-dependent leftovers.
//   - Key seeds in the sharded engine's input ring are zero once their batch is done.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "circuit/cell.h"
#include "circuit/client_circuit.h"
#include "circuit/pipeline/relay_pipeline.h"
#include "circuit/pipeline/sharded_pipeline.h"
#include "circuit/relay_circuit.h"
#include "engine/aez/aez.h"
#include "engine/common/kdf.h"
#include "engine/common/key_arena.h"
#include "engine/common/wipe_stack.h"
#include "engine/rekey/rekey_config.h"
#include "engine/suite/aez_cell_batch.h"
#include "engine/suite/aez_layer.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/cgo/cgo_direction.h"
#include "engine/suite/suite_registry.h"
#include "engine/suite/tor1_direction.h"
#include "kernels/kernel_path.h"
#include "kernels/path_choice.h"
#include "tests/circuit_test_util.h"
#include "tests/stack_probe.h"

namespace relaycell {
namespace {

using testing::CopyStack;
using testing::kCanProbeStack;
using testing::kCanReadStack;
using testing::KeyDependentStackBytesPerPath;
using testing::PathLeftovers;
using testing::ReinstallAezDirections;

using testing::Cell;
using testing::SeedFor;

// ---------------------------------------------------------------------------------------------
// Reading slots

// The arena a suite's layers live in. A new suite adds its arena here.
KeyArena* LayerArena(const CellSuite& suite) {
  const std::string name = suite.name();
  if (name == "aez") return &AezCellDirection::Arena();
  if (name == "tor1") return &Tor1Direction::Arena();
  if (name == "cgo") return &CgoDirection::Arena();
  return nullptr;
}

// A layer's slot: the layer sits at offset 0 of its arena slot (AsLayerBox checks it).
const void* SlotOf(const CellLayer& layer) { return &layer; }

// The slot's bytes, live or released. volatile: the object there may have ended, and the
// compiler is to read what memory holds, not what it could assume about it.
std::vector<uint8_t> ReadSlot(const void* slot, size_t bytes) {
  const volatile uint8_t* p = static_cast<const volatile uint8_t*>(slot);
  std::vector<uint8_t> out(bytes);
  for (size_t i = 0; i < bytes; ++i) out[i] = p[i];
  return out;
}

size_t NonZeroBytes(const void* slot, size_t bytes) {
  const std::vector<uint8_t> b = ReadSlot(slot, bytes);
  return size_t(std::count_if(b.begin(), b.end(), [](uint8_t x) { return x != 0; }));
}

// Allocates n slots and gives them back so that the next n allocations return them in the
// same order (the free list is LIFO: key_arena_test's ReleasedSlotIsWipedBeforeReuse): the
// test learns where a circuit's keys will land before they do.
std::vector<void*> ProbeNextSlots(KeyArena& arena, size_t n) {
  std::vector<void*> slots;
  for (size_t i = 0; i < n; ++i) slots.push_back(arena.Allocate());
  for (size_t i = n; i-- > 0;) arena.Release(slots[i]);
  return slots;
}

// A circuit's slots, recorded while open.
struct Slots {
  std::vector<const void*> at;
  void Add(const CellLayer& layer) { at.push_back(SlotOf(layer)); }
};

void ExpectAllZero(const Slots& slots, size_t slot_bytes, const char* what) {
  for (size_t i = 0; i < slots.at.size(); ++i) {
    EXPECT_EQ(NonZeroBytes(slots.at[i], slot_bytes), 0u) << what << ": slot " << i;
  }
}
void ExpectAllHoldSomething(const Slots& slots, size_t slot_bytes) {
  for (size_t i = 0; i < slots.at.size(); ++i) {
    EXPECT_GT(NonZeroBytes(slots.at[i], slot_bytes), 64u) << "slot " << i << " holds no key?";
  }
}

// One data cell each way through a path, so the layers' state is more than the key setup's.
void ExchangeCells(testing::Path& path) {
  const std::vector<uint8_t> data = testing::TestData(100, 7);
  Cell cell{};
  ASSERT_EQ(path.client.Originate(path.hops, {RelayCommand::kData, 1, uint16_t(data.size())}, data,
                                  false, cell),
            OriginateError::kOk);
  for (int i = 0; i < path.hops; ++i) {
    const CellResult r = path.relays[size_t(i)].HandleForward(cell);
    ASSERT_EQ(r.outcome, i + 1 < path.hops ? CellOutcome::kForward : CellOutcome::kDelivered);
  }
  ASSERT_EQ(
      path.relays.back().Originate({RelayCommand::kData, 1, uint16_t(data.size())}, data, cell),
      OriginateError::kOk);
  for (int i = path.hops - 1; i-- > 0;) {
    ASSERT_EQ(path.relays[size_t(i)].HandleBackward(cell).outcome, CellOutcome::kForward);
  }
  ASSERT_EQ(path.client.Receive(cell).outcome, CellOutcome::kDelivered);
}

class KeyGone : public ::testing::TestWithParam<SuiteId> {
 protected:
  const CellSuite& suite() const { return *FindSuite(GetParam()); }
  KeyArena& arena() const { return *LayerArena(suite()); }
  void SetUp() override {
    ASSERT_NE(LayerArena(suite()), nullptr) << "add " << suite().name() << "'s arena to LayerArena";
  }
};

TEST_P(KeyGone, DestroyedCircuitsLeaveZeroSlots) {
  testing::Path path;
  path.Build(suite(), 3);
  ASSERT_FALSE(HasFatalFailure());
  ExchangeCells(path);
  ASSERT_FALSE(HasFatalFailure());
  const size_t bytes = arena().slot_bytes();
  Slots client, relays;
  for (int hop = 1; hop <= 3; ++hop) {
    client.Add(path.client.forward_layer(hop));
    client.Add(path.client.backward_layer(hop));
  }
  for (RelayCircuit& relay : path.relays) {
    relays.Add(relay.layer(true));
    relays.Add(relay.layer(false));
  }
  ExpectAllHoldSomething(client, bytes);
  ExpectAllHoldSomething(relays, bytes);

  path.client.Destroy();  // the host closes it
  ExpectAllZero(client, bytes, "client after Destroy");

  // Relay 1 by a DESTROY from the client, relay 2 by a protocol error, relay 3 by the host.
  Cell cell{};
  BuildDestroyCell(path.relays[0].client_side_id(), DestroyReason::kFinished, cell);
  EXPECT_EQ(path.relays[0].HandleForward(cell).outcome, CellOutcome::kDestroyed);
  WriteCellHeader(path.relays[1].client_side_id(), CellCommand::kRelay, cell);
  cell[0] ^= 0x40;  // another circuit's id: kWrongCircId
  EXPECT_EQ(path.relays[1].HandleForward(cell).outcome, CellOutcome::kDestroyed);
  path.relays[2].Destroy();
  for (const RelayCircuit& relay : path.relays) EXPECT_FALSE(relay.is_open());
  ExpectAllZero(relays, bytes, "relays after DESTROY, protocol error, Destroy");
}

// A relay pipeline's circuit, closed by the host's kClose: the pipeline resets the entry.
TEST_P(KeyGone, RelayPipelineCloseLeavesZeroSlots) {
  RelayPipeline pipeline(RelayPipelineConfig{.max_circuits = 16});
  DirectOutput out;
  const std::vector<uint8_t> seed = SeedFor(suite(), 1);
  std::vector<InCell> items(2);
  ASSERT_TRUE(EncodeRelayOpen(
      1, 42, {.suite = GetParam(), .next_channel = 2, .next_circ_id = 43, .seed = seed}, items[0]));
  pipeline.ProcessBatch(std::span<const InCell>(items.data(), 1), out.output());
  const RelayCircuit* circuit = pipeline.FindByClientSide({1, 42});
  ASSERT_NE(circuit, nullptr);
  Slots slots;
  slots.Add(const_cast<RelayCircuit*>(circuit)->layer(true));
  slots.Add(const_cast<RelayCircuit*>(circuit)->layer(false));
  ExpectAllHoldSomething(slots, arena().slot_bytes());
  ASSERT_TRUE(EncodeRelayClose(1, 42, DestroyReason::kFinished, true, true, items[1]));
  pipeline.ProcessBatch(std::span<const InCell>(items.data() + 1, 1), out.output());
  EXPECT_EQ(pipeline.FindByClientSide({1, 42}), nullptr);
  ExpectAllZero(slots, arena().slot_bytes(), "after kClose");
}

// A kOpen item's key seed in the sharded engine's input ring: whole while its processor reads
// it, zero once the worker hands the slot back. The processor below only records where each
// kOpen item was and whether the seed was still there; the wipe is the shard's own.
class SeedWitness : public ShardProcessor {
 public:
  explicit SeedWitness(std::vector<uint8_t> seed) : seed_(std::move(seed)) {}
  void ProcessBatch(std::span<const InCell> batch, ShardOutput&) override {
    for (const InCell& in : batch) {
      if (in.kind != InKind::kOpen) continue;
      RelayOpenParams params;
      intact += DecodeRelayOpen(in.cell, params) &&
                std::equal(params.seed.begin(), params.seed.end(), seed_.begin(), seed_.end());
      slots.push_back(&in);
    }
  }
  std::vector<const InCell*> slots;
  size_t intact = 0;

 private:
  const std::vector<uint8_t> seed_;
};

TEST_P(KeyGone, ShardRingKeepsNoKeySeedAfterItsBatch) {
  const std::vector<uint8_t> seed = SeedFor(suite(), 7);
  ShardedPipelineConfig config;
  config.workers = 1;
  config.shard = {.queue_capacity = 8, .max_batch = 3};
  ShardedPipeline engine(config, [&](size_t) { return std::make_unique<SeedWitness>(seed); });
  std::vector<InCell> opens(5);
  for (uint32_t i = 0; i < opens.size(); ++i) {
    ASSERT_TRUE(EncodeRelayOpen(1, 100 + i, {.suite = GetParam(), .seed = seed}, opens[i]));
  }
  ASSERT_EQ(engine.Submit(opens), opens.size());
  engine.Stop([](std::span<const OutItem>) {});
  const auto& witness = static_cast<const SeedWitness&>(engine.processor(0));
  ASSERT_EQ(witness.slots.size(), opens.size());
  EXPECT_EQ(witness.intact, opens.size());  // the processor saw each seed whole
  for (const InCell* slot : witness.slots) {
    EXPECT_EQ(NonZeroBytes(slot->cell.payload().data(), kCellBodyBytes), 0u)
        << "a ring slot still holds a kOpen payload";
  }
}

// Hops 1 and 2 are built, hop 3's seed is refused: Create fails and the two built hops' slots
// (learnt ahead with ProbeNextSlots, checked on a Create that succeeds) are zero again.
TEST_P(KeyGone, FailedClientSetupLeavesZeroSlots) {
  const std::vector<uint8_t> s1 = SeedFor(suite(), 1), s2 = SeedFor(suite(), 2);
  const std::vector<uint8_t> bad(suite().min_seed_bytes() - 1, 0x11);
  const size_t live_before = arena().live_slots();

  std::vector<void*> next = ProbeNextSlots(arena(), 4);
  ClientCircuit good;
  const std::span<const uint8_t> two[] = {s1, s2};
  ASSERT_EQ(ClientCircuit::Create(suite(), 9, two, good), SuiteError::kOk);
  ASSERT_EQ(SlotOf(good.forward_layer(1)), next[0]);  // the probe does say where keys land
  ASSERT_EQ(SlotOf(good.backward_layer(1)), next[1]);
  ASSERT_EQ(SlotOf(good.forward_layer(2)), next[2]);
  ASSERT_EQ(SlotOf(good.backward_layer(2)), next[3]);
  good.Destroy();

  next = ProbeNextSlots(arena(), 4);
  ClientCircuit failed;
  const std::span<const uint8_t> three[] = {s1, s2, bad};
  EXPECT_EQ(ClientCircuit::Create(suite(), 9, three, failed), SuiteError::kBadSeedLength);
  EXPECT_FALSE(failed.is_open());
  EXPECT_EQ(arena().live_slots(), live_before);  // nothing kept
  Slots slots;
  slots.at.assign(next.begin(), next.end());
  ExpectAllZero(slots, arena().slot_bytes(), "after the failed Create");
}

// The arena runs out of memory between a hop's two layers: the forward layer was built (its
// keys written), the backward one gets no slot. In a child process whose address space is
// capped just above its current size, so the next slab cannot be mapped.
int BuildHopWithoutRoomForTheBackwardLayer(const CellSuite& suite) {
  KeyArena& arena = *LayerArena(suite);
  const std::vector<uint8_t> seed = SeedFor(suite, 1);
  {
    HopLayers warm;  // key expansion's own first-use allocations, before the cap
    if (suite.MakeHop(seed, warm) != SuiteError::kOk) return 2;
  }
  const size_t slab_bytes = arena.reserved_bytes() / arena.slab_count();
  const size_t slots_per_slab = (slab_bytes - 64) / arena.slot_bytes();
  const auto free_slots = [&] { return arena.slab_count() * slots_per_slab - arena.live_slots(); };
  std::vector<void*> fillers;  // leave exactly one free slot
  if (free_slots() == 0) fillers.push_back(arena.Allocate());
  while (free_slots() > 1) fillers.push_back(arena.Allocate());
  const void* last = ProbeNextSlots(arena, 1)[0];
  const size_t live = arena.live_slots();

  std::ifstream status("/proc/self/status");
  size_t vm_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) vm_kib = std::strtoull(line.c_str() + 7, nullptr, 10);
  }
  if (vm_kib == 0) return 3;
  const rlim_t cap = rlim_t(vm_kib) * 1024 + slab_bytes / 2;  // room for malloc, not a slab
  const rlimit limit{cap, cap};
  if (setrlimit(RLIMIT_AS, &limit) != 0) return 4;

  HopLayers layers;
  if (suite.MakeHop(seed, layers) != SuiteError::kOutOfKeyMemory) return 5;
  if (layers.forward || layers.backward) return 6;
  if (arena.live_slots() != live) return 7;
  if (NonZeroBytes(last, arena.slot_bytes()) != 0) return 8;  // the forward layer's keys
  return 0;
}

TEST_P(KeyGone, HopSetupOutOfKeyMemoryLeavesZeroSlot) {
#ifdef RELAYCELL_UNDER_SANITIZER
  GTEST_SKIP() << "the sanitizer's shadow memory makes an address-space cap meaningless";
#endif
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(std::_Exit(BuildHopWithoutRoomForTheBackwardLayer(suite())),
              ::testing::ExitedWithCode(0), "")
      << "exit codes: 5 no kOutOfKeyMemory, 7 slot kept, 8 slot not wiped";
}

// ---------------------------------------------------------------------------------------------
// Core dumps and swap: /proc/self/smaps

struct Mapping {
  uintptr_t begin = 0, end = 0;
  std::vector<std::string> flags;  // VmFlags: "dd" do not dump, "lo" locked
  bool Has(const char* flag) const {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
  }
};

std::optional<Mapping> MappingOf(const void* address) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::optional<Mapping> found;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> begin >> dash >> end && dash == '-') {
      if (found) break;  // the next mapping's header: the one we wanted had no VmFlags
      if (at >= begin && at < end) found = Mapping{begin, end, {}};
      continue;
    }
    if (found && line.rfind("VmFlags:", 0) == 0) {
      std::istringstream flags(line.substr(8));
      for (std::string f; flags >> f;) found->flags.push_back(f);
      return found;
    }
  }
  return found;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockIsReal = false;  // AddressSanitizer turns mlock into a no-op
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMlockIsReal = false;
#else
constexpr bool kMlockIsReal = true;
#endif
#else
constexpr bool kMlockIsReal = true;
#endif

void ExpectKeySlab(KeyArena& arena, const void* slot, const char* what) {
  const std::optional<Mapping> mapping = MappingOf(slot);
  ASSERT_TRUE(mapping.has_value()) << what << ": no mapping holds the slot";
  std::string flags;
  for (const std::string& f : mapping->flags) flags += f + " ";
  // libsodium's sodium_malloc marks its region MADV_DONTDUMP (sodium_mlock), KeyArena relies
  // on it: this is the check that it holds on this system.
  EXPECT_TRUE(mapping->Has("dd")) << what
                                  << ": key slab would be in a core dump; VmFlags: " << flags;
  // The mapping is the slab's data region, not a page that happens to hold the slot.
  const size_t slab_bytes = arena.reserved_bytes() / arena.slab_count();
  EXPECT_GE(mapping->end - mapping->begin, slab_bytes) << what;
  if (kMlockIsReal && arena.unlocked_slabs() == 0) {
    EXPECT_TRUE(mapping->Has("lo")) << what << ": key slab not locked; VmFlags: " << flags;
  }
}

TEST_P(KeyGone, KeySlabsAreExcludedFromCoreDumps) {
  HopLayers hop;
  ASSERT_EQ(suite().MakeHop(SeedFor(suite(), 1), hop), SuiteError::kOk);
  ExpectKeySlab(arena(), hop.forward.get(), suite().name());
  ExpectKeySlab(arena(), hop.backward.get(), suite().name());
}

TEST(KeyGoneAez, PendingRekeySlabIsExcludedFromCoreDumps) {
  ArenaBox<PendingRekeyMaterial> pending =
      MakeInArena<PendingRekeyMaterial>(PendingRekeyMaterial::Arena());
  ASSERT_TRUE(pending);
  ExpectKeySlab(PendingRekeyMaterial::Arena(), pending.get(), "pending rekey material");
}

INSTANTIATE_TEST_SUITE_P(Suites, KeyGone, ::testing::ValuesIn(testing::AllSuiteIds()),
                         testing::SuiteParamName);

// ---------------------------------------------------------------------------------------------
// RELAY_REKEY (aez): the new keys go into the same slots

// The 16-byte blocks the hop's old key is made of: the expanded AEZ key's rows (the zero rows
// left out: zeros are everywhere) and the chain key's two halves (AES-256's first round keys).
std::vector<std::array<uint8_t, 16>> OldKeyBlocks(const CellLayer& layer,
                                                  std::span<const uint8_t> seed) {
  std::vector<std::array<uint8_t, 16>> blocks;
  const AezKey& key = static_cast<const AezCellDirection&>(layer).key();
  const std::vector<uint8_t> bytes = ReadSlot(&key, sizeof key);
  for (size_t at = 0; at + 16 <= bytes.size(); at += 16) {
    std::array<uint8_t, 16> block;
    std::memcpy(block.data(), bytes.data() + at, 16);
    if (std::any_of(block.begin(), block.end(), [](uint8_t b) { return b != 0; }))
      blocks.push_back(block);
  }
  uint8_t material[kKdfOutputBytes];
  EXPECT_EQ(DeriveHopKeys(seed, material), KdfError::kOk);
  const HopKeyMaterialView view = SplitKeyMaterial(material);
  for (size_t half = 0; half < 2; ++half) {
    std::array<uint8_t, 16> block;
    std::memcpy(block.data(), view.chain_key.data() + 16 * half, 16);
    blocks.push_back(block);
  }
  return blocks;
}

// How many of `blocks` occur anywhere in the slot, at any offset.
size_t BlocksFound(const void* slot, size_t bytes,
                   const std::vector<std::array<uint8_t, 16>>& blocks) {
  const std::vector<uint8_t> hay = ReadSlot(slot, bytes);
  size_t found = 0;
  for (const auto& block : blocks) {
    found += std::search(hay.begin(), hay.end(), block.begin(), block.end()) != hay.end();
  }
  return found;
}

TEST(KeyGoneAez, RekeyLeavesNoOldKeyBytesAndNoPendingMaterial) {
  const CellSuite& suite = AezCellSuite();
  RekeyConfig config;
  config.first = 64;
  config.interval = 64;
  config.slack = 256;
  config.min_spacing = 4;
  const std::vector<uint8_t> seed = SeedFor(suite, 1);
  const void* pending = ProbeNextSlots(PendingRekeyMaterial::Arena(), 1)[0];
  ClientCircuit client;
  const std::span<const uint8_t> seeds[] = {seed};
  ASSERT_EQ(ClientCircuit::Create(suite, 300, seeds, config, client), SuiteError::kOk);
  RelayCircuit relay;
  ASSERT_EQ(RelayCircuit::Create(suite, seed, 300, 0, config, RekeyEnforcer::Mode::kEnforce, relay),
            SuiteError::kOk);
  const size_t bytes = AezCellDirection::Arena().slot_bytes();
  const size_t pending_bytes = PendingRekeyMaterial::Arena().slot_bytes();

  // Some traffic first (min_spacing), then the old keys' blocks, as they are in the slots.
  Cell cell{};
  const std::vector<uint8_t> data = testing::TestData(50, 3);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(client.Originate(1, {RelayCommand::kData, 1, 50}, data, false, cell),
              OriginateError::kOk);
    ASSERT_EQ(relay.HandleForward(cell).outcome, CellOutcome::kDelivered);
  }
  EXPECT_EQ(NonZeroBytes(pending, pending_bytes), 0u);
  const auto old_blocks = OldKeyBlocks(client.forward_layer(1), seed);
  ASSERT_GT(old_blocks.size(), 16u);
  const void* client_fwd = SlotOf(client.forward_layer(1));
  const void* client_bwd = SlotOf(client.backward_layer(1));
  const void* relay_fwd = SlotOf(relay.layer(true));
  const void* relay_bwd = SlotOf(relay.layer(false));
  for (const void* slot : {client_fwd, client_bwd, relay_fwd, relay_bwd}) {
    ASSERT_EQ(BlocksFound(slot, bytes, old_blocks), old_blocks.size());  // the search works
  }

  // REKEY(1) leaves: the client's forward layer is on the new keys, the new backward keys wait
  // in the pending slot (so that is where they are: the probe found the right slot).
  ASSERT_EQ(client.RequestRekey(1), RekeyError::kNone);
  ASSERT_TRUE(client.PollControlCell(cell));
  EXPECT_EQ(SlotOf(client.forward_layer(1)), client_fwd);  // in place
  EXPECT_EQ(BlocksFound(client_fwd, bytes, old_blocks), 0u) << "client forward keeps old key";
  EXPECT_EQ(BlocksFound(client_bwd, bytes, old_blocks), old_blocks.size());  // until the ACK
  EXPECT_GT(NonZeroBytes(pending, pending_bytes), 64u) << "the probe missed the pending slot";

  // The relay switches both directions and sends the ACK under the old backward keys.
  ASSERT_EQ(relay.HandleForward(cell).outcome, CellOutcome::kIgnored);
  EXPECT_EQ(BlocksFound(relay_fwd, bytes, old_blocks), 0u) << "relay forward keeps old key";
  EXPECT_EQ(BlocksFound(relay_bwd, bytes, old_blocks), 0u) << "relay backward keeps old key";
  ASSERT_TRUE(relay.PollControlCell(cell));
  const CellResult ack = client.Receive(cell);
  ASSERT_EQ(ack.outcome, CellOutcome::kIgnored);
  EXPECT_EQ(BlocksFound(client_bwd, bytes, old_blocks), 0u) << "client backward keeps old key";
  EXPECT_EQ(NonZeroBytes(pending, pending_bytes), 0u) << "new keys left in the pending slot";
  EXPECT_EQ(client.hop_rekey(1).state(), ClientRekeyState::kIdle);

  // The new keys work both ways.
  ASSERT_EQ(client.Originate(1, {RelayCommand::kData, 1, 50}, data, false, cell),
            OriginateError::kOk);
  ASSERT_EQ(relay.HandleForward(cell).outcome, CellOutcome::kDelivered);
  ASSERT_EQ(relay.Originate({RelayCommand::kData, 1, 50}, data, cell), OriginateError::kOk);
  ASSERT_EQ(client.Receive(cell).outcome, CellOutcome::kDelivered);

  // A circuit destroyed with a rekey outstanding: the pending slot is wiped too.
  ASSERT_EQ(client.RequestRekey(1), RekeyError::kNone);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(client.Originate(1, {RelayCommand::kData, 1, 50}, data, false, cell),
              OriginateError::kOk);
  }
  ASSERT_TRUE(client.PollControlCell(cell));
  EXPECT_GT(NonZeroBytes(pending, pending_bytes), 64u);
  client.Destroy();
  EXPECT_EQ(NonZeroBytes(pending, pending_bytes), 0u);
  EXPECT_EQ(NonZeroBytes(client_fwd, bytes), 0u);
  EXPECT_EQ(NonZeroBytes(client_bwd, bytes), 0u);
}

// ---------------------------------------------------------------------------------------------
// The stack

// The AEZ batch below the cell layer (AezEncipherBatch, AezDecipherBatch), which does not wipe:
// 64 cells under 64 directions, each run with fresh directions in the same slots and the same
// cells, so the keys are the only difference between the two runs.
struct BatchProbe {
  static constexpr size_t kCells = LayerBatch::kCapacity;
  std::vector<AezCellDirectionBox> directions = std::vector<AezCellDirectionBox>(kCells);
  std::vector<std::array<uint8_t, kCellBodyBytes>> cells =
      std::vector<std::array<uint8_t, kCellBodyBytes>>(kCells);
  std::array<uint8_t, 16> delta{};
  std::vector<AezBatchJob> jobs = std::vector<AezBatchJob>(kCells);

  void Install(uint8_t key_salt) {
    ReinstallAezDirections(directions, key_salt);
    if (::testing::Test::HasFatalFailure()) return;
    for (size_t i = 0; i < kCells; ++i) {
      for (size_t j = 0; j < kCellBodyBytes; ++j) cells[i][j] = uint8_t(i * 3 + j);
      jobs[i] = {&directions[i]->key(), delta.data(), cells[i].data(), cells[i].data(),
                 kCellBodyBytes};
    }
  }
  // The AEZ batch below the cell layer, which does not wipe.
  static void RunAezBatch(void* self) {
    auto& p = *static_cast<BatchProbe*>(self);
    AezEncipherBatch(std::span<const AezBatchJob>(p.jobs.data(), kCells / 2));
    AezDecipherBatch(std::span<const AezBatchJob>(p.jobs.data() + kCells / 2, kCells / 2));
  }
};

// The same probe over a suite's layers as a host drives them: 32 hops, both directions, one
// cell each, through the suite's LayerBatch (RunBatch) or one CellLayer::Apply at a time, as
// ClientCircuit and RelayCircuit do (RunSingle: then the host wipes, as docs/embedding.md asks).
// Fresh hops in the same arena slots between runs (released last first, made again in order),
// so only the keys differ.
struct SuiteLayerProbe {
  static constexpr size_t kHops = LayerBatch::kCapacity / 2;
  const CellSuite* suite = nullptr;
  bool wipe_after_single = true;
  std::vector<HopLayers> hops = std::vector<HopLayers>(kHops);
  std::vector<std::array<uint8_t, kCellBodyBytes>> cells =
      std::vector<std::array<uint8_t, kCellBodyBytes>>(2 * kHops);
  std::unique_ptr<LayerBatch> batch;
  bool recognized[2 * kHops] = {};

  void Install(uint8_t key_salt) {
    if (!batch) batch = suite->MakeBatch();
    std::vector<const void*> before;
    for (const HopLayers& h : hops) {
      before.push_back(h.forward.get());
      before.push_back(h.backward.get());
    }
    for (size_t i = kHops; i-- > 0;) hops[i].backward.reset(), hops[i].forward.reset();
    std::vector<uint8_t> seed(suite->min_seed_bytes());
    for (size_t i = 0; i < kHops; ++i) {
      for (size_t j = 0; j < seed.size(); ++j) seed[j] = uint8_t(key_salt * 131 + j * 7 + i);
      ASSERT_EQ(suite->MakeHop(seed, hops[i]), SuiteError::kOk);
      if (before[2 * i] != nullptr) {
        ASSERT_EQ(hops[i].forward.get(), before[2 * i]);
        ASSERT_EQ(hops[i].backward.get(), before[2 * i + 1]);
      }
    }
    for (size_t i = 0; i < cells.size(); ++i) {
      for (size_t j = 0; j < kCellBodyBytes; ++j) cells[i][j] = uint8_t(i * 3 + j);
    }
  }
  static void RunBatch(void* self) {
    auto& p = *static_cast<SuiteLayerProbe*>(self);
    for (size_t i = 0; i < kHops; ++i) {
      p.batch->Add(*p.hops[i].forward, LayerOp::kRelayDecrypt, CellBody(p.cells[2 * i]), i == 3,
                   &p.recognized[2 * i]);
      p.batch->Add(*p.hops[i].backward, LayerOp::kRelayEncrypt, CellBody(p.cells[2 * i + 1]), false,
                   nullptr);
    }
    p.batch->Run();
  }
  static void RunSingle(void* self) {
    auto& p = *static_cast<SuiteLayerProbe*>(self);
    for (size_t i = 0; i < kHops; ++i) {
      p.recognized[2 * i] =
          p.hops[i].forward->Apply(LayerOp::kRelayDecrypt, CellBody(p.cells[2 * i]), i == 3);
      p.hops[i].backward->Apply(LayerOp::kRelayEncrypt, CellBody(p.cells[2 * i + 1]), false);
    }
    if (p.wipe_after_single) WipeStack(kCellCallStackWipeBytes);
  }
};

// Each suite's layers on every path of the kernel families they run on (tor1's AES-CTR and
// SHA-1 are ipsec-mb's and OpenSSL's: a pass over polyval's paths just repeats the run).
PathLeftovers SuiteLeftovers(SuiteLayerProbe& probe, SuiteId id, testing::Work work) {
  using kernels::KernelFamily;
  probe.suite = FindSuite(id);
  if (id == kAezSuiteId) {
    return KeyDependentStackBytesPerPath(probe, work,
                                         {KernelFamily::kAezCore, KernelFamily::kAezHash});
  }
  return KeyDependentStackBytesPerPath(probe, work, {KernelFamily::kPolyval});
}

// Every suite's batch wipes behind itself: aez's AezCellBatch (kRunStackWipeBytes, on every
// aez_core and aez_hash path; one RELAY_EARLY, whose Δ is hashed inside Run), tor1's
// SerialLayerBatch and cgo's CgoCellBatch (kCellCallStackWipeBytes).
TEST(StackWipe, EverySuitesBatchLeavesNoKeyDependentStack) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  for (SuiteId id : testing::AllSuiteIds()) {
    SuiteLayerProbe probe;
    const PathLeftovers left = SuiteLeftovers(probe, id, &SuiteLayerProbe::RunBatch);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(left.worst, 0u) << probe.suite->name() << " batch: " << left.report;
  }
}

// Single calls leave the stack to their host: with the wipe docs/embedding.md asks for after
// a burst of them, nothing key-dependent is left; without it, some suite on some path leaves
// something (so the probe can tell).
TEST(StackWipe, SingleCallsThenTheHostsWipeLeaveNoKeyDependentStack) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  size_t unwiped_worst = 0;
  std::string unwiped;
  for (SuiteId id : testing::AllSuiteIds()) {
    SuiteLayerProbe probe;
    const PathLeftovers left = SuiteLeftovers(probe, id, &SuiteLayerProbe::RunSingle);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(left.worst, 0u) << probe.suite->name() << " single calls, wiped: " << left.report;
    SuiteLayerProbe bare;
    bare.wipe_after_single = false;
    const PathLeftovers bare_left = SuiteLeftovers(bare, id, &SuiteLayerProbe::RunSingle);
    ASSERT_FALSE(HasFatalFailure());
    unwiped_worst = std::max(unwiped_worst, bare_left.worst);
    unwiped += std::string(bare.suite->name()) + ": " + bare_left.report + "; ";
  }
  EXPECT_GT(unwiped_worst, 0u) << "nothing left even unwiped: the probe cannot tell";
  std::printf("key-dependent bytes left by unwiped single calls: %s\n", unwiped.c_str());
}

// A relay pipeline's batch as a relay carrying few busy circuits sees it: each circuit's cells
// in a row (so every group is one cell per circuit, run without a wipe of its own), cells both
// ways, and a cell the relay originates (a single call). ProcessBatch wipes once behind all of
// it (RelayPipeline::kBatchStackWipeBytes). Between runs the circuits are closed and opened
// again with other seeds, last first, so they take the same slots and only the keys differ.
struct PipelineProbe {
  static constexpr uint32_t kCircuits = 3, kRounds = 4;
  static constexpr uint32_t kClientChannel = 1, kNextChannel = 2;
  const CellSuite* suite = nullptr;
  std::unique_ptr<RelayPipeline> pipeline;
  DirectOutput out{/*keep=*/false};
  std::vector<InCell> work;
  bool opened = false;
  // Which items the batch holds: cells both ways (groups), cells of the relay's own (single
  // calls, as at an exit sending a stream's data), or both.
  bool cells = true, originate = true;

  void Install(uint8_t key_salt) {
    if (!pipeline)
      pipeline = std::make_unique<RelayPipeline>(RelayPipelineConfig{.max_circuits = 16});
    std::vector<InCell> setup;
    if (opened) {
      for (uint32_t c = kCircuits; c-- > 0;) {
        ASSERT_TRUE(EncodeRelayClose(kClientChannel, 100 + c, DestroyReason::kFinished, false,
                                     false, setup.emplace_back()));
      }
    }
    std::vector<uint8_t> seed(suite->min_seed_bytes());
    for (uint32_t c = 0; c < kCircuits; ++c) {
      for (size_t j = 0; j < seed.size(); ++j) seed[j] = uint8_t(key_salt * 131 + j * 7 + c);
      ASSERT_TRUE(EncodeRelayOpen(kClientChannel, 100 + c,
                                  {.suite = suite->id(),
                                   .next_channel = kNextChannel,
                                   .next_circ_id = 200 + c,
                                   .seed = seed},
                                  setup.emplace_back()));
    }
    pipeline->ProcessBatch(setup, out.output());
    WipeKeyParameters(setup);
    opened = true;
    for (uint32_t c = 0; c < kCircuits; ++c) {
      ASSERT_NE(pipeline->FindByClientSide({kClientChannel, 100 + c}), nullptr);
    }
    work.clear();
    for (uint32_t c = 0; c < kCircuits && cells; ++c) {
      for (uint32_t r = 0; r < kRounds; ++r) {
        InCell& forward = work.emplace_back();
        forward.channel = kClientChannel;
        WriteCellHeader(100 + c, CellCommand::kRelay, forward.cell.span());
        for (size_t j = 0; j < kCellBodyBytes; ++j) forward.cell.payload()[j] = uint8_t(j * 5 + r);
        InCell& backward = work.emplace_back();
        backward.channel = kNextChannel;
        WriteCellHeader(200 + c, CellCommand::kRelay, backward.cell.span());
        for (size_t j = 0; j < kCellBodyBytes; ++j) backward.cell.payload()[j] = uint8_t(j + c);
      }
    }
    for (uint32_t c = 0; c < kCircuits && originate; ++c) {
      InCell& own = work.emplace_back();
      own.kind = InKind::kOriginate;
      own.channel = kClientChannel;
      WriteCellHeader(100 + c, CellCommand::kRelay, own.cell.span());
      const std::vector<uint8_t> data = testing::TestData(200, 3 + c);
      BuildRelayPayload(suite->relay_format(), {RelayCommand::kData, 1, uint16_t(data.size())},
                        data, own.cell.payload());
    }
  }
  static void Run(void* self) {
    auto& p = *static_cast<PipelineProbe*>(self);
    p.pipeline->ProcessBatch(p.work, p.out.output());
  }
};

TEST(StackWipe, RelayPipelineBatchOfOneCellGroupsLeavesNoKeyDependentStack) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  using kernels::KernelFamily;
  for (SuiteId id : testing::AllSuiteIds()) {
    // The groups' depth alone, single calls alone, and both.
    for (const auto& [cells, originate] : {std::pair{true, false}, {false, true}, {true, true}}) {
      PipelineProbe probe;
      probe.suite = FindSuite(id);
      probe.cells = cells;
      probe.originate = originate;
      const PathLeftovers left = KeyDependentStackBytesPerPath(
          probe, &PipelineProbe::Run,
          id == kAezSuiteId
              ? std::initializer_list<KernelFamily>{KernelFamily::kAezCore, KernelFamily::kAezHash}
              : std::initializer_list<KernelFamily>{KernelFamily::kPolyval});
      ASSERT_FALSE(HasFatalFailure());
      EXPECT_EQ(left.worst, 0u) << probe.suite->name() << " pipeline batch of"
                                << (cells ? " cells" : "") << (originate ? " originated cells" : "")
                                << ": " << left.report;
      // Every item became an output: forwarded, or sent towards the client.
      EXPECT_GE(probe.out.count(), uint64_t{probe.work.size()});
    }
  }
}

size_t g_deferred_depth = 0;  // the depth the last Deferred::Run wiped

// What a batch returns from RunLeavingStack is what its caller must wipe; wiped so from one
// frame above (as RelayPipeline::RunGroup's caller does), nothing key-dependent is left, on
// every suite and path, and the pipeline's wipe is at least as deep.
TEST(StackWipe, EachBatchsDeferredDepthSufficesFromItsCaller) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  struct Deferred {
    static void Run(void* self) {
      auto& p = *static_cast<SuiteLayerProbe*>(self);
      size_t depth = 0;
      for (size_t i = 0; i < SuiteLayerProbe::kHops; ++i) {  // groups of two cells
        p.batch->Add(*p.hops[i].forward, LayerOp::kRelayDecrypt, CellBody(p.cells[2 * i]), i == 3,
                     &p.recognized[2 * i]);
        p.batch->Add(*p.hops[i].backward, LayerOp::kRelayEncrypt, CellBody(p.cells[2 * i + 1]),
                     false, nullptr);
        depth = std::max(depth, p.batch->RunLeavingStack());
      }
      g_deferred_depth = depth;
      WipeStack(depth);
    }
  };
  for (SuiteId id : testing::AllSuiteIds()) {
    SuiteLayerProbe probe;
    const PathLeftovers left = SuiteLeftovers(probe, id, &Deferred::Run);
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_EQ(left.worst, 0u) << probe.suite->name() << " deferred batches: " << left.report;
    EXPECT_GT(g_deferred_depth, 0u);
    EXPECT_LE(g_deferred_depth, RelayPipeline::kBatchStackWipeBytes);
  }
}

TEST(StackWipe, WipeStackErasesWhatACalleeLeftBehind) {
  if (!kCanReadStack) GTEST_SKIP() << "the stack probe needs x86-64";
  constexpr size_t kSecret = 4096;
  struct Callee {
    __attribute__((noinline)) static uint8_t* LeaveSecret(uint8_t pattern) {
      uint8_t secret[kSecret];
      std::memset(secret, pattern, sizeof secret);
      uint8_t* at = secret;
      __asm__ __volatile__("" : "+r"(at) : : "memory");  // the stores are seen: not dead
      return at;
    }
  };
  static uint8_t copy[kSecret];
  // Without a wipe the callee's secret is still there: the probe does see dead frames.
  uint8_t* left = Callee::LeaveSecret(0xC3);
  const auto frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (reinterpret_cast<uintptr_t>(left) > frame ||
      frame - reinterpret_cast<uintptr_t>(left) > 65536)
    GTEST_SKIP()
        << "the callee's frame is not on this stack (ASan's detect_stack_use_after_return)";
  CopyStack(left, copy, kSecret);
  EXPECT_EQ(std::count(copy, copy + kSecret, 0xC3), ptrdiff_t(kSecret));

  left = Callee::LeaveSecret(0x3C);
  WipeStack(2 * kSecret);
  CopyStack(left, copy, kSecret);
  EXPECT_EQ(std::count(copy, copy + kSecret, 0x3C), 0);
  // All zero but where WipeStack's own frame (return address, saved registers) now sits.
  EXPECT_GE(std::count(copy, copy + kSecret, 0), ptrdiff_t(kSecret - 64));
}

// The same probe finds what an unwiped batch leaves: on some path at least, the kernels spill
// key-dependent values into frames that outlive them.
TEST(StackWipe, UnwipedAezBatchLeavesKeyDependentStack) {
  if (!kCanProbeStack) GTEST_SKIP() << "the stack probe needs x86-64 and no sanitizer";
  BatchProbe probe;
  const PathLeftovers left = KeyDependentStackBytesPerPath(probe, &BatchProbe::RunAezBatch,
                                                           {kernels::KernelFamily::kAezCore});
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GT(left.worst, 0u) << "no path leaves anything: the probe cannot tell a wipe happened; "
                            << left.report;
  std::printf("key-dependent bytes left by the unwiped AEZ batch, per path: %s\n",
              left.report.c_str());
}

}  // namespace
}  // namespace relaycell
