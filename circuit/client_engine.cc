#include "circuit/client_engine.h"

#include <array>
#include <cstring>

#include "circuit/cell.h"
#include "circuit/relay_header.h"

namespace relaycell {
namespace {

// kOpen payload: suite u8 | hops u8 | seed_length u16 | hops × seed.
constexpr size_t kOpenHeaderBytes = 4;

const CellSuite& SuiteOf(CellSuiteKind kind) {
  return kind == CellSuiteKind::kTor1 ? Tor1CellSuite() : AezCellSuite();
}

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
  uint8_t* p = out.cell.payload().data();
  p[0] = uint8_t(params.suite);
  p[1] = uint8_t(hops);
  p[2] = uint8_t(length >> 8);
  p[3] = uint8_t(length);
  for (size_t h = 0; h < hops; ++h) {
    if (length != 0) std::memcpy(p + kOpenHeaderBytes + h * length, params.hop_seeds[h].data(), length);
  }
  return true;
}

ClientEngine::ClientEngine(const ClientEngineConfig& config)
    : config_(config), table_(config.max_circuits), circuits_(config.max_circuits) {}

ClientEngine::~ClientEngine() = default;

ClientCircuit* ClientEngine::Find(CircuitKey key) {
  const CircuitSlot slot = table_.Find(key);
  return slot == kNoCircuitSlot ? nullptr : &circuits_[slot].circuit;
}

void ClientEngine::ProcessBatch(std::span<const InCell> batch, ShardOutput& out) {
  for (const InCell& in : batch) {
    switch (in.kind) {
      case InKind::kCell: Receive(in, out); break;
      case InKind::kOriginate: Originate(in, out); break;
      case InKind::kOpen: Open(in); break;
      case InKind::kClose: {
        const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
        if (slot == kNoCircuitSlot) {
          ++counters_.unknown_circuit;
          break;
        }
        const uint8_t wanted = in.cell.payload()[0];
        Close(slot, true,
              wanted != 0 && IsKnownDestroyReason(wanted) ? DestroyReason(wanted)
                                                          : DestroyReason::kFinished,
              out);
        break;
      }
    }
  }
}

void ClientEngine::Open(const InCell& in) {
  const CircuitKey key{in.channel, in.cell.circ_id()};
  const uint8_t* p = in.cell.payload().data();
  const size_t hops = p[1];
  const size_t length = size_t{p[2]} << 8 | p[3];
  if (key.circ_id == 0 || p[0] > uint8_t(CellSuiteKind::kTor1) || hops == 0 ||
      hops > size_t(kMaxHops) || kOpenHeaderBytes + hops * length > kCellBodyBytes) {
    ++counters_.open_failed;
    return;
  }
  std::array<std::span<const uint8_t>, kMaxHops> seeds;
  for (size_t h = 0; h < hops; ++h) seeds[h] = {p + kOpenHeaderBytes + h * length, length};
  const CircuitInsert inserted = table_.Insert(key);
  if (inserted.error != CircuitTableError::kOk) {
    ++counters_.open_failed;
    return;
  }
  Entry& entry = circuits_[inserted.slot];
  if (ClientCircuit::Create(SuiteOf(CellSuiteKind(p[0])), key.circ_id,
                            std::span<const std::span<const uint8_t>>(seeds.data(), hops),
                            config_.rekey, entry.circuit) != SuiteError::kOk) {
    table_.Erase(key);
    ++counters_.open_failed;
    return;
  }
  entry.channel = in.channel;
  ++counters_.opened;
}

void ClientEngine::Originate(const InCell& in, ShardOutput& out) {
  const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  Entry& entry = circuits_[slot];
  const ParsedRelay relay = ParseRelayPayload(entry.circuit.layout(), in.cell.payload());
  const uint8_t command = in.cell.command();
  if (!relay.ok() || relay.header.command == RelayCommand::kRekey ||
      (command != uint8_t(CellCommand::kRelay) && command != uint8_t(CellCommand::kRelayEarly))) {
    ++counters_.originate_refused;
    return;
  }
  OutItem& item = out.Append();
  const OriginateError error =
      entry.circuit.OriginatePayload(in.hop, in.cell.payload(),
                                     command == uint8_t(CellCommand::kRelayEarly), item.cell.span());
  if (error != OriginateError::kOk) {
    out.DropLast();
    if (!entry.circuit.is_open()) {
      Close(slot, true, DestroyReason::kProtocol, out);
    } else {
      ++counters_.originate_refused;
    }
    return;
  }
  item.kind = OutKind::kSend;
  item.channel = entry.channel;
  item.hop = 0;
  ++counters_.originated;
  PollControl(entry, out);
}

void ClientEngine::Receive(const InCell& in, ShardOutput& out) {
  const CircuitSlot slot = table_.Find({in.channel, in.cell.circ_id()});
  if (slot == kNoCircuitSlot) {
    ++counters_.unknown_circuit;
    return;
  }
  Entry& entry = circuits_[slot];
  OutItem& item = out.Append();
  item.cell = in.cell;
  const CellResult result = entry.circuit.Receive(item.cell.span());
  switch (result.outcome) {
    case CellOutcome::kDelivered:
      item.kind = OutKind::kDeliver;
      item.channel = entry.channel;
      item.hop = uint8_t(result.hop);
      ++counters_.delivered;
      break;
    case CellOutcome::kDestroyed:
      out.DropLast();
      Close(slot, result.error != ProtocolError::kNone,
            result.error != ProtocolError::kNone ? DestroyReason::kProtocol
                                                 : entry.circuit.destroy_reason(),
            out);
      return;
    default:  // kIgnored (PADDING, a REKEY ACK); kClosed is not reached (closed ones leave)
      out.DropLast();
      ++counters_.ignored;
      break;
  }
  PollControl(entry, out);
}

void ClientEngine::PollControl(Entry& entry, ShardOutput& out) {
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
void ClientEngine::Close(CircuitSlot slot, bool tell_peer, DestroyReason reason, ShardOutput& out) {
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
