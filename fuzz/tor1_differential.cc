// Differential: tor1 circuits through relaycell (ClientCircuit and one RelayCircuit per hop,
// suite FindSuite("tor1")) against an independent tor1 written here from tor-spec: AES-128-CTR
// (OpenSSL EVP, zero IV, one keystream per hop and direction for the circuit's life), running
// SHA-1 digests (OpenSSL EVP) seeded with Df / Db, the relay header `command u8 | recognized u16
// | stream_id u16 | digest u32 | length u16 | data`, key material Df[20] | Db[20] | Kf[16] |
// Kb[16]. Nothing of relaycell's engine/ or relay_header.cc is used by the model, so a bug in
// either shows up as a difference.
//
// The model keeps the client's and each relay's state apart (as two real machines would), so a
// cell tampered with or dropped in transit desynchronises both sides identically. After every
// step (an originated cell, each hop's peel or layer, the client's receive) every byte of the
// 514-byte cell and every verdict (outcome, error, recognizing hop, header, delivered data) must
// agree; a difference aborts with a line that says where. The first destroy ends the run.
//
// Input: setup  hops u8 | flags u8 | ids u32 | id_step u8 | seed u64, then up to kMaxOps
// operations, each an opcode byte followed by what that operation reads (see RunOp).
#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "circuit/cell.h"
#include "circuit/cell_result.h"
#include "circuit/client_circuit.h"
#include "circuit/relay_circuit.h"
#include "circuit/relay_header.h"
#include "engine/suite/suite_registry.h"

namespace {

using namespace relaycell;

constexpr int kMaxOps = 128;

// tor-spec's numbers, written out again on purpose (the model must not share relaycell's).
constexpr size_t kCell = 514;
constexpr size_t kHeader = 5;
constexpr size_t kBody = 509;
constexpr size_t kRelayHeader = 11;
constexpr size_t kMaxData = kBody - kRelayHeader;  // 498
constexpr size_t kSeed = 72;
constexpr uint8_t kCmdPadding = 0, kCmdRelay = 3, kCmdRelayEarly = 9, kCmdCreate2 = 10,
                  kCmdCreated2 = 11, kCmdDestroy = 4;
constexpr uint8_t kRelayRekey = 28;
constexpr int kEarlyLimit = 8;

using Cell = std::array<uint8_t, kCell>;

int g_op = 0;  // the operation being run, for the failure line

[[noreturn]] void Mismatch(const char* what, const char* where, int hop) {
  std::fprintf(stderr, "tor1_differential: op %d, %s at hop %d: %s differ\n", g_op, where, hop,
               what);
  std::abort();
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t U16() { return uint16_t(Byte() << 8 | Byte()); }
  uint32_t U32() { return uint32_t(U16()) << 16 | U16(); }
  uint64_t U64() { return uint64_t(U32()) << 32 | U32(); }
  // Up to n bytes into out; the rest of out[0..n) is zero.
  void Fill(uint8_t* out, size_t n) {
    const size_t take = n < size_ - at_ ? n : size_ - at_;
    if (take) std::memcpy(out, data_ + at_, take);
    std::memset(out + take, 0, n - take);
    at_ += take;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

uint32_t Be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
uint16_t Be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
void PutBe32(uint32_t v, uint8_t* p) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
void PutBe16(uint16_t v, uint8_t* p) { p[0] = uint8_t(v >> 8), p[1] = uint8_t(v); }

// ---- The model's crypto: one direction of one hop, as tor-spec says. ----------------------

class ModelDirection {
 public:
  ModelDirection(const uint8_t* digest_seed, const uint8_t* key)
      : aes_(EVP_CIPHER_CTX_new()),
        digest_(EVP_MD_CTX_new()),
        candidate_(EVP_MD_CTX_new()),
        final_(EVP_MD_CTX_new()) {
    static const uint8_t kZeroIv[16] = {};
    if (!aes_ || !digest_ || !candidate_ || !final_ ||
        EVP_EncryptInit_ex(aes_, EVP_aes_128_ctr(), nullptr, key, kZeroIv) != 1 ||
        EVP_DigestInit_ex(digest_, EVP_sha1(), nullptr) != 1 ||
        EVP_DigestUpdate(digest_, digest_seed, 20) != 1) {
      std::abort();
    }
  }
  ~ModelDirection() {
    EVP_CIPHER_CTX_free(aes_);
    EVP_MD_CTX_free(digest_);
    EVP_MD_CTX_free(candidate_);
    EVP_MD_CTX_free(final_);
  }
  ModelDirection(const ModelDirection&) = delete;
  ModelDirection& operator=(const ModelDirection&) = delete;

  // The next 509 keystream bytes XORed in (encrypt and decrypt are the same in CTR).
  void Crypt(uint8_t* body) {
    int n = 0;
    if (EVP_EncryptUpdate(aes_, body, &n, body, int(kBody)) != 1 || n != int(kBody)) std::abort();
  }
  // Sender: recognized = 0, digest = 0, the body joins the running digest, digest field = the
  // first 4 bytes of the digest so far.
  void Seal(uint8_t* body) {
    body[1] = body[2] = 0;
    std::memset(body + 5, 0, 4);
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestUpdate(digest_, body, kBody) != 1 || EVP_MD_CTX_copy_ex(final_, digest_) != 1 ||
        EVP_DigestFinal_ex(final_, full, &n) != 1) {
      std::abort();
    }
    std::memcpy(body + 5, full, 4);
  }
  // Receiver: recognized == 0 and the digest field matches the running digest over the body
  // with that field zeroed; only a recognized body joins the running digest.
  bool Recognize(const uint8_t* body) {
    if (body[1] != 0 || body[2] != 0) return false;
    uint8_t zeroed[kBody];
    std::memcpy(zeroed, body, kBody);
    std::memset(zeroed + 5, 0, 4);
    uint8_t full[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_MD_CTX_copy_ex(candidate_, digest_) != 1 ||
        EVP_DigestUpdate(candidate_, zeroed, kBody) != 1 ||
        EVP_MD_CTX_copy_ex(final_, candidate_) != 1 || EVP_DigestFinal_ex(final_, full, &n) != 1) {
      std::abort();
    }
    if (std::memcmp(full, body + 5, 4) != 0) return false;
    std::swap(digest_, candidate_);
    return true;
  }

 private:
  EVP_CIPHER_CTX* aes_;
  EVP_MD_CTX* digest_;
  EVP_MD_CTX* candidate_;
  EVP_MD_CTX* final_;
};

struct ModelHop {
  std::unique_ptr<ModelDirection> forward, backward;
  void Make(const uint8_t* seed) {  // Df | Db | Kf | Kb
    forward = std::make_unique<ModelDirection>(seed, seed + 40);
    backward = std::make_unique<ModelDirection>(seed + 20, seed + 56);
  }
};

// ---- The model's circuits: the cell rules around the crypto. -------------------------------

// What a step did, in the model: the fields a CellResult must match.
struct Verdict {
  CellOutcome outcome = CellOutcome::kClosed;
  ProtocolError error = ProtocolError::kNone;
  DestroyReason destroy_reason = DestroyReason::kNone;
  int hop = 0;
  bool early = false;
  uint8_t command = 0;
  uint16_t stream_id = 0, length = 0;
};

Verdict Failed(ProtocolError error, uint8_t* cell) {
  std::memset(cell + kHeader, 0, kBody);  // a refused cell's payload is never handed out
  Verdict v;
  v.outcome = CellOutcome::kDestroyed;
  v.error = error;
  v.destroy_reason = DestroyReason::kProtocol;
  return v;
}

bool KnownCellCommand(uint8_t c) {
  return c == kCmdPadding || c == kCmdRelay || c == kCmdDestroy || c == kCmdRelayEarly ||
         c == kCmdCreate2 || c == kCmdCreated2;
}
bool KnownRelayCommand(uint8_t c) {
  return (c >= 1 && c <= 5) || c == 9 || c == 10 || c == 14 || c == 15 || c == 28 || c == 29;
}

// A recognized body: the relay header rules (tor-spec plus relaycell's known commands).
Verdict Deliver(uint8_t* cell) {
  const uint8_t* body = cell + kHeader;
  if (!KnownRelayCommand(body[0])) return Failed(ProtocolError::kUnknownRelayCommand, cell);
  const uint16_t length = Be16(body + 9);
  if (length > kMaxData) return Failed(ProtocolError::kRelayLengthTooLong, cell);
  if (body[0] == kRelayRekey) return Failed(ProtocolError::kRekeyUnsupported, cell);
  Verdict v;
  v.outcome = CellOutcome::kDelivered;
  v.command = body[0];
  v.stream_id = Be16(body + 3);
  v.length = length;
  return v;
}

// The plaintext of a relay cell. False where relaycell's Originate refuses: REKEY is the
// circuit's own, and data must fit and match the length. tor1's header has the stream id
// field whatever the command (tor-spec), 64..255 included.
bool BuildBody(uint8_t command, uint16_t stream_id, uint16_t length, const uint8_t* data, size_t n,
               uint8_t* body) {
  if (command == kRelayRekey || n > kMaxData || length != n) return false;
  std::memset(body, 0, kBody);
  body[0] = command;
  PutBe16(stream_id, body + 3);
  PutBe16(length, body + 9);
  std::memcpy(body + kRelayHeader, data, n);
  return true;
}

struct ModelRelay {
  ModelHop keys;
  uint32_t client_side_id = 0, next_side_id = 0;
  int early_cells = 0;

  // The checks before the layer, in relaycell's order (the first failing one is the error);
  // true: run the layer.
  bool Screen(uint8_t* cell, bool from_client, Verdict& v) {
    auto reject = [&](ProtocolError error) {
      v = Failed(error, cell);
      return false;
    };
    const uint8_t command = cell[4];
    const uint32_t circ_id = Be32(cell);
    if (!KnownCellCommand(command)) return reject(ProtocolError::kUnknownCellCommand);
    if (command != kCmdPadding && circ_id == 0) return reject(ProtocolError::kZeroCircId);
    if (command == kCmdPadding) {
      v.outcome = CellOutcome::kIgnored;
      return false;
    }
    const uint32_t side = from_client ? client_side_id : next_side_id;
    if (side == 0 || circ_id != side) return reject(ProtocolError::kWrongCircId);
    const bool early = command == kCmdRelayEarly;
    if (early && !from_client) return reject(ProtocolError::kEarlyBackward);
    if (command != kCmdRelay && !early) return reject(ProtocolError::kUnexpectedCellCommand);
    // Every RELAY_EARLY from the client counts, ours or not; the 9th closes the circuit.
    if (early && ++early_cells > kEarlyLimit) return reject(ProtocolError::kTooManyRelayEarly);
    return true;
  }
  Verdict Forward(uint8_t* cell) {
    Verdict v;
    if (!Screen(cell, true, v)) return v;
    const bool early = cell[4] == kCmdRelayEarly;
    keys.forward->Crypt(cell + kHeader);
    if (keys.forward->Recognize(cell + kHeader)) {
      v = Deliver(cell);
      v.early = v.outcome == CellOutcome::kDelivered && early;
      return v;
    }
    if (next_side_id == 0) return Failed(ProtocolError::kUnrecognized, cell);
    PutBe32(next_side_id, cell);
    v.outcome = CellOutcome::kForward;
    return v;
  }
  Verdict Backward(uint8_t* cell) {
    Verdict v;
    if (!Screen(cell, false, v)) return v;
    keys.backward->Crypt(cell + kHeader);
    PutBe32(client_side_id, cell);
    cell[4] = kCmdRelay;
    v.outcome = CellOutcome::kForward;
    return v;
  }
  void Originate(const uint8_t* body, uint8_t* cell) {
    PutBe32(client_side_id, cell);
    cell[4] = kCmdRelay;
    std::memcpy(cell + kHeader, body, kBody);
    keys.backward->Seal(cell + kHeader);
    keys.backward->Crypt(cell + kHeader);
  }
};

struct ModelClient {
  ModelHop hops[kMaxHops];
  int n = 0;
  uint32_t circ_id = 0;

  void Originate(int hop, bool early, const uint8_t* body, uint8_t* cell) {
    PutBe32(circ_id, cell);
    cell[4] = early ? kCmdRelayEarly : kCmdRelay;
    std::memcpy(cell + kHeader, body, kBody);
    hops[hop - 1].forward->Seal(cell + kHeader);
    for (int h = hop; h >= 1; --h) hops[h - 1].forward->Crypt(cell + kHeader);
  }
  Verdict Receive(uint8_t* cell) {
    const uint8_t command = cell[4];
    const uint32_t id = Be32(cell);
    if (!KnownCellCommand(command)) return Failed(ProtocolError::kUnknownCellCommand, cell);
    if (command != kCmdPadding && id == 0) return Failed(ProtocolError::kZeroCircId, cell);
    Verdict v;
    if (command == kCmdPadding) {
      v.outcome = CellOutcome::kIgnored;
      return v;
    }
    if (id != circ_id) return Failed(ProtocolError::kWrongCircId, cell);
    if (command == kCmdRelayEarly) return Failed(ProtocolError::kEarlyBackward, cell);
    if (command != kCmdRelay) return Failed(ProtocolError::kUnexpectedCellCommand, cell);
    for (int h = 1; h <= n; ++h) {
      hops[h - 1].backward->Crypt(cell + kHeader);
      if (hops[h - 1].backward->Recognize(cell + kHeader)) {
        v = Deliver(cell);
        if (v.outcome == CellOutcome::kDelivered) v.hop = h;
        return v;
      }
    }
    return Failed(ProtocolError::kUnrecognized, cell);
  }
};

// ---- The two worlds side by side. ---------------------------------------------------------

// A byte changed, or the cell lost, on its way to position `at` (a relay's index; 0 is the
// client for backward cells).
struct Tamper {
  bool on = false;
  bool drop = false;
  int at = 0;
  size_t pos = 0;
  uint8_t mask = 0;
};

class World {
 public:
  bool Setup(Reader& in) {
    tor1_ = FindSuite("tor1");
    if (tor1_ == nullptr || tor1_->id() != kTor1SuiteId) std::abort();
    hops_ = 1 + in.Byte() % kMaxHops;
    flags_ = in.Byte();
    const uint32_t base = in.U32();
    const uint32_t step = in.Byte();
    for (int i = 0; i < kMaxHops; ++i) {
      ids_[i] = (base + uint32_t(i) * step) & 0x7fffffffu;
      if (ids_[i] == 0) ids_[i] = 1;
    }
    master_ = in.U64();
    uint8_t seeds[kMaxHops][kSeed];
    std::span<const uint8_t> views[kMaxHops];
    for (int i = 0; i < hops_; ++i) {
      NextSeed(seeds[i]);
      views[i] = seeds[i];
    }
    if (ClientCircuit::Create(*tor1_, ids_[0],
                              std::span<const std::span<const uint8_t>>(views, size_t(hops_)),
                              client_) != SuiteError::kOk) {
      return false;  // no locked memory for the keys: nothing to compare
    }
    model_client_.n = hops_;
    model_client_.circ_id = ids_[0];
    for (int i = 0; i < hops_; ++i) {
      model_client_.hops[i].Make(seeds[i]);
      if (!MakeRelay(i, seeds[i], i + 1 < hops_ ? ids_[i + 1] : 0)) return false;
    }
    return true;
  }

  // One operation; false when the run is over (a destroy, or a resource failure).
  bool RunOp(Reader& in) {
    switch (in.Byte() % 10) {
      case 0:
      case 1:
      case 2: return ClientOriginate(in, /*raw=*/false);
      case 3: return ClientOriginate(in, /*raw=*/true);
      case 4:
      case 5: return RelayOriginate(in, /*raw=*/false);
      case 6: return RelayOriginate(in, /*raw=*/true);
      case 7: return Inject(in);
      case 8: return Truncate(in);
      default: return AddHop(in);
    }
  }

  // At the end of a run nobody was destroyed: every circuit must still be open.
  void CheckAllOpen() {
    if (!client_.is_open() || client_.hops() != hops_) Mismatch("open state", "end", 0);
    for (int i = 0; i < hops_; ++i) {
      if (!relays_[i].is_open()) Mismatch("open state", "end", i + 1);
    }
  }

 private:
  // Seeds: a counter-mode splitmix64 from the input's master value. Flags bit 0: every hop
  // the same seed; bit 1: Db = Df and Kb = Kf (both directions' keystreams and digests equal).
  void NextSeed(uint8_t* seed) {
    const uint64_t hop = (flags_ & 1) ? 0 : seeds_made_++;
    for (size_t i = 0; i < kSeed; i += 8) {
      uint64_t z = master_ + (hop * 16 + i / 8 + 1) * 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      std::memcpy(seed + i, &z, 8);
    }
    if (flags_ & 2) {
      std::memcpy(seed + 20, seed, 20);
      std::memcpy(seed + 56, seed + 40, 16);
    }
  }

  bool MakeRelay(int i, const uint8_t* seed, uint32_t next_id) {
    if (RelayCircuit::Create(*tor1_, std::span<const uint8_t>(seed, kSeed), ids_[i], next_id,
                             relays_[i]) != SuiteError::kOk) {
      return false;
    }
    ModelRelay& m = model_relays_[i];
    m = ModelRelay();
    m.keys.Make(seed);
    m.client_side_id = ids_[i];
    m.next_side_id = next_id;
    return true;
  }

  static void ReadTamper(Reader& in, uint8_t flags, Tamper& t) {
    if (!(flags & 0x40)) return;
    t.on = true;
    t.drop = flags & 0x80;
    t.at = in.Byte();
    t.pos = kHeader + in.U16() % kBody;  // the header's fields are circuit_feed's business
    t.mask = in.Byte() | 1;
  }

  // relaycell's result against the model's verdict, and the cells byte for byte.
  static void Compare(const CellResult& r, const Verdict& v, const Cell& cell, const Cell& model,
                      const char* where, int hop) {
    if (r.outcome != v.outcome) Mismatch("outcomes", where, hop);
    if (r.error != v.error) Mismatch("protocol errors", where, hop);
    if (r.destroy_reason != v.destroy_reason) Mismatch("destroy reasons", where, hop);
    if (cell != model) Mismatch("cell bytes", where, hop);
    if (v.outcome != CellOutcome::kDelivered) return;
    if (r.hop != v.hop) Mismatch("recognizing hops", where, hop);
    if (r.early != v.early) Mismatch("early flags", where, hop);
    if (uint8_t(r.header.command) != v.command || r.header.stream_id != v.stream_id ||
        r.header.length != v.length) {
      Mismatch("relay headers", where, hop);
    }
    if (r.data.size() != v.length || r.data.data() != cell.data() + kHeader + kRelayHeader) {
      Mismatch("delivered data views", where, hop);
    }
  }

  // Applies a tamper due before position `at`; false if the cell is lost there.
  static bool Transit(const Tamper& t, int at, Cell& cell, Cell& model) {
    if (!t.on || t.at != at) return true;
    if (t.drop) return false;
    cell[t.pos] ^= t.mask;
    model[t.pos] ^= t.mask;
    return true;
  }

  // A forward cell reaching relay `first` (1-based) from its client side, onwards.
  bool TravelForward(Cell& cell, Cell& model, int first, const Tamper& t) {
    for (int i = first; i <= hops_; ++i) {
      if (!Transit(t, i, cell, model)) return true;
      const CellResult r = relays_[i - 1].HandleForward(cell);
      const Verdict v = model_relays_[i - 1].Forward(model.data());
      Compare(r, v, cell, model, "relay forward", i);
      if (relays_[i - 1].is_open() != (v.outcome != CellOutcome::kDestroyed)) {
        Mismatch("open states", "relay forward", i);
      }
      if (v.outcome != CellOutcome::kForward) return v.outcome != CellOutcome::kDestroyed;
    }
    Mismatch("forwarding past the last hop", "relay forward", hops_);
  }

  // A backward cell reaching relay `first` from its next side (0: the client), onwards.
  bool TravelBackward(Cell& cell, Cell& model, int first, const Tamper& t) {
    for (int i = first; i >= 1; --i) {
      if (!Transit(t, i, cell, model)) return true;
      const CellResult r = relays_[i - 1].HandleBackward(cell);
      const Verdict v = model_relays_[i - 1].Backward(model.data());
      Compare(r, v, cell, model, "relay backward", i);
      if (relays_[i - 1].is_open() != (v.outcome != CellOutcome::kDestroyed)) {
        Mismatch("open states", "relay backward", i);
      }
      if (v.outcome != CellOutcome::kForward) return v.outcome != CellOutcome::kDestroyed;
    }
    if (!Transit(t, 0, cell, model)) return true;
    const CellResult r = client_.Receive(cell);
    const Verdict v = model_client_.Receive(model.data());
    Compare(r, v, cell, model, "client receive", 0);
    if (client_.is_open() != (v.outcome != CellOutcome::kDestroyed)) {
      Mismatch("open states", "client receive", 0);
    }
    return v.outcome != CellOutcome::kDestroyed;
  }

  // The payload to originate: a relay header and data (relaycell's Originate builds it), or
  // 509 raw plaintext bytes (OriginatePayload: any command, any length field).
  struct Content {
    RelayHeader header;
    uint8_t data[512];
    size_t n = 0;
    uint8_t raw[kBody];
  };
  static void ReadContent(Reader& in, uint8_t flags, bool raw, Content& c) {
    if (raw) {
      const size_t n = in.Byte() | ((flags & 2) ? 256 : 0);
      in.Fill(c.raw, n < kBody ? n : kBody);
      return;
    }
    const uint8_t command = in.Byte();
    // Mostly a known command other than REKEY; flags bit 3: the byte as it is.
    static constexpr uint8_t kCommands[] = {1, 2, 3, 4, 5, 9, 10, 14, 15, 29};
    c.header.command = RelayCommand((flags & 8) ? command : kCommands[command % 10]);
    c.header.stream_id = in.U16();
    c.n = in.Byte() | ((flags & 2) ? 256 : 0);  // 0..511: past 498 is refused
    c.header.length = (flags & 4) ? in.U16() : uint16_t(c.n);
    in.Fill(c.data, c.n);
  }

  // opcode 0-3: hop u8 | flags u8 (bit 0 RELAY_EARLY, 1 long, 2 length field from input,
  // 3 raw command, 6 tamper, 7 tamper drops) | [tamper: at u8 | pos u16 | mask u8] | content.
  bool ClientOriginate(Reader& in, bool raw) {
    const int hop = in.Byte() % (hops_ + 2);  // 0 and hops + 1 are refused
    const uint8_t flags = in.Byte();
    const bool early = flags & 1;
    Tamper t;
    ReadTamper(in, flags, t);
    if (t.on) t.at = 1 + t.at % hops_;
    Content c;
    ReadContent(in, flags, raw, c);

    Cell cell{}, model{};
    uint8_t body[kBody];
    OriginateError expected = OriginateError::kOk;
    if (raw) {
      std::memcpy(body, c.raw, kBody);
    } else if (!BuildBody(uint8_t(c.header.command), c.header.stream_id, c.header.length, c.data,
                          c.n, body)) {
      expected = OriginateError::kBadPayload;
    }
    if (expected == OriginateError::kOk && (hop < 1 || hop > hops_)) {
      expected = OriginateError::kNoSuchHop;
    }
    const OriginateError got =
        raw ? client_.OriginatePayload(hop, c.raw, early, cell)
            : client_.Originate(hop, c.header, std::span<const uint8_t>(c.data, c.n), early, cell);
    if (got != expected) Mismatch("originate errors", "client originate", hop);
    if (got != OriginateError::kOk) return true;  // refused: nothing sent, nothing changed
    model_client_.Originate(hop, early, body, model.data());
    if (cell != model) Mismatch("cell bytes", "client originate", hop);
    return TravelForward(cell, model, 1, t);
  }

  // opcode 4-6: hop u8 | flags u8 (bits 1-3, 6, 7 as for the client) | [tamper] | content.
  bool RelayOriginate(Reader& in, bool raw) {
    const int hop = 1 + in.Byte() % hops_;
    const uint8_t flags = in.Byte();
    Tamper t;
    ReadTamper(in, flags, t);
    if (t.on) t.at = t.at % hop;  // relays hop-1..1, or 0: the client
    Content c;
    ReadContent(in, flags, raw, c);

    Cell cell{}, model{};
    uint8_t body[kBody];
    OriginateError expected = OriginateError::kOk;
    if (raw) {
      std::memcpy(body, c.raw, kBody);
    } else if (!BuildBody(uint8_t(c.header.command), c.header.stream_id, c.header.length, c.data,
                          c.n, body)) {
      expected = OriginateError::kBadPayload;
    }
    RelayCircuit& relay = relays_[hop - 1];
    const OriginateError got =
        raw ? relay.OriginatePayload(c.raw, cell)
            : relay.Originate(c.header, std::span<const uint8_t>(c.data, c.n), cell);
    if (got != expected) Mismatch("originate errors", "relay originate", hop);
    if (got != OriginateError::kOk) return true;
    model_relays_[hop - 1].Originate(body, model.data());
    if (cell != model) Mismatch("cell bytes", "relay originate", hop);
    return TravelBackward(cell, model, hop - 1, t);
  }

  // opcode 7: where u8 (bit 7: backward; the rest: the relay, or the client) | command u8 |
  // id u8 (0: the right circuit id, else XORed in) | n u8 | body bytes. A cell nobody sealed,
  // or a PADDING, an unknown or a misplaced command, on the right or a wrong circuit.
  bool Inject(Reader& in) {
    const uint8_t where = in.Byte();
    const bool backward = where & 0x80;
    static constexpr uint8_t kCommands[] = {
        kCmdRelay, kCmdRelay, kCmdRelayEarly, kCmdPadding, kCmdCreate2, kCmdCreated2, 7, 200};
    const uint8_t command = kCommands[in.Byte() % 8];
    const uint8_t wrong = in.Byte();
    Cell cell{};
    cell[4] = command;
    in.Fill(cell.data() + kHeader, in.Byte());
    Tamper none;
    if (!backward) {
      const int first = 1 + where % hops_;
      PutBe32(ids_[first - 1] ^ wrong, cell.data());
      Cell model = cell;
      return TravelForward(cell, model, first, none);
    }
    // Relay i hears it from its next side (the next hop's client-side id), 0: the client.
    const int first = where % (hops_ + 1);
    const uint32_t id = first == 0 ? ids_[0] : first < hops_ ? ids_[first] : ids_[first - 1];
    PutBe32(id ^ wrong, cell.data());
    Cell model = cell;
    return TravelBackward(cell, model, first, none);
  }

  // opcode 8: k u8. Hop k sent TRUNCATED: the client keeps hops 1..k, relay k is the last hop.
  bool Truncate(Reader& in) {
    const int k = 1 + in.Byte() % hops_;
    client_.TruncateTo(k);
    if (k < hops_) {
      relays_[k - 1].DetachNext();
      model_relays_[k - 1].next_side_id = 0;
      for (int i = k; i < hops_; ++i) {
        relays_[i].Destroy();
        model_relays_[i] = ModelRelay();
        model_client_.hops[i] = ModelHop();
      }
      hops_ = k;
      model_client_.n = k;
    }
    if (client_.hops() != hops_) Mismatch("hop counts", "truncate", k);
    return true;
  }

  // opcode 9: the last hop extends: a new hop with the next seed, attached to it.
  bool AddHop(Reader& /*in*/) {
    uint8_t seed[kSeed];
    NextSeed(seed);
    const SuiteError e = client_.AddHop(seed);
    if (hops_ == kMaxHops) {
      if (e != SuiteError::kBadHopCount) Mismatch("add-hop errors", "add hop", hops_);
      return true;
    }
    if (e != SuiteError::kOk) return false;
    relays_[hops_ - 1].AttachNext(ids_[hops_]);
    model_relays_[hops_ - 1].next_side_id = ids_[hops_];
    model_client_.hops[hops_].Make(seed);
    if (!MakeRelay(hops_, seed, 0)) return false;
    ++hops_;
    model_client_.n = hops_;
    return true;
  }

  const CellSuite* tor1_ = nullptr;
  int hops_ = 0;
  uint8_t flags_ = 0;
  uint64_t master_ = 0;
  uint64_t seeds_made_ = 0;
  uint32_t ids_[kMaxHops] = {};
  ClientCircuit client_;
  RelayCircuit relays_[kMaxHops];
  ModelClient model_client_;
  ModelRelay model_relays_[kMaxHops];
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  World world;
  if (!world.Setup(in)) return 0;
  bool open = true;
  for (g_op = 0; g_op < kMaxOps && open && !in.empty(); ++g_op) open = world.RunOp(in);
  if (open) world.CheckAllOpen();
  return 0;
}
