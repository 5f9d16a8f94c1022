// Counter Galois Onion (CGO, Tor proposal 359), one hop and one direction: Tor's cgo_crypt_t.
//
// State: the UIV+ keys K (64 bytes: ET's AES and POLYVAL keys, the PRF's AES and POLYVAL keys),
// the nonce N (16) and T' (16, the tag of this direction's previous cell at this layer; zeros
// at first). The cell body is T (16) | C (493); `cmd` is the cell's command byte (3 RELAY,
// 9 RELAY_EARLY), part of the tweak. Relay ops UIV-encrypt, client ops UIV-decrypt:
//
//   RelayForward    (cgo_crypt_relay_forward)    encrypt; T' = T out; recognized iff T out == N,
//                                                then update (on N as it is)
//   RelayBackward   (cgo_crypt_relay_backward)   encrypt; T' = T out
//   RelayOriginate  (cgo_crypt_relay_originate)  T = N, encrypt; T' = T out, N = T out, then update
//   ClientOriginate (cgo_crypt_client_originate) T = N, decrypt; T' = N (the T in), then update
//   ClientForward   (cgo_crypt_client_forward)   decrypt; T' = T in
//   ClientBackward  (cgo_crypt_client_backward)  decrypt; T' = T in; recognized iff T out == N,
//                                                then N = T in and update
// "update" is UIV+'s key ratchet: (K, N) = PRF(N, t = 1). A recognized or originated cell
// leaves sendme_tag() (Tor's tag for authenticated SENDMEs): the incoming T for RelayForward,
// the outgoing T for the two originates, the incoming T for ClientBackward.
//
// A client sends to hop h by ClientOriginate on hop h's forward direction, then ClientForward
// on hops h-1 .. 1; it receives by ClientBackward on hops 1, 2, ... until one recognizes. Every
// cell of a direction goes through it in order. A lost, reordered or altered forward cell
// breaks the direction for good; a backward one, the hop that sent it (docs/cgo.md,
// Tampering): the circuit closes on any cell no hop recognizes.
#ifndef RELAYCELL_ENGINE_SUITE_CGO_CGO_DIRECTION_H_
#define RELAYCELL_ENGINE_SUITE_CGO_CGO_DIRECTION_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/common/key_arena.h"
#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/suite/cgo/cgo_uiv.h"

namespace relaycell {

inline constexpr size_t kCgoTagBytes = kCgoBlockBytes;                           // T, T'
inline constexpr size_t kCgoDirectionSeedBytes = kCgoKeyBytes + kCgoNonceBytes;  // K | N: 80
// One hop's key material: forward 80 | backward 80 (Tor's cgo_pair_init split).
inline constexpr size_t kCgoHopSeedBytes = 2 * kCgoDirectionSeedBytes;

inline constexpr uint8_t kCgoCmdRelay = 3;
inline constexpr uint8_t kCgoCmdRelayEarly = 9;

// The six things a direction does to one cell (named after Tor's functions).
enum class CgoOp : uint8_t {
  kRelayForward,     // relay, a cell from the client: remove our layer; recognized = for us
  kRelayBackward,    // relay, a cell from further out towards the client: add our layer
  kRelayOriginate,   // relay, a cell of our own towards the client
  kClientOriginate,  // client, forward: the layer of the cell's target hop
  kClientForward,    // client, forward: the layer of a hop before the target
  kClientBackward,   // client, backward: remove a hop's layer; recognized = that hop sent it
};
const char* CgoOpName(CgoOp op);
// Relay ops UIV-encrypt the body; client ops decrypt it.
inline bool CgoOpEncrypts(CgoOp op) {
  return op == CgoOp::kRelayForward || op == CgoOp::kRelayBackward || op == CgoOp::kRelayOriginate;
}

// One cell for CgoDirection::RunMany (and CgoCellBatch).
struct CgoCell;
// Per-cell working memory of RunMany; secret-derived afterwards, wiped by RunMany.
struct CgoCellScratch {
  CgoUivScratch uiv;
  alignas(16) uint8_t tag_in[kCgoTagBytes];  // the cell's T before the layer
};

class CgoDirection final : public CellLayer {
 public:
  CgoDirection(std::span<const uint8_t, kCgoKeyBytes> keys,
               std::span<const uint8_t, kCgoNonceBytes> nonce);  // T' starts as zeros
  // A direction in a given state (known-answer vectors give T').
  CgoDirection(std::span<const uint8_t, kCgoKeyBytes> keys,
               std::span<const uint8_t, kCgoNonceBytes> nonce,
               std::span<const uint8_t, kCgoTagBytes> tprime);
  ~CgoDirection() override;  // wipes keys, nonce, T' and tag

  // The layer (CellLayer): each LayerOp is the CgoOp of Tor's that does the same.
  bool Apply(LayerOp op, CellBody body, bool early) override {
    return Apply(CgoOpOf(op), body, early ? kCgoCmdRelayEarly : kCgoCmdRelay);
  }
  static CgoOp CgoOpOf(LayerOp op) {
    switch (op) {
      case LayerOp::kClientOriginate: return CgoOp::kClientOriginate;
      case LayerOp::kClientEncrypt: return CgoOp::kClientForward;
      case LayerOp::kClientDecrypt: return CgoOp::kClientBackward;
      case LayerOp::kRelayDecrypt: return CgoOp::kRelayForward;
      case LayerOp::kRelayOriginate: return CgoOp::kRelayOriginate;
      case LayerOp::kRelayEncrypt: return CgoOp::kRelayBackward;
    }
    return CgoOp::kRelayBackward;
  }

  // The ops of the table above; body is the cell's 509 bytes, in place. True = recognized.
  bool RelayForward(CellBody body, uint8_t cmd) { return Apply(CgoOp::kRelayForward, body, cmd); }
  void RelayBackward(CellBody body, uint8_t cmd) { Apply(CgoOp::kRelayBackward, body, cmd); }
  // The first 16 bytes of the input are overwritten (with N): pass 16 zero bytes | msg (493).
  void RelayOriginate(CellBody body, uint8_t cmd) { Apply(CgoOp::kRelayOriginate, body, cmd); }
  // The same input convention.
  void ClientOriginate(CellBody body, uint8_t cmd) { Apply(CgoOp::kClientOriginate, body, cmd); }
  void ClientForward(CellBody body, uint8_t cmd) { Apply(CgoOp::kClientForward, body, cmd); }
  bool ClientBackward(CellBody body, uint8_t cmd) {
    return Apply(CgoOp::kClientBackward, body, cmd);
  }
  // Any op by value; true only for a recognized RelayForward or ClientBackward. One cell is
  // RunMany of one: the batch and the single cell share every line.
  bool Apply(CgoOp op, CellBody body, uint8_t cmd);

  // Many cells, each of a distinct direction and a distinct body, with one scratch each
  // (scratch.size() >= cells.size()): every cell as if through Apply on its own. Writes each
  // verdict through the cell's `recognized` (if not null); wipes the scratch it used.
  static void RunMany(std::span<const CgoCell> cells, std::span<CgoCellScratch> scratch);

  // The state, for known-answer checks and tests.
  std::span<const uint8_t, kCgoKeyBytes> keys() const { return uiv_.keys(); }
  std::span<const uint8_t, kCgoNonceBytes> nonce() const { return nonce_; }
  std::span<const uint8_t, kCgoTagBytes> tprime() const { return tprime_; }
  // The tag of the last recognized or originated cell (zeros before the first).
  std::span<const uint8_t, kCgoTagBytes> sendme_tag() const { return sendme_tag_; }

  // The arena every CgoDirection lives in.
  static KeyArena& Arena();

 private:
  // Before the UIV: T = N for the originates; the incoming T saved where it is needed later.
  void Begin(CgoOp op, uint8_t* body, uint8_t* tag_in) const;
  // After it: T', the recognition check, N and the SENDME tag. Returns whether the keys must
  // update; `recognized` is the op's verdict.
  bool Finish(CgoOp op, const uint8_t* body, const uint8_t* tag_in, bool& recognized);

  CgoUiv uiv_;
  alignas(16) uint8_t nonce_[kCgoNonceBytes];
  alignas(16) uint8_t tprime_[kCgoTagBytes];
  alignas(16) uint8_t sendme_tag_[kCgoTagBytes]{};
};

struct CgoCell {
  CgoDirection* direction;
  uint8_t* body;     // kCellBodyBytes, in place
  bool* recognized;  // the verdict, or nullptr
  CgoOp op;
  uint8_t cmd;
};

using CgoDirectionBox = ArenaBox<CgoDirection>;

// A direction from its 80 seed bytes K | N, in CgoDirection::Arena(); an empty box when the
// arena has no locked memory left.
CgoDirectionBox MakeCgoDirection(std::span<const uint8_t, kCgoDirectionSeedBytes> seed);

// Both directions of a hop from its 160 seed bytes (forward K | N, then backward K | N). False,
// both boxes empty, when the arena has no locked memory left.
struct CgoHopDirections {
  CgoDirectionBox forward;   // away from the client
  CgoDirectionBox backward;  // towards the client
};
bool MakeCgoHop(std::span<const uint8_t, kCgoHopSeedBytes> seed, CgoHopDirections& out);

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CGO_CGO_DIRECTION_H_
