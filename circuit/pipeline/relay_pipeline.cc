#include "circuit/pipeline/relay_pipeline.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "circuit/cell.h"
#include "circuit/relay_header.h"
#include "engine/common/byte_io.h"
#include "engine/common/wipe_stack.h"
#include "kernels/prefetch.h"

namespace relaycell {
namespace {

// kOpen payload: suite u8 | next_channel u32 | next_circ_id u32 | seed_length u16 | seed.
constexpr size_t kOpenHeaderBytes = 11;
static_assert(kOpenHeaderBytes + kMaxOpenSeedBytes == kCellBodyBytes);

// kClose payload: reason u8 | sides u8, sides = kCloseSides | tell_client | tell_next << 1.
// The marker tells it from the older payload, where only the reason byte meant anything.
constexpr uint8_t kCloseSides = 0x80;

// A control item: a header naming the circuit (the command only labels the item for a reader).
void StartControlItem(uint32_t channel, uint32_t circ_id, InKind kind, CellCommand label,
                      InCell& out) {
  out = InCell{};
  out.channel = channel;
  out.kind = kind;
  WriteCellHeader(circ_id, label, out.cell.span());
}

}  // namespace

bool EncodeRelayOpen(uint32_t channel, uint32_t circ_id, const RelayOpenParams& params,
                     InCell& out) {
  if (circ_id == 0 || params.seed.size() > kMaxOpenSeedBytes) return false;
  StartControlItem(channel, circ_id, InKind::kOpen, CellCommand::kCreate2, out);
  ByteWriter w(out.cell.payload());
  w.U8(params.suite);
  w.BigEndian(params.next_channel);
  w.BigEndian(params.next_circ_id);
  w.BigEndian(uint16_t(params.seed.size()));
  w.Bytes(params.seed);
  return w.ok();
}

bool DecodeRelayOpen(const WireCell& cell, RelayOpenParams& out) {
  ByteReader r(cell.payload());
  uint16_t length = 0;
  if (!r.U8(out.suite) || !r.BigEndian(out.next_channel) || !r.BigEndian(out.next_circ_id) ||
      !r.BigEndian(length) || FindSuite(out.suite) == nullptr || length > kMaxOpenSeedBytes) {
    return false;
  }
  return r.View(length, out.seed);
}

bool EncodeRelayClose(uint32_t channel, uint32_t circ_id, DestroyReason reason,
                      bool tell_client_side, bool tell_next_side, InCell& out) {
  if (circ_id == 0 || !IsKnownDestroyReason(uint8_t(reason))) return false;
  StartControlItem(channel, circ_id, InKind::kClose, CellCommand::kDestroy, out);
  out.cell.payload()[0] = uint8_t(reason);
  out.cell.payload()[1] =
      uint8_t(kCloseSides | (tell_client_side ? 1 : 0) | (tell_next_side ? 2 : 0));
  return true;
}

RelayCloseParams DecodeRelayClose(const WireCell& cell) {
  const uint8_t wanted = cell.payload()[0];
  const uint8_t sides = cell.payload()[1];
  RelayCloseParams params;
  if ((sides & ~uint8_t{3}) == kCloseSides) {
    if (IsKnownDestroyReason(wanted)) params.reason = DestroyReason(wanted);
    params.tell_client_side = (sides & 1) != 0;
    params.tell_next_side = (sides & 2) != 0;
  } else if (wanted != 0 && IsKnownDestroyReason(wanted)) {
    params.reason = DestroyReason(wanted);
  }
  return params;
}

// kAttachNext payload: next_channel u32 | next_circ_id u32.
bool EncodeRelayAttachNext(uint32_t channel, uint32_t circ_id, uint32_t next_channel,
                           uint32_t next_circ_id, InCell& out) {
  if (circ_id == 0 || next_circ_id == 0) return false;
  StartControlItem(channel, circ_id, InKind::kAttachNext, CellCommand::kCreated2, out);
  ByteWriter w(out.cell.payload());
  w.BigEndian(next_channel);
  w.BigEndian(next_circ_id);
  return w.ok();
}

bool DecodeRelayAttachNext(const WireCell& cell, uint32_t& next_channel, uint32_t& next_circ_id) {
  ByteReader r(cell.payload());
  return r.BigEndian(next_channel) && r.BigEndian(next_circ_id) && next_circ_id != 0;
}

bool EncodeRelayDetachNext(uint32_t channel, uint32_t circ_id, InCell& out) {
  if (circ_id == 0) return false;
  StartControlItem(channel, circ_id, InKind::kDetachNext, CellCommand::kDestroy, out);
  return true;
}

RelayPipeline::RelayPipeline(const RelayPipelineConfig& config)
    : config_(config),
      forward_(config.max_circuits),
      backward_(config.max_circuits),
      backward_owner_(config.max_circuits, kNoCircuitSlot),
      circuits_(config.max_circuits),
      group_cells_(kGroupCells) {
  group_.reserve(kGroupCells);
  for (const CellSuite* suite : AllSuites()) batches_[suite->id()] = suite->MakeBatch();
}

RelayPipeline::~RelayPipeline() = default;  // each RelayCircuit wipes and frees its key slots

const RelayCircuit* RelayPipeline::FindByClientSide(CircuitKey key) const {
  const CircuitSlot slot = forward_.Find(key);
  return slot == kNoCircuitSlot ? nullptr : &circuits_[slot].circuit;
}

size_t RelayPipeline::MemoryBytes() const {
  return forward_.MemoryBytes() + backward_.MemoryBytes() +
         backward_owner_.capacity() * sizeof(CircuitSlot) + circuits_.capacity() * sizeof(Entry);
}

// Named by either key: a host whose link died knows only the key on that link.
void RelayPipeline::HostClose(const InCell& in, ShardOutput& out) {
  bool from_client = false;
  const CircuitSlot slot = Lookup({in.channel, in.cell.circ_id()}, from_client);
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  const RelayCloseParams how = DecodeRelayClose(in.cell);
  Close(slot, how.reason, how.reason, how.tell_client_side, how.tell_next_side, out);
}

// The next-side key goes into the table only if no circuit has it on either side, so one
// lookup per cell still names one circuit and one direction.
void RelayPipeline::HostAttachNext(const InCell& in) {
  const CircuitSlot slot = forward_.Find({in.channel, in.cell.circ_id()});
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  Entry& entry = circuits_[slot];
  CircuitKey next_key;
  if (!DecodeRelayAttachNext(in.cell, next_key.channel, next_key.circ_id) ||
      entry.back_slot != kNoCircuitSlot || forward_.Find(next_key) != kNoCircuitSlot ||
      backward_.Find(next_key) != kNoCircuitSlot) {
    ++counters_.attach_refused;
    return;
  }
  const CircuitInsert back = backward_.Insert(next_key);
  if (back.error != CircuitTableError::kOk) {  // cannot be full: one entry per circuit at most
    ++counters_.attach_refused;
    return;
  }
  ++table_epoch_;  // lookups made before this may be stale
  entry.next_channel = next_key.channel;
  entry.back_slot = back.slot;
  backward_owner_[back.slot] = slot;
  entry.circuit.AttachNext(next_key.circ_id);
  ++counters_.attached;
}

void RelayPipeline::HostDetachNext(const InCell& in) {
  bool from_client = false;
  const CircuitSlot slot = Lookup({in.channel, in.cell.circ_id()}, from_client);
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  RelayCircuit& circuit = circuits_[slot].circuit;
  if (circuits_[slot].back_slot == kNoCircuitSlot) {
    ++counters_.detach_refused;
    return;
  }
  UnlinkNext(slot, circuit.next_side_id());
  circuit.DetachNext();
  ++counters_.detached;
}

void RelayPipeline::UnlinkNext(CircuitSlot slot, uint32_t next_circ_id) {
  ++table_epoch_;  // lookups made before this may be stale
  Entry& entry = circuits_[slot];
  backward_.Erase({entry.next_channel, next_circ_id});
  backward_owner_[entry.back_slot] = kNoCircuitSlot;
  entry.back_slot = kNoCircuitSlot;
  entry.next_channel = 0;
}

void RelayPipeline::Open(const InCell& in) {
  ++table_epoch_;  // lookups made before this may be stale
  RelayOpenParams params;
  const CircuitKey client_key{in.channel, in.cell.circ_id()};
  if (!DecodeRelayOpen(in.cell, params) || client_key.circ_id == 0 ||
      backward_.Find(client_key) != kNoCircuitSlot) {
    ++counters_.open_failed;
    return;
  }
  const CircuitKey next_key{params.next_channel, params.next_circ_id};
  const bool has_next = params.next_circ_id != 0;
  if (has_next && (forward_.Find(next_key) != kNoCircuitSlot ||
                   backward_.Find(next_key) != kNoCircuitSlot || next_key == client_key)) {
    ++counters_.open_failed;
    return;
  }
  const CircuitInsert inserted = forward_.Insert(client_key);
  if (inserted.error != CircuitTableError::kOk) {
    ++counters_.open_failed;
    return;
  }
  Entry& entry = circuits_[inserted.slot];
  if (RelayCircuit::Create(*FindSuite(params.suite), params.seed, client_key.circ_id,
                           params.next_circ_id, config_.rekey, config_.rekey_mode,
                           entry.circuit) != SuiteError::kOk) {
    forward_.Erase(client_key);
    ++counters_.open_failed;
    return;
  }
  entry.client_channel = in.channel;
  entry.next_channel = params.next_channel;
  entry.back_slot = kNoCircuitSlot;
  if (has_next) {
    const CircuitInsert back = backward_.Insert(next_key);
    if (back.error != CircuitTableError::kOk) {  // cannot be full before forward_ is
      entry = Entry{};
      forward_.Erase(client_key);
      ++counters_.open_failed;
      return;
    }
    entry.back_slot = back.slot;
    backward_owner_[back.slot] = inserted.slot;
  }
  ++counters_.opened;
}

void RelayPipeline::Originate(const InCell& in, ShardOutput& out) {
  const CircuitSlot slot = forward_.Find({in.channel, in.cell.circ_id()});
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  Entry& entry = circuits_[slot];
  const ParsedRelay relay =
      ParseRelayPayload(entry.circuit.suite().relay_format(), in.cell.payload());
  if (!relay.ok() || relay.header.command == RelayCommand::kRekey) {
    ++counters_.originate_refused;
    return;
  }
  OutItem& item = out.Append();
  const OriginateError error = entry.circuit.OriginatePayload(in.cell.payload(), item.cell.span());
  if (error != OriginateError::kOk) {
    out.DropLast();
    if (!entry.circuit.is_open()) {  // the key passed its deadline: closed as a protocol error
      Close(slot, DestroyReason::kProtocol, DestroyReason::kProtocol, true, true, out);
    } else {
      ++counters_.originate_refused;
    }
    return;
  }
  item.kind = OutKind::kSend;
  item.channel = entry.client_channel;
  item.hop = 0;
  ++counters_.originated;
}

// `item` (the last Append) holds the processed cell; turn the outcome into outputs.
void RelayPipeline::Emit(CircuitSlot slot, bool from_client, const CellResult& result,
                         OutItem& item, ShardOutput& out) {
  Entry& entry = circuits_[slot];
  switch (result.outcome) {
    case CellOutcome::kForward:
      item.kind = OutKind::kSend;
      item.channel = from_client ? entry.next_channel : entry.client_channel;
      ++counters_.forwarded;
      return;
    case CellOutcome::kDelivered:
      item.kind = OutKind::kDeliver;
      item.channel = entry.client_channel;
      ++counters_.delivered;
      return;
    case CellOutcome::kIgnored:
      // A REKEY addressed to us leaves its ACK to send before any later cell of the circuit.
      if (entry.circuit.PollControlCell(item.cell.span())) {
        item.kind = OutKind::kSend;
        item.channel = entry.client_channel;
        ++counters_.control_cells;
        single_calls_ = true;  // the REKEY's new keys and its ACK's layer
      } else {
        out.DropLast();
        ++counters_.ignored;
      }
      return;
    case CellOutcome::kDestroyed:
      out.DropLast();
      if (result.error != ProtocolError::kNone) {
        Close(slot, DestroyReason::kProtocol, DestroyReason::kProtocol, true, true, out);
      } else {  // the client's DESTROY: tell the next hop
        Close(slot, entry.circuit.destroy_reason(), DestroyReason::kDestroyed, false, true, out);
      }
      return;
    case CellOutcome::kNextDestroyed:
      // The DESTROY came on the next-side key (the one Lookup found); only that side is gone.
      UnlinkNext(slot, item.cell.circ_id());
      item.kind = OutKind::kNextDestroyed;
      item.channel = entry.client_channel;
      BuildDestroyCell(entry.circuit.client_side_id(), result.destroy_reason, item.cell.span());
      ++counters_.next_destroyed;
      return;
    case CellOutcome::kClosed:  // not reached: closed circuits leave the tables at once
      out.DropLast();
      ++counters_.unknown_circuit;
      return;
  }
}

// Emits what each side is owed (a DESTROY to send, or kClosed: it already knows) and frees
// the circuit: its keys are wiped by RelayCircuit, its table entries and slot reused. The
// host learns of every side the circuit had, told or not.
void RelayPipeline::Close(CircuitSlot slot, DestroyReason to_client, DestroyReason to_next,
                          bool tell_client, bool tell_next, ShardOutput& out) {
  ++table_epoch_;  // lookups made before this may be stale
  Entry& entry = circuits_[slot];
  RelayCircuit& circuit = entry.circuit;
  const uint32_t client_id = circuit.client_side_id();
  const uint32_t next_id = circuit.next_side_id();
  {
    OutItem& item = out.Append();
    item.kind = tell_client ? OutKind::kDestroy : OutKind::kClosed;
    item.channel = entry.client_channel;
    item.hop = 0;
    BuildDestroyCell(client_id, to_client, item.cell.span());
  }
  if (next_id != 0) {
    OutItem& item = out.Append();
    item.kind = tell_next ? OutKind::kDestroy : OutKind::kClosed;
    item.channel = entry.next_channel;
    item.hop = 0;
    BuildDestroyCell(next_id, to_next, item.cell.span());
  }
  counters_.errors += circuit.errors();
  forward_.Erase({entry.client_channel, client_id});
  if (entry.back_slot != kNoCircuitSlot) {
    backward_.Erase({entry.next_channel, next_id});
    backward_owner_[entry.back_slot] = kNoCircuitSlot;
  }
  entry = Entry{};
  ++counters_.destroyed;
  single_calls_ = true;  // perhaps a REKEY whose derivation failed
}

void RelayPipeline::ProcessBatch(std::span<const InCell> batch, ShardOutput& out) {
  // With 10,000+ circuits every cell's table bucket, circuit entry and key state are cache
  // misses, each depending on the one before. A pipeline ahead of the cell being handled
  // overlaps them: the lookup kEntryAhead cells ahead (its loads independent of the cells
  // between) with its circuit entry prefetched, the key state kKeysAhead ahead (read from the
  // entry by then in cache; as much of it as the suite's arena asks for). A prefetch from a
  // stale lookup (a group closed the circuit meanwhile) is only wasted.
  //
  // There is no table-bucket prefetch before the lookup: absl's prefetch is __builtin_prefetch,
  // which GCC 12 treats as free of side effects, so the call was found pure and deleted
  // (kernels/prefetch.h), and the pipeline ran without it. Lookups 6 to 24 cells ahead
  // measured the same.
  constexpr size_t kEntryAhead = 6, kKeysAhead = 3;
  auto is_cell = [&](size_t i) { return i < batch.size() && batch[i].kind == InKind::kCell; };
  auto key_of = [&](size_t i) { return CircuitKey{batch[i].channel, batch[i].cell.circ_id()}; };
  auto prefetch_entry = [&](size_t i) {
    if (!is_cell(i)) return;
    bool from_client = false;
    const CircuitSlot slot = Lookup(key_of(i), from_client);
    ahead_[i % kAheadRing] = {slot, from_client, table_epoch_};
    if (slot == kNoCircuitSlot) return;
    kernels::PrefetchBytes(&circuits_[slot], sizeof(Entry));
  };
  auto prefetch_keys = [&](size_t i) {
    if (!is_cell(i)) return;
    const AheadSlot& a = ahead_[i % kAheadRing];
    if (a.slot != kNoCircuitSlot) circuits_[a.slot].circuit.Prefetch(a.from_client);
  };
  for (size_t i = 0; i < std::min(kEntryAhead, batch.size()); ++i) prefetch_entry(i);
  for (size_t i = 0; i < std::min(kKeysAhead, batch.size()); ++i) prefetch_keys(i);
  for (size_t i = 0; i < batch.size(); ++i) {
    prefetch_entry(i + kEntryAhead);
    prefetch_keys(i + kKeysAhead);
    const InCell& in = batch[i];
    if (in.kind != InKind::kCell) {  // control items and originations see every earlier cell done
      RunGroup(out);
      single_calls_ |= in.kind == InKind::kOpen || in.kind == InKind::kOriginate;
      switch (in.kind) {
        case InKind::kOpen: Open(in); break;
        case InKind::kOriginate: Originate(in, out); break;
        case InKind::kClose: HostClose(in, out); break;
        case InKind::kAttachNext: HostAttachNext(in); break;
        case InKind::kDetachNext: HostDetachNext(in); break;
        case InKind::kCell: break;
      }
      continue;
    }
    // The pipeline looked this cell up already; reuse it unless a table changed since.
    const AheadSlot& ahead = ahead_[i % kAheadRing];
    bool from_client = ahead.from_client;
    CircuitSlot slot = ahead.slot;
    if (ahead.epoch != table_epoch_) slot = Lookup({in.channel, in.cell.circ_id()}, from_client);
    // A circuit's next cell depends on its previous one (and on a rekey it may trigger).
    if (slot != kNoCircuitSlot &&
        (circuits_[slot].group == group_id_ || group_.size() == kGroupCells)) {
      RunGroup(out);
      slot = Lookup({in.channel, in.cell.circ_id()}, from_client);  // the group may have closed it
    }
    if (slot == kNoCircuitSlot) {
      ++counters_.unknown_circuit;
      continue;
    }
    Stage(slot, from_client, in.cell);
  }
  RunGroup(out);
  PublishCounters();
  // One wipe behind the whole batch, not one per group: on a relay carrying one busy circuit
  // every group is a single cell (a circuit's next cell waits for its last), and a wipe per
  // group cost more than its cell's AEZ (bench net, Zen 4: 1.80-1.87 -> 1.44-1.65 us of relay
  // CPU per cell without it). It also covers the single calls of this batch (kOpen's key setup,
  // kOriginate, a REKEY's new keys), which no batch wipes; as deep as what ran needs, since a
  // host may hand over one cell at a time.
  if (single_calls_) stack_to_wipe_ = std::max(stack_to_wipe_, kCellCallStackWipeBytes);
  if (stack_to_wipe_ != 0) {
    WipeStack(stack_to_wipe_ + kPipelineFramesBytes);
    stack_to_wipe_ = 0;
  }
  single_calls_ = false;
}

void RelayPipeline::PublishCounters() {
  for (size_t i = 0; i < published_.size(); ++i) {
    published_[i].store(counters_.*kPublishedCounters[i], std::memory_order_relaxed);
  }
}

RelayPipelineCounters RelayPipeline::published_counters() const {
  RelayPipelineCounters c;
  for (size_t i = 0; i < published_.size(); ++i) {
    c.*kPublishedCounters[i] = published_[i].load(std::memory_order_relaxed);
  }
  return c;
}

CircuitSlot RelayPipeline::Lookup(CircuitKey key, bool& from_client) const {
  const CircuitSlot slot = forward_.Find(key);
  from_client = slot != kNoCircuitSlot;
  if (from_client) return slot;
  const CircuitSlot back = backward_.Find(key);
  return back == kNoCircuitSlot ? kNoCircuitSlot : backward_owner_[back];
}

// Screens the cell where it arrived into the group; RunGroup queues its layer.
void RelayPipeline::Stage(CircuitSlot slot, bool from_client, const WireCell& cell) {
  Entry& entry = circuits_[slot];
  entry.group = group_id_;
  StagedCell& staged = group_.emplace_back();  // reserved: never reallocates
  staged.in = &cell;
  staged.slot = slot;
  staged.from_client = from_client;
  staged.recognized = false;
  if (from_client) {
    entry.circuit.ScreenForward(cell.span(), staged.screen);
  } else {
    entry.circuit.ScreenBackward(cell.span(), staged.screen);
  }
}

CellResult RelayPipeline::CompleteStaged(const StagedCell& staged, CellBytes cell) {
  if (!staged.screen.needs_layer) return staged.screen.result;
  RelayCircuit& circuit = circuits_[staged.slot].circuit;
  return staged.from_client ? circuit.CompleteForward(cell, staged.screen.early, staged.recognized)
                            : circuit.CompleteBackward(cell);
}

// Runs the group's layers, suite by suite, then completes and emits each cell in input order.
//
// Each cell's layer writes straight into an output item of a run taken for the group (one per
// cell, in order), so a cell is read once where it arrived and written once where it leaves.
// That holds while every cell leaves as one item in its place (forwarded or delivered: nearly
// every cell). At the first that does not (a DESTROY, an ignored cell, an ACK), the cells after
// it are moved to the working copies, taken back from the output, and emitted one Append at a
// time as they come, after it. An output smaller than a group takes that way from the start.
void RelayPipeline::RunGroup(ShardOutput& out) {
  const size_t n = group_.size();
  if (n == 0) return;
  const std::span<OutItem> run = n <= out.capacity() ? out.AppendRun(n) : std::span<OutItem>();
  for (size_t k = 0; k < n; ++k) {
    const StagedCell& staged = group_[k];
    WireCell& target = run.empty() ? group_cells_[k] : run[k].cell;
    if (!staged.screen.needs_layer) {
      target = *staged.in;
      continue;
    }
    std::memcpy(target.bytes.data(), staged.in->bytes.data(), kCellHeaderBytes);
    RelayCircuit& circuit = circuits_[staged.slot].circuit;
    batches_[circuit.suite_id()]->Add(
        circuit.layer(staged.from_client), RelayCircuit::layer_op(staged.from_client),
        staged.in->payload(), target.payload(), staged.screen.early, &group_[k].recognized);
  }
  for (const std::unique_ptr<LayerBatch>& batch : batches_) {
    // ProcessBatch wipes once behind every group, as deep as the deepest needs.
    if (batch) stack_to_wipe_ = std::max(stack_to_wipe_, batch->RunLeavingStack());
  }
  size_t k = 0;
  if (!run.empty()) {
    for (; k < n; ++k) {
      const StagedCell& staged = group_[k];
      OutItem& item = run[k];
      item.hop = 0;
      const CellResult result = CompleteStaged(staged, item.cell.span());
      const bool in_place =
          result.outcome == CellOutcome::kForward || result.outcome == CellOutcome::kDelivered;
      if (!in_place) {
        // The items taken back may hold a delivered cell's plaintext: it moves, none stays.
        for (size_t j = k + 1; j < n; ++j) {
          group_cells_[j] = run[j].cell;
          sodium_memzero(run[j].cell.bytes.data(), kCellBytes);
        }
        out.TakeBack(n - k - 1);  // `item` is the last appended now, as Emit expects
      }
      Emit(staged.slot, staged.from_client, result, item, out);
      if (!in_place) {
        ++k;
        break;
      }
    }
  }
  for (; k < n; ++k) {
    const StagedCell& staged = group_[k];
    OutItem& item = out.Append();
    item.cell = group_cells_[k];
    item.hop = 0;
    const CellResult result = CompleteStaged(staged, item.cell.span());
    // The working copy may hold plaintext (a delivered cell): it goes no further.
    sodium_memzero(group_cells_[k].bytes.data(), kCellBytes);
    Emit(staged.slot, staged.from_client, result, item, out);
  }
  group_.clear();
  ++group_id_;
}

}  // namespace relaycell
