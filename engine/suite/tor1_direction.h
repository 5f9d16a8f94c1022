// One direction of a tor1 hop: an AES-128-CTR keystream that runs for the circuit's life and a
// running SHA-1 digest. Lives in a KeyArena slot (it holds the key schedule and keystream).
#ifndef RELAYCELL_ENGINE_SUITE_TOR1_DIRECTION_H_
#define RELAYCELL_ENGINE_SUITE_TOR1_DIRECTION_H_

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA_CTX: a plain struct, so a digest copy costs nothing
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/suite/cell_suite.h"
#include "engine/suite/suite_registry.h"
#include "engine/common/key_arena.h"

namespace relaycell {

inline constexpr size_t kTor1DigestSeedBytes = 20;
inline constexpr size_t kTor1CipherKeyBytes = 16;

class Tor1Direction final : public CellLayer {
 public:
  Tor1Direction(std::span<const uint8_t, kTor1DigestSeedBytes> digest_seed,
                std::span<const uint8_t, kTor1CipherKeyBytes> cipher_key);
  ~Tor1Direction() override;

  // The layer: an originator sets the digest before encrypting, a decrypting end checks it
  // after; a hop in between only runs the keystream.
  bool Apply(LayerOp op, CellBody body, bool /*early*/) override {
    switch (op) {
      case LayerOp::kClientOriginate:
      case LayerOp::kRelayOriginate:
        SetDigest(body);
        ApplyKeystream(body);
        return false;
      case LayerOp::kClientEncrypt:
      case LayerOp::kRelayEncrypt: ApplyKeystream(body); return false;
      case LayerOp::kClientDecrypt:
      case LayerOp::kRelayDecrypt: ApplyKeystream(body); return CheckDigest(body);
    }
    return false;
  }

  // XORs the next |data| keystream bytes into data. The result is public (the cell has left
  // the layer): under RELAYCELL_CT_CHECK it is declassified here.
  void ApplyKeystream(std::span<uint8_t> data);
  // Zeroes recognized and digest, adds the cell to the running digest and writes the digest's
  // first 4 bytes into the cell (the sender's side).
  void SetDigest(CellBody body);
  // The receiver's side: true iff recognized == 0 and the digest matches; only then the cell
  // joins the running digest.
  bool CheckDigest(CellBody body);

  // The arena every Tor1Direction lives in.
  static KeyArena& Arena();

 private:
  void Refill();

  static constexpr size_t kKeystreamBytes = 1024;  // >= 2 cells' worth: one job per cell or so
  alignas(16) uint8_t enc_keys_[16 * 11];
  alignas(16) uint8_t counter_[16];  // the next block's counter, 128-bit big-endian
  alignas(16) uint8_t keystream_[kKeystreamBytes];
  size_t keystream_begin_ = 0;
  size_t keystream_end_ = 0;
  SHA_CTX digest_;
};

using Tor1DirectionBox = ArenaBox<Tor1Direction>;

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_SUITE_TOR1_DIRECTION_H_
