#include "engine/suite/tor1_layer.h"

#include "engine/common/ct_check.h"

namespace relaycell {
namespace {

// Seed layout: Df[20] | Db[20] | Kf[16] | Kb[16].
struct Tor1Seed {
  std::span<const uint8_t, 20> df, db;
  std::span<const uint8_t, 16> kf, kb;
  explicit Tor1Seed(std::span<const uint8_t, kTor1SeedBytes> s)
      : df(s.subspan<0, 20>()),
        db(s.subspan<20, 20>()),
        kf(s.subspan<40, 16>()),
        kb(s.subspan<56, 16>()) {}
};

}  // namespace

SuiteError Tor1Suite::MakeHop(std::span<const uint8_t> seed, HopLayers& out) const {
  if (seed.size() != kTor1SeedBytes) return SuiteError::kBadSeedLength;
  // The hop's key seed from the host's handshake (Df, Db, Kf, Kb): secret from here on.
  RELAYCELL_CT_SECRET(seed.data(), seed.size());
  const Tor1Seed s(seed.first<kTor1SeedBytes>());
  auto forward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.df, s.kf);
  auto backward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.db, s.kb);
  if (!forward || !backward) return SuiteError::kOutOfKeyMemory;
  out.forward = AsLayerBox(std::move(forward));
  out.backward = AsLayerBox(std::move(backward));
  return SuiteError::kOk;
}

const CellSuite& Tor1CellSuite() {
  static const Tor1Suite suite;
  return suite;
}

}  // namespace relaycell
