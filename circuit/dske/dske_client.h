// DSKE clients (protocol §8): the sender A shares a key through n hubs, the receiver B
// fetches the shares back and rebuilds it. Neither knows about cells: each reaches a hub
// through a HubChannel (one DSKE message out, the hub's reply back); CircuitHubChannel is one
// over a real relaycell circuit whose last hop is the hub.
//
//   DskeClient alice("alice", alice_store), bob("bob", bob_store);
//   KeyId id;
//   ShareReport sent = alice.Share(key, hubs, /*k=*/3, id);          // PUT to every hub
//   ReceiveReport got = bob.Receive(id, hubs, key_out);              // FETCH from every hub
//   // got.key_bytes bytes of key_out hold the key when got.error == ClientError::kOk.
//
// Hub i of the `hubs` span gets the share with x = i + 1; n = hubs.size(). B may pass its hubs
// in any order (x travels in the DELIVER), and tolerates n - k hubs that are down, refuse, or
// lie (a lying hub's share fails the check value, and another k-subset is used).
#ifndef RELAYCELL_CIRCUIT_DSKE_DSKE_CLIENT_H_
#define RELAYCELL_CIRCUIT_DSKE_DSKE_CLIENT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "circuit/cell.h"
#include "circuit/client_circuit.h"
#include "circuit/dske/dske_hub.h"
#include "circuit/dske/dske_message.h"
#include "circuit/relay_circuit.h"
#include "engine/suite/cell_suite.h"
#include "engine/dske/psrd.h"

namespace relaycell::dske {

enum class ChannelError {
  kOk = 0,
  kUnreachable,  // the hub (or the circuit to it) is down: nothing was delivered
  kCircuit,      // the circuit refused or closed on the way
  kBadReply,     // the hub answered with something that is not one DSKE message
};
const char* ChannelErrorName(ChannelError error);

// One hub as a client reaches it. RoundTrip sends one DSKE message and returns the hub's reply
// (reply_bytes == 0: the hub sent nothing, as after a stored PUT).
class HubChannel {
 public:
  virtual ~HubChannel() = default;
  virtual std::string_view hub_name() const = 0;
  virtual ChannelError RoundTrip(std::span<const uint8_t> message, std::span<uint8_t> reply,
                                 size_t& reply_bytes) = 0;
};

// A client's circuit of 1..3 hops to a hub, all in this process: the client's ClientCircuit,
// the relays' RelayCircuits, the last of which is the hub's. Messages go as DSKE relay cells
// (command 29, stream 0); RELAY_REKEY control cells are pumped both ways as the circuit asks.
class CircuitHubChannel final : public HubChannel {
 public:
  // `seeds`: one aez key seed per hop (>= 32 bytes each), hop 1 first; the last hop is `hub`.
  static SuiteError Create(std::string_view client, DskeHub& hub, uint32_t circ_id,
                           std::span<const std::span<const uint8_t>> seeds,
                           std::unique_ptr<CircuitHubChannel>& out);

  std::string_view hub_name() const override { return hub_.name(); }
  ChannelError RoundTrip(std::span<const uint8_t> message, std::span<uint8_t> reply,
                         size_t& reply_bytes) override;

  // A hub that is down: RoundTrip delivers nothing and reports kUnreachable.
  void set_reachable(bool reachable) { reachable_ = reachable; }
  int hops() const { return client_circuit_.hops(); }

 private:
  CircuitHubChannel(std::string client, DskeHub& hub) : client_(std::move(client)), hub_(hub) {}
  // Carries one forward cell to `hop`; a delivered reply (from the hub) is copied to `reply`.
  ChannelError Forward(int hop, CellBytes cell, std::span<uint8_t> reply, size_t& reply_bytes);
  // Carries one backward cell originated at hop `from` to the client.
  ChannelError Backward(int from, CellBytes cell, std::span<uint8_t> reply, size_t& reply_bytes);
  // Sends every control cell the client circuit has due.
  ChannelError PumpClientControl();

  std::string client_;
  DskeHub& hub_;
  ClientCircuit client_circuit_;
  std::vector<RelayCircuit> relays_;  // hop 1 first; back() is the hub's
  bool reachable_ = true;
};

enum class ClientError {
  kOk = 0,
  kBadArguments,        // key not 16..256 bytes, k not 2..n, n not 2..255, or a bad buffer
  kBadName,             // a client or hub name that psrd::PoolName refuses
  kExhausted,           // some hub's pool has too little PSRD left: NOTHING was sent
  kPsrd,                // the PSRD store failed
  kSplit,               // the split failed
  kTooFewHubs,          // fewer than k hubs stored their share (the key is not retrievable)
  kTooFewShares,        // fewer than k valid shares came back
  kNoConsistentSubset,  // k or more shares, but no k of them rebuild a key that checks
};
const char* ClientErrorName(ClientError error);

// What happened at one hub.
struct HubStatus {
  ChannelError channel = ChannelError::kOk;
  bool ok = false;       // PUT stored / DELIVER opened
  bool refused = false;  // the hub answered ERROR(code)
  ErrorCode code = ErrorCode::kMalformed;
  SealError seal = SealError::kOk;  // B: why a DELIVER was rejected (bad tag, replay...)
  psrd::PsrdError psrd = psrd::PsrdError::kOk;
};

struct ShareReport {
  ClientError error = ClientError::kOk;
  unsigned stored = 0;  // hubs that hold a share
  std::vector<HubStatus> hubs;
};

struct ReceiveReport {
  ClientError error = ClientError::kOk;
  size_t key_bytes = 0;
  unsigned valid_shares = 0;  // DELIVERs that passed their MAC and agree on (k, n, length)
  std::vector<HubStatus> hubs;
};

class DskeClient {
 public:
  // `store` holds this client's pools with every hub ("NAME.to.HUB", "HUB.to.NAME").
  DskeClient(std::string name, psrd::PsrdStore& store) : name_(std::move(name)), store_(store) {}

  // A: draws a fresh random key id, splits `key` (16..256 bytes) with threshold k among the
  // hubs and PUTs share i to hubs[i]. Checks first that every hub's pool has room, so an
  // exhausted pool sends nothing (kExhausted). kOk if at least k hubs stored their share.
  ShareReport Share(std::span<const uint8_t> key, std::span<HubChannel* const> hubs, unsigned k,
                    KeyId& key_id);

  // B: FETCHes `key_id` from every hub, opens each DELIVER with its pool, and rebuilds the key
  // from any k shares that pass the check value. `key` must hold 256 bytes; report.key_bytes
  // of them are the key on kOk (the rest, and everything on error, zero).
  ReceiveReport Receive(const KeyId& key_id, std::span<HubChannel* const> hubs,
                        std::span<uint8_t> key);

  void set_pad_observer(PadObserver* observer) { observer_ = observer; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  psrd::PsrdStore& store_;
  PadObserver* observer_ = nullptr;
};

}  // namespace relaycell::dske

#endif  // RELAYCELL_CIRCUIT_DSKE_DSKE_CLIENT_H_
