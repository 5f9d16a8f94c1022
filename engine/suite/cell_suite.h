// One interface for relay-cell cryptography, implemented by each suite (aez, tor1, ...).
//
// The shape follows Arti's tor-proto crypto/cell.rs (a layer per hop and direction, the client
// and relay roles as operations on it). A suite provides:
//   - CellLayer: one hop, one direction: the state every cell of that direction goes through
//     in order. It lives in a KeyArena slot (LayerBox) and is wiped when released.
//   - key setup: a hop's forward and backward layers from its key seed (MakeHop);
//   - its batch (LayerBatch): cells of many layers queued, run at once, recognized or not;
//   - its relay payload format (RelayFormat: where the header fields sit);
//   - its rekey facet: whether it takes RELAY_REKEY, and each layer deriving and installing
//     new keys (CellLayer::DeriveRekeyMaterial / InstallRekeyMaterial).
// circuit/ holds layers in order, calls these and nothing else: it never learns the cipher.
#ifndef RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_
#define RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "engine/common/kdf.h"
#include "engine/common/key_arena.h"
#include "engine/common/wipe_stack.h"
#include "engine/suite/relay_format.h"

namespace relaycell {

using CellBody = std::span<uint8_t, kCellBodyBytes>;
using ConstCellBody = std::span<const uint8_t, kCellBodyBytes>;

// A suite's number in kOpen parameters and the registry (engine/suite/suite_registry.h).
using SuiteId = uint8_t;

enum class SuiteError : uint8_t {
  kOk = 0,
  kBadSeedLength,   // not a length the suite accepts
  kOutOfKeyMemory,  // no locked memory for the key slots
  kKdfFailed,
  kBadCircuitId,    // circ_id 0 (reserved by the cell format)
  kBadHopCount,     // a client circuit has 1..8 hops
  kBadRekeyConfig,  // RekeyConfig::Validate() refused the limits
  kUnknownSuite,    // no suite has that id or name
};
const char* SuiteErrorName(SuiteError error);

// What a layer does to one cell. Each cell of a direction goes through exactly one op of its
// layer, in order: the layer keeps per-direction state (a counter, a keystream, a digest, a
// chain), so a cell skipped or reordered desynchronises that direction for good (as in Tor).
enum class LayerOp : uint8_t {
  kClientOriginate,  // client, forward: the cell's destination is this hop
  kClientEncrypt,    // client, forward: the cell goes past this hop
  kClientDecrypt,    // client, backward: remove the hop's layer; recognized = the hop sent it
  kRelayDecrypt,     // relay, forward: remove our layer; recognized = the cell is for us
  kRelayOriginate,   // relay, backward: a cell of our own
  kRelayEncrypt,     // relay, backward: a cell from further out, passing through
};
inline bool IsDecryptOp(LayerOp op) {
  return op == LayerOp::kClientDecrypt || op == LayerOp::kRelayDecrypt;
}

class CellLayer {
 public:
  virtual ~CellLayer() = default;
  CellLayer(const CellLayer&) = delete;
  CellLayer& operator=(const CellLayer&) = delete;

  SuiteId suite_id() const { return suite_id_; }

  // One cell, in place; `early`: the cell travels as RELAY_EARLY (part of some suites' tweak).
  // Returns whether the cell is recognized (decrypt ops; false for the others).
  virtual bool Apply(LayerOp op, CellBody body, bool early) = 0;

  // The rekey facet (suites whose supports_rekey() is true). Derives the next keys of this
  // hop from this (forward) layer's current key and the REKEY's rekey_data (protocol §3).
  virtual KdfError DeriveRekeyMaterial(std::span<const uint8_t> rekey_data,
                                       std::span<uint8_t, kKdfOutputBytes> out) const {
    return KdfError::kUnsupported;
  }
  // Switches this layer to its direction's part of `material`; the old keys are wiped.
  virtual void InstallRekeyMaterial(std::span<const uint8_t, kKdfOutputBytes> material) {}

 protected:
  explicit CellLayer(SuiteId suite_id) : suite_id_(suite_id) {}

 private:
  const SuiteId suite_id_;
};

// A layer in its KeyArena slot. Suites build their layer type T in the arena and hand it out as
// a LayerBox (the base is at offset 0 of T: single inheritance, checked in AsLayerBox).
// LayerBox::Prefetch pulls the layer's state into cache without a load of its own (not even
// the vtable): a pipeline calls it for a whole batch first, so the misses of different
// circuits overlap instead of stalling in turn.
using LayerBox = ArenaBox<CellLayer>;

template <class T>
LayerBox AsLayerBox(ArenaBox<T> box) {
  static_assert(std::is_base_of_v<CellLayer, T>);
  T* object = box.get();
  KeyArena* arena = box.Release();
  if (object == nullptr) return {};
  CellLayer* base = object;
  if (static_cast<void*>(base) != static_cast<void*>(object)) __builtin_trap();
  return LayerBox(*arena, base);
}

struct HopLayers {
  LayerBox forward;   // away from the client
  LayerBox backward;  // towards the client
};

// Cells of many layers of one suite, run at once: what lets a pipeline keep the AES units full
// across circuits. Each layer appears at most once per Run (its next cell depends on this one).
class LayerBatch {
 public:
  static constexpr size_t kCapacity = 64;
  virtual ~LayerBatch() = default;
  // Queues the cell `in`, transformed into `out` by Run at the latest: the caller leaves both
  // alone until then. `in` is `out` (in place) or does not overlap it: a pipeline reads a cell
  // where it arrived and writes it where it leaves, with no working copy between.
  // `recognized`, if not null, receives a decrypt op's verdict by then. The caller keeps
  // size() < kCapacity.
  virtual void Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
                   bool* recognized) = 0;
  void Add(CellLayer& layer, LayerOp op, CellBody body, bool early, bool* recognized) {
    Add(layer, op, body, body, early, recognized);
  }
  // Runs every queued cell as if each had gone through CellLayer::Apply on its own; empties
  // the batch; then wipes the stack its kernels used (round keys and state they spilled).
  void Run() {
    if (const size_t depth = RunLeavingStack()) WipeStack(depth);
  }
  // Run without the wipe, for a caller that runs many small batches in a row (a pipeline whose
  // groups are one cell, as on a relay carrying one busy circuit) and wipes once behind them
  // all. Returns how deep below the caller's frame the work left key-dependent frames (0:
  // nothing ran); the caller must WipeStack that much (plus its own callees' frames between)
  // before it returns. tests/key_gone_test.cc checks each suite's depth on every kernel path.
  virtual size_t RunLeavingStack() = 0;
  virtual size_t size() const = 0;
};

class CellSuite {
 public:
  virtual ~CellSuite() = default;
  virtual SuiteId id() const = 0;
  virtual const char* name() const = 0;
  // Accepted key-seed lengths.
  virtual size_t min_seed_bytes() const = 0;
  virtual size_t max_seed_bytes() const = 0;
  virtual const RelayFormat& relay_format() const = 0;
  // Whether the suite takes RELAY_REKEY (prop 262). Where it does not, a REKEY closes the
  // circuit as a protocol error (prop 262 §2.1).
  virtual bool supports_rekey() const = 0;
  // Builds one hop's layers from its key seed (both sides of a hop build the same two).
  // Allocates once per hop, never per cell.
  virtual SuiteError MakeHop(std::span<const uint8_t> seed, HopLayers& out) const = 0;
  // A batch for this suite's layers (a pipeline keeps one per suite, made once).
  virtual std::unique_ptr<LayerBatch> MakeBatch() const = 0;
};

// A batch that runs each cell through Apply in turn: for suites whose layer gains nothing from
// running cells together (tor1: one AES-CTR job and a SHA-1 per cell). The cells are done at
// Add; Run wipes the stack they left, once per batch, as the other suites' batches do.
class SerialLayerBatch final : public LayerBatch {
 public:
  using LayerBatch::Add;
  void Add(CellLayer& layer, LayerOp op, ConstCellBody in, CellBody out, bool early,
           bool* recognized) override {
    if (in.data() != out.data()) std::memcpy(out.data(), in.data(), kCellBodyBytes);
    const bool verdict = layer.Apply(op, out, early);
    if (recognized != nullptr) *recognized = verdict;
    applied_ = true;
  }
  // The layers ran in Add, one frame above Run: what they left lies below the caller's frame.
  size_t RunLeavingStack() override {
    const bool ran = applied_;
    applied_ = false;
    return ran ? kCellCallStackWipeBytes : 0;
  }
  size_t size() const override { return 0; }

 private:
  bool applied_ = false;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_
