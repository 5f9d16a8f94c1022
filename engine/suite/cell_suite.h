// One interface for relay-cell cryptography, implemented by each suite ("aez", "tor1").
//
// The shape follows Arti's tor-proto crypto/cell.rs: four small roles, each one hop and one
// direction of a circuit:
//   ClientForwardLayer   the client's state for cells it sends to this hop or past it
//   ClientBackwardLayer  the client's state for cells coming back through this hop
//   RelayLayer           a relay's state for its hop, both directions
// A layer changes the 509-byte cell body in place and says whether the cell is "recognized"
// (addressed to this hop). circuit/ holds the layers in order and never learns the cipher.
#ifndef RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_
#define RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace relaycell {

inline constexpr size_t kCellBodyBytes = 509;
using CellBody = std::span<uint8_t, kCellBodyBytes>;

enum class CellSuiteKind : uint8_t { kAez, kTor1 };

enum class SuiteError : uint8_t {
  kOk = 0,
  kBadSeedLength,   // too short (aez) or not exactly the suite's length (tor1)
  kOutOfKeyMemory,  // no locked memory for the key slots
  kKdfFailed,
  kBadCircuitId,     // circ_id 0 (reserved by the cell format)
  kBadHopCount,      // a client circuit has 1..8 hops
  kBadRekeyConfig,   // RekeyConfig::Validate() refused the limits
};
const char* SuiteErrorName(SuiteError error);

// Every cell in one direction goes through Originate/Encrypt/Decrypt in order: the layers keep
// per-direction state (a counter, a keystream position, a running digest, a chain), so a cell
// skipped or reordered desynchronises that direction for good (as in Tor).
class ClientForwardLayer {
 public:
  virtual ~ClientForwardLayer() = default;
  // The cell's destination is this hop: add what lets the hop recognize it, then encrypt.
  virtual void Originate(CellBody body, bool early) = 0;
  // The cell goes past this hop: add this hop's layer.
  virtual void Encrypt(CellBody body, bool early) = 0;
};

class ClientBackwardLayer {
 public:
  virtual ~ClientBackwardLayer() = default;
  // Removes this hop's layer. True if the cell was originated by this hop.
  virtual bool Decrypt(CellBody body) = 0;
};

class RelayLayer {
 public:
  virtual ~RelayLayer() = default;
  // A forward cell arrives: remove our layer. True if the cell is for us.
  virtual bool DecryptForward(CellBody body, bool early) = 0;
  // We send a cell of our own towards the client.
  virtual void OriginateBackward(CellBody body) = 0;
  // A cell from further out passes through us towards the client.
  virtual void EncryptBackward(CellBody body) = 0;
  // A hint that a cell in this direction comes soon: start pulling the direction's key state
  // into cache. A relay with many circuits calls it for a whole batch before processing it,
  // so the key-state misses of different circuits overlap instead of stalling one by one.
  virtual void Prefetch(bool forward) const {}
};

struct ClientHopLayers {
  std::unique_ptr<ClientForwardLayer> forward;
  std::unique_ptr<ClientBackwardLayer> backward;
};

class CellSuite {
 public:
  virtual ~CellSuite() = default;
  virtual CellSuiteKind kind() const = 0;
  virtual const char* name() const = 0;
  // Accepted key-seed lengths (aez: 32 and up; tor1: exactly 72, Df | Db | Kf | Kb).
  virtual size_t min_seed_bytes() const = 0;
  virtual size_t max_seed_bytes() const = 0;
  // tor1 has no RELAY_REKEY: a REKEY on such a circuit closes it (prop 262 §2.1).
  virtual bool supports_rekey() const = 0;
  // Builds one hop's layers from its key seed. Allocates (once per hop, never per cell).
  virtual SuiteError MakeClientHop(std::span<const uint8_t> seed, ClientHopLayers& out) const = 0;
  virtual SuiteError MakeRelayHop(std::span<const uint8_t> seed,
                                  std::unique_ptr<RelayLayer>& out) const = 0;
};

const CellSuite& AezCellSuite();
const CellSuite& Tor1CellSuite();

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_CELL_SUITE_H_
