#include "engine/suite/cgo/cgo_direction.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "engine/common/ct_check.h"

namespace relaycell {
namespace {

// Cells per pass of RunMany (the stack arrays' size; more cells loop).
constexpr size_t kPass = 64;

// Constant time: the tag comparison never branches on the bytes.
bool TagsEqual(const uint8_t* a, const uint8_t* b) {
  bool equal = sodium_memcmp(a, b, kCgoTagBytes) == 0;
  // Public by design: the recognized verdict (the tag against this direction's nonce), which
  // decides in plain sight whether the cell is delivered or forwarded. N stays secret.
  RELAYCELL_CT_PUBLIC(&equal, sizeof equal);
  return equal;
}

}  // namespace

const char* CgoOpName(CgoOp op) {
  switch (op) {
    case CgoOp::kRelayForward: return "relay_forward";
    case CgoOp::kRelayBackward: return "relay_backward";
    case CgoOp::kRelayOriginate: return "relay_originate";
    case CgoOp::kClientOriginate: return "client_originate";
    case CgoOp::kClientForward: return "client_forward";
    case CgoOp::kClientBackward: return "client_backward";
  }
  return "?";
}

KeyArena& CgoDirection::Arena() {
  static KeyArena arena(sizeof(CgoDirection));
  return arena;
}

CgoDirection::CgoDirection(std::span<const uint8_t, kCgoKeyBytes> keys,
                           std::span<const uint8_t, kCgoNonceBytes> nonce)
    : CellLayer(kCgoSuiteId), uiv_(keys) {
  std::memcpy(nonce_, nonce.data(), sizeof nonce_);
  std::memset(tprime_, 0, sizeof tprime_);
}

CgoDirection::CgoDirection(std::span<const uint8_t, kCgoKeyBytes> keys,
                           std::span<const uint8_t, kCgoNonceBytes> nonce,
                           std::span<const uint8_t, kCgoTagBytes> tprime)
    : CellLayer(kCgoSuiteId), uiv_(keys) {
  std::memcpy(nonce_, nonce.data(), sizeof nonce_);
  std::memcpy(tprime_, tprime.data(), sizeof tprime_);
}

CgoDirection::~CgoDirection() {
  sodium_memzero(nonce_, sizeof nonce_);
  sodium_memzero(tprime_, sizeof tprime_);
  sodium_memzero(sendme_tag_, sizeof sendme_tag_);
}

void CgoDirection::Begin(CgoOp op, uint8_t* body, uint8_t* tag_in) const {
  switch (op) {
    case CgoOp::kRelayOriginate:
    case CgoOp::kClientOriginate: std::memcpy(body, nonce_, kCgoTagBytes); break;
    case CgoOp::kRelayBackward: return;
    case CgoOp::kRelayForward:
    case CgoOp::kClientForward:
    case CgoOp::kClientBackward: break;
  }
  std::memcpy(tag_in, body, kCgoTagBytes);
}

bool CgoDirection::Finish(CgoOp op, const uint8_t* body, const uint8_t* tag_in, bool& recognized) {
  recognized = false;
  switch (op) {
    case CgoOp::kRelayForward:
      std::memcpy(tprime_, body, kCgoTagBytes);
      if (!TagsEqual(body, nonce_)) return false;
      recognized = true;
      std::memcpy(sendme_tag_, tag_in, kCgoTagBytes);
      return true;  // the update runs on N as it is
    case CgoOp::kRelayBackward: std::memcpy(tprime_, body, kCgoTagBytes); return false;
    case CgoOp::kRelayOriginate:
      std::memcpy(tprime_, body, kCgoTagBytes);
      std::memcpy(nonce_, body, kCgoTagBytes);
      std::memcpy(sendme_tag_, body, kCgoTagBytes);
      return true;
    case CgoOp::kClientOriginate:
      std::memcpy(tprime_, tag_in, kCgoTagBytes);  // = N
      std::memcpy(sendme_tag_, body, kCgoTagBytes);
      return true;  // the update runs on N as it is
    case CgoOp::kClientForward: std::memcpy(tprime_, tag_in, kCgoTagBytes); return false;
    case CgoOp::kClientBackward:
      std::memcpy(tprime_, tag_in, kCgoTagBytes);
      if (!TagsEqual(body, nonce_)) return false;
      recognized = true;
      std::memcpy(nonce_, tag_in, kCgoTagBytes);
      std::memcpy(sendme_tag_, tag_in, kCgoTagBytes);
      return true;
  }
  return false;
}

void CgoDirection::RunMany(std::span<const CgoCell> cells, std::span<CgoCellScratch> scratch) {
  const size_t total = std::min(cells.size(), scratch.size());
  for (size_t begin = 0; begin < total; begin += kPass) {
    const size_t n = std::min(kPass, total - begin);
    const CgoCell* pass = cells.data() + begin;
    CgoCellScratch* work = scratch.data() + begin;

    CgoUiv::Job encrypt[kPass], decrypt[kPass];
    size_t encrypts = 0, decrypts = 0;
    for (size_t i = 0; i < n; ++i) {
      const CgoCell& cell = pass[i];
      CgoDirection& d = *cell.direction;
      d.Begin(cell.op, cell.body, work[i].tag_in);
      const CgoUiv::Job job{&d.uiv_, d.tprime_, cell.body, &work[i].uiv, cell.cmd};
      if (CgoOpEncrypts(cell.op)) {
        encrypt[encrypts++] = job;
      } else {
        decrypt[decrypts++] = job;
      }
    }
    CgoUiv::EncryptMany(std::span<const CgoUiv::Job>(encrypt, encrypts));
    CgoUiv::DecryptMany(std::span<const CgoUiv::Job>(decrypt, decrypts));
    // Public by design: the cells have left the layer, as the ciphertext sent on or received
    // (what the next hop gets) or as the plaintext this end reads (recognized). Keys, N and T'
    // stay secret.
    for (size_t i = 0; i < n; ++i) RELAYCELL_CT_PUBLIC(pass[i].body, kCellBodyBytes);

    CgoUiv::UpdateJob updates[kPass];
    size_t update_count = 0;
    bool verdicts[kPass];
    for (size_t i = 0; i < n; ++i) {
      const CgoCell& cell = pass[i];
      CgoDirection& d = *cell.direction;
      if (d.Finish(cell.op, cell.body, work[i].tag_in, verdicts[i])) {
        updates[update_count++] = {&d.uiv_, d.nonce_, &work[i].uiv};
      }
    }
    CgoUiv::UpdateMany(std::span<const CgoUiv::UpdateJob>(updates, update_count));
    for (size_t i = 0; i < n; ++i) {
      if (pass[i].recognized != nullptr) *pass[i].recognized = verdicts[i];
    }
    sodium_memzero(work, n * sizeof(CgoCellScratch));
  }
}

bool CgoDirection::Apply(CgoOp op, CellBody body, uint8_t cmd) {
  CgoCellScratch scratch;
  bool recognized = false;
  const CgoCell cell{this, body.data(), &recognized, op, cmd};
  RunMany({&cell, 1}, {&scratch, 1});
  return recognized;
}

CgoDirectionBox MakeCgoDirection(std::span<const uint8_t, kCgoDirectionSeedBytes> seed) {
  return MakeInArena<CgoDirection>(CgoDirection::Arena(), seed.first<kCgoKeyBytes>(),
                                   seed.subspan<kCgoKeyBytes, kCgoNonceBytes>());
}

bool MakeCgoHop(std::span<const uint8_t, kCgoHopSeedBytes> seed, CgoHopDirections& out) {
  // The hop's key seed from the host's handshake (each direction's K and N): secret.
  RELAYCELL_CT_SECRET(seed.data(), seed.size());
  out.forward = MakeCgoDirection(seed.first<kCgoDirectionSeedBytes>());
  out.backward = MakeCgoDirection(seed.subspan<kCgoDirectionSeedBytes, kCgoDirectionSeedBytes>());
  if (!out.forward || !out.backward) {
    out.forward.reset();
    out.backward.reset();
    return false;
  }
  return true;
}

}  // namespace relaycell
