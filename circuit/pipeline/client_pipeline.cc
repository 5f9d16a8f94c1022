#include "circuit/pipeline/client_pipeline.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "circuit/cell.h"
#include "circuit/relay_header.h"
#include "engine/common/byte_io.h"
#include "kernels/prefetch.h"

namespace relaycell {
namespace {

// kOpen payload: suite u8 | hops u8 | seed_length u16 | hops × seed.
constexpr size_t kOpenHeaderBytes = 4;

}  // namespace

bool EncodeClientOpen(uint32_t channel, uint32_t circ_id, const ClientOpenParams& params,
                      InCell& out) {
  const size_t hops = params.hop_seeds.size();
  if (circ_id == 0 || hops == 0 || hops > size_t(kMaxHops)) return false;
  const size_t length = params.hop_seeds[0].size();
  for (const auto& seed : params.hop_seeds) {
    if (seed.size() != length) return false;
  }
  if (kOpenHeaderBytes + hops * length > kCellBodyBytes) return false;
  out = InCell{};
  out.channel = channel;
  out.kind = InKind::kOpen;
  WriteCellHeader(circ_id, CellCommand::kCreate2, out.cell.span());
  ByteWriter w(out.cell.payload());
  w.U8(params.suite);
  w.U8(uint8_t(hops));
  w.BigEndian(uint16_t(length));
  for (size_t h = 0; h < hops; ++h) w.Bytes(params.hop_seeds[h]);
  return w.ok();
}

ClientPipeline::ClientPipeline(const ClientPipelineConfig& config)
    : config_(config),
      table_(config.max_circuits),
      circuits_(config.max_circuits),
      work_cells_(kGroupItems) {
  group_.reserve(kGroupItems);
  for (const CellSuite* suite : AllSuites()) batches_[suite->id()] = suite->MakeBatch();
}

ClientPipeline::~ClientPipeline() {
  // Each ClientCircuit wipes its own keys; the working copies may hold delivered plaintext.
  sodium_memzero(work_cells_.data(), work_cells_.size() * sizeof(WireCell));
}

ClientCircuit* ClientPipeline::Find(CircuitKey key) {
  const CircuitSlot slot = table_.Find(key);
  return slot == kNoCircuitSlot ? nullptr : &circuits_[slot].circuit;
}

void ClientPipeline::Open(const InCell& in) {
  const CircuitKey key{in.channel, in.cell.circ_id()};
  ByteReader r(in.cell.payload());
  uint8_t suite_id = 0, hops = 0;
  uint16_t length = 0;
  const bool header_ok = r.U8(suite_id) && r.U8(hops) && r.BigEndian(length);
  const CellSuite* suite = FindSuite(suite_id);
  std::array<std::span<const uint8_t>, kMaxHops> seeds;
  bool ok = header_ok && key.circ_id != 0 && suite != nullptr && hops != 0 && hops <= kMaxHops;
  for (size_t h = 0; ok && h < hops; ++h) ok = r.View(length, seeds[h]);
  if (!ok) {
    ++counters_.open_failed;
    return;
  }
  const CircuitInsert inserted = table_.Insert(key);
  if (inserted.error != CircuitTableError::kOk) {
    ++counters_.open_failed;
    return;
  }
  Entry& entry = circuits_[inserted.slot];
  if (ClientCircuit::Create(*suite, key.circ_id,
                            std::span<const std::span<const uint8_t>>(seeds.data(), hops),
                            config_.rekey, entry.circuit) != SuiteError::kOk) {
    table_.Erase(key);
    ++counters_.open_failed;
    return;
  }
  entry.channel = in.channel;
  ++counters_.opened;
}

void ClientPipeline::HostClose(const InCell& in, ShardOutput& out) {
  const CircuitSlot slot = Lookup(in);
  if (slot == kNoCircuitSlot) return;
  const uint8_t wanted = in.cell.payload()[0];
  Close(slot, true,
        wanted != 0 && IsKnownDestroyReason(wanted) ? DestroyReason(wanted)
                                                    : DestroyReason::kFinished,
        out);
}

CircuitSlot ClientPipeline::Lookup(const InCell& in) {
  const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
  if (slot == kNoCircuitSlot) ++counters_.unknown_circuit;
  return slot;
}

bool ClientPipeline::AcceptOriginate(const Entry& entry, const InCell& in) {
  const ParsedRelay relay =
      ParseRelayPayload(entry.circuit.suite().relay_format(), in.cell.payload());
  const uint8_t command = in.cell.command();
  if (!relay.ok() || relay.header.command == RelayCommand::kRekey ||
      (command != uint8_t(CellCommand::kRelay) && command != uint8_t(CellCommand::kRelayEarly))) {
    ++counters_.originate_refused;
    return false;
  }
  return true;
}

void ClientPipeline::ProcessBatch(std::span<const InCell> batch, ShardOutput& out) {
  // With 10,000+ circuits each circuit is a cache miss: look the circuits up a little ahead
  // and pull them in so the misses overlap (Stage then prefetches their key state).
  constexpr size_t kAhead = 8;
  auto prefetch = [&](const InCell& in) {
    if (in.kind != InKind::kCell && in.kind != InKind::kOriginate) return;
    const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
    if (slot == kNoCircuitSlot) return;
    kernels::PrefetchBytes(&circuits_[slot], sizeof(Entry));
  };
  for (size_t i = 0; i < std::min(kAhead, batch.size()); ++i) prefetch(batch[i]);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i + kAhead < batch.size()) prefetch(batch[i + kAhead]);
    const InCell& in = batch[i];
    if (in.kind == InKind::kAttachNext || in.kind == InKind::kDetachNext) {
      ++counters_.unsupported;  // a relay's items: a client circuit has no next side
      continue;
    }
    if (in.kind == InKind::kOpen || in.kind == InKind::kClose) {  // every earlier item done
      RunGroup(out);
      if (in.kind == InKind::kOpen) {
        Open(in);
      } else {
        HostClose(in, out);
      }
      continue;
    }
    const CircuitKey key{in.channel, in.cell.circ_id()};
    CircuitSlot slot = table_.Find(key);
    if (slot != kNoCircuitSlot &&
        (circuits_[slot].group == group_id_ || group_.size() == kGroupItems)) {
      // A circuit's next item depends on its previous one, which may also have closed it.
      RunGroup(out);
      slot = table_.Find(key);
    }
    if (slot == kNoCircuitSlot) {
      ++counters_.unknown_circuit;
      continue;
    }
    if (in.kind == InKind::kOriginate && !AcceptOriginate(circuits_[slot], in)) continue;
    Stage(slot, in);
  }
  RunGroup(out);
}

// Screens the item into the group; its layers run with the group's (RunLayers).
void ClientPipeline::Stage(CircuitSlot slot, const InCell& in) {
  Entry& entry = circuits_[slot];
  entry.group = group_id_;
  ClientCircuit& circuit = entry.circuit;
  WireCell& work = work_cells_[group_.size()];
  StagedItem& staged = group_.emplace_back();
  staged.slot = slot;
  staged.originate = in.kind == InKind::kOriginate;
  staged.early = false;
  staged.recognized = false;
  staged.hops = uint8_t(circuit.hops());
  staged.hop = 0;
  staged.layer = 0;
  staged.originate_error = OriginateError::kOk;
  if (staged.originate) {
    staged.early = in.cell.command() == uint8_t(CellCommand::kRelayEarly);
    staged.originate_error =
        circuit.ScreenOriginate(in.hop, in.cell.payload(), staged.early, work.span());
    staged.layered = staged.originate_error == OriginateError::kOk;
    if (staged.layered) staged.hop = staged.layer = in.hop;
  } else {
    work = in.cell;
    staged.layered = circuit.ScreenReceive(work.span(), staged.result);
    if (staged.layered) staged.layer = 1;
  }
  if (staged.layered) {
    circuit.PrefetchLayers(staged.originate, staged.originate ? staged.hop : staged.hops);
  }
}

// The group's layers in rounds: each round runs the next layer of every cell still under way,
// one LayerBatch per suite (at most one cell per circuit, so per layer).
void ClientPipeline::RunLayers() {
  for (bool more = true; more;) {
    for (size_t k = 0; k < group_.size(); ++k) {
      StagedItem& staged = group_[k];
      if (staged.layer == 0) continue;
      ClientCircuit& circuit = circuits_[staged.slot].circuit;
      const CellBody body = work_cells_[k].payload();
      if (staged.originate) {
        CellLayer& layer = circuit.forward_layer(staged.layer);
        batches_[layer.suite_id()]->Add(layer, ClientCircuit::forward_op(staged.hop, staged.layer),
                                        body, staged.early, nullptr);
      } else {
        CellLayer& layer = circuit.backward_layer(staged.layer);
        batches_[layer.suite_id()]->Add(layer, LayerOp::kClientDecrypt, body, false,
                                        &staged.recognized);
      }
    }
    for (const std::unique_ptr<LayerBatch>& batch : batches_) {
      if (batch) batch->Run();
    }
    more = false;
    for (StagedItem& staged : group_) {
      if (staged.layer == 0) continue;
      if (staged.originate) {
        --staged.layer;
      } else {
        if (staged.recognized) staged.hop = staged.layer;
        staged.layer = staged.hop != 0 || staged.layer == staged.hops ? 0 : staged.layer + 1;
      }
      more = more || staged.layer != 0;
    }
  }
}

// Runs the group's layers, then completes and emits each item in input order.
void ClientPipeline::RunGroup(ShardOutput& out) {
  if (group_.empty()) return;
  RunLayers();
  for (size_t k = 0; k < group_.size(); ++k) {
    const StagedItem& staged = group_[k];
    WireCell& work = work_cells_[k];
    if (staged.originate) {
      EmitOriginated(staged.slot, staged.originate_error, work, out);
      continue;
    }
    const CellResult result =
        staged.layered ? circuits_[staged.slot].circuit.CompleteReceive(staged.hop, work.span())
                       : staged.result;
    EmitReceived(staged.slot, result, work, out);
    sodium_memzero(work.bytes.data(), kCellBytes);  // plaintext, once delivered
  }
  group_.clear();
  ++group_id_;
}

void ClientPipeline::EmitOriginated(CircuitSlot slot, OriginateError error, const WireCell& cell,
                                    ShardOutput& out) {
  Entry& entry = circuits_[slot];
  if (error != OriginateError::kOk) {
    if (!entry.circuit.is_open()) {
      Close(slot, true, DestroyReason::kProtocol, out);
    } else {
      ++counters_.originate_refused;
    }
    return;
  }
  OutItem& item = out.Append();
  item.kind = OutKind::kSend;
  item.channel = entry.channel;
  item.hop = 0;
  item.cell = cell;
  ++counters_.originated;
  PollControl(entry, out);
}

void ClientPipeline::EmitReceived(CircuitSlot slot, const CellResult& result, const WireCell& cell,
                                  ShardOutput& out) {
  Entry& entry = circuits_[slot];
  switch (result.outcome) {
    case CellOutcome::kDelivered: {
      OutItem& item = out.Append();
      item.kind = OutKind::kDeliver;
      item.channel = entry.channel;
      item.hop = uint8_t(result.hop);
      item.cell = cell;
      ++counters_.delivered;
      break;
    }
    case CellOutcome::kDestroyed:
      Close(slot, result.error != ProtocolError::kNone,
            result.error != ProtocolError::kNone ? DestroyReason::kProtocol
                                                 : entry.circuit.destroy_reason(),
            out);
      return;
    default:  // kIgnored (PADDING, a REKEY ACK); kClosed is not reached (closed ones leave)
      ++counters_.ignored;
      break;
  }
  PollControl(entry, out);
}

void ClientPipeline::PollControl(Entry& entry, ShardOutput& out) {
  for (;;) {
    OutItem& item = out.Append();
    if (!entry.circuit.PollControlCell(item.cell.span())) {
      out.DropLast();
      return;
    }
    item.kind = OutKind::kSend;
    item.channel = entry.channel;
    item.hop = 0;
    ++counters_.control_cells;
  }
}

// tell_peer: a DESTROY(reason) to send; else kClosed carrying the reason the peer gave.
void ClientPipeline::Close(CircuitSlot slot, bool tell_peer, DestroyReason reason,
                           ShardOutput& out) {
  Entry& entry = circuits_[slot];
  const uint32_t circ_id = entry.circuit.circ_id();
  OutItem& item = out.Append();
  item.kind = tell_peer ? OutKind::kDestroy : OutKind::kClosed;
  item.channel = entry.channel;
  item.hop = 0;
  BuildDestroyCell(circ_id, IsKnownDestroyReason(uint8_t(reason)) ? reason : DestroyReason::kNone,
                   item.cell.span());
  counters_.errors += entry.circuit.errors();
  table_.Erase({entry.channel, circ_id});
  entry = Entry{};
  ++counters_.destroyed;
}

}  // namespace relaycell
