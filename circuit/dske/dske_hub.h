// A DSKE security hub: the last hop of circuits its clients built to it (protocol §8).
//
// It answers one DSKE message at a time, each the data of a DSKE relay cell (command 29,
// stream 0):
//   PUT from A     checked and decrypted with A's PSRD (OpenShare on "A.to.HUB"), then kept
//                  durably (SQLite, synchronous=FULL) until a client fetches it. No reply on
//                  success; ERROR(bad tag | replay | malformed | unavailable) otherwise.
//   FETCH from B   the share re-padded and re-MACed with B's PSRD (SealShare on "HUB.to.B"):
//                  DELIVER, and the share is deleted (secure_delete: its bytes are zeroed in
//                  the database); ERROR(unknown key | exhausted | unavailable) otherwise.
//   anything else  ERROR(malformed).
// The hub never sees a key: one share of a threshold-k sharing is uniform.
//
// Share store: DIR/shares.sqlite beside the PSRD store's DIR/watermarks.sqlite. Order of
// commits: a PUT's pad is consumed (committed) before it is read, the share is committed before
// the PUT counts as stored; a FETCH's pad is consumed before the share is sealed, and the share
// is deleted after the DELIVER is built. A crash can therefore lose a PUT (A's pad burnt) or
// deliver a share twice under two fresh pads (harmless); it never reuses a pad byte.
//
//   std::unique_ptr<DskeHub> hub;
//   DskeHub::Open("H1", "/var/lib/hub1", hub);
//   CellResult r = relay_circuit.HandleForward(cell);        // kDelivered, command DSKE
//   if (hub->HandleCell("alice", r, relay_circuit, cell) == HubCellStatus::kReply) send(cell);
#ifndef RELAYCELL_CIRCUIT_DSKE_DSKE_HUB_H_
#define RELAYCELL_CIRCUIT_DSKE_DSKE_HUB_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "circuit/cell.h"
#include "circuit/cell_result.h"
#include "circuit/dske/dske_message.h"
#include "circuit/relay_circuit.h"
#include "engine/dske/psrd.h"

struct sqlite3;

namespace relaycell::dske {

// Told about every pad range a party commits to use, right after the watermark commit and
// before a single byte of it is read (the crash test records them; nothing else needs it).
class PadObserver {
 public:
  virtual ~PadObserver() = default;
  // [begin, end) of `pool`, as byte positions in the pool.
  virtual void OnPadCommitted(std::string_view pool, uint64_t begin, uint64_t end) = 0;
};

// Seals a share message exactly as SealShare does, but tells `observer` (if any) the pad range
// between its commit and its first use.
SealStatus SealShareObserved(psrd::PsrdStore& store, std::string_view pool, MessageType type,
                             const KeyId& key_id, uint8_t x, uint8_t k, uint8_t n,
                             std::span<const uint8_t> share, std::span<uint8_t> out,
                             size_t& written, PadObserver* observer);

enum class HubError {
  kOk = 0,
  kBadName,   // the hub's party name is not valid (see psrd::ValidPartyName)
  kStore,     // the PSRD store could not be opened
  kDatabase,  // the share database could not be opened or set up
};
const char* HubErrorName(HubError error);

// What one message did at the hub.
enum class HubOutcome {
  kStored,     // a PUT was verified and stored (no reply)
  kDelivered,  // a FETCH was answered with DELIVER; the share is gone from the hub
  kRefused,    // answered with ERROR(code)
};

struct HubResult {
  HubOutcome outcome = HubOutcome::kRefused;
  ErrorCode error = ErrorCode::kMalformed;  // for kRefused
  size_t reply_bytes = 0;                   // 0: nothing to send back
};

enum class HubCellStatus {
  kNoReply,     // handled; nothing to send (a stored PUT)
  kReply,       // `cell` now holds the reply, ready to send towards the client
  kNotDske,     // not a delivered DSKE cell on stream 0: not the hub's business, untouched
  kSendFailed,  // the circuit refused to originate the reply (closed)
};

class DskeHub {
 public:
  static HubError Open(std::string_view name, const std::filesystem::path& dir,
                       std::unique_ptr<DskeHub>& out);
  ~DskeHub();
  DskeHub(const DskeHub&) = delete;
  DskeHub& operator=(const DskeHub&) = delete;

  // One DSKE message from `client` (the party at the other end of the circuit it arrived on;
  // pools "CLIENT.to.HUB" / "HUB.to.CLIENT"). The reply, if any, goes to `reply` (at least
  // kMaxMessageBytes). Never throws, never crashes on any input.
  HubResult Handle(std::string_view client, std::span<const uint8_t> message,
                   std::span<uint8_t> reply);

  // The same on a cell: `delivered` is what `circuit.HandleForward(cell)` returned. The reply
  // is originated on `circuit` into `cell`.
  HubCellStatus HandleCell(std::string_view client, const CellResult& delivered,
                           RelayCircuit& circuit, CellBytes cell, HubResult* result = nullptr);

  // Shares waiting for a FETCH.
  size_t StoredShares() const;

  const std::string& name() const { return name_; }
  psrd::PsrdStore& store() { return *store_; }
  static std::filesystem::path SharesPath(const std::filesystem::path& dir);
  void set_pad_observer(PadObserver* observer) { observer_ = observer; }

 private:
  DskeHub(std::string name, std::unique_ptr<psrd::PsrdStore> store, sqlite3* db)
      : name_(std::move(name)), store_(std::move(store)), db_(db) {}
  HubResult OnPut(std::string_view client, std::span<const uint8_t> message,
                  std::span<uint8_t> reply);
  HubResult OnFetch(std::string_view client, const KeyId& key_id, std::span<uint8_t> reply);

  std::string name_;
  std::unique_ptr<psrd::PsrdStore> store_;
  sqlite3* db_;
  PadObserver* observer_ = nullptr;
};

}  // namespace relaycell::dske

#endif  // RELAYCELL_CIRCUIT_DSKE_DSKE_HUB_H_
