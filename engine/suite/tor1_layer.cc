#include "engine/suite/tor1_layer.h"

namespace relaycell {
namespace {

// Seed layout: Df[20] | Db[20] | Kf[16] | Kb[16].
struct Tor1Seed {
  std::span<const uint8_t, 20> df, db;
  std::span<const uint8_t, 16> kf, kb;
  explicit Tor1Seed(std::span<const uint8_t, kTor1SeedBytes> s)
      : df(s.subspan<0, 20>()), db(s.subspan<20, 20>()), kf(s.subspan<40, 16>()),
        kb(s.subspan<56, 16>()) {}
};

class Tor1ClientForward final : public ClientForwardLayer {
 public:
  explicit Tor1ClientForward(Tor1DirectionBox state) : state_(std::move(state)) {}
  void Originate(CellBody body, bool /*early*/) override {
    state_->SetDigest(body);
    state_->ApplyKeystream(body);
  }
  void Encrypt(CellBody body, bool /*early*/) override { state_->ApplyKeystream(body); }

 private:
  Tor1DirectionBox state_;
};

class Tor1ClientBackward final : public ClientBackwardLayer {
 public:
  explicit Tor1ClientBackward(Tor1DirectionBox state) : state_(std::move(state)) {}
  bool Decrypt(CellBody body) override {
    state_->ApplyKeystream(body);
    return state_->CheckDigest(body);
  }

 private:
  Tor1DirectionBox state_;
};

class Tor1Relay final : public RelayLayer {
 public:
  Tor1Relay(Tor1DirectionBox forward, Tor1DirectionBox backward)
      : forward_(std::move(forward)), backward_(std::move(backward)) {}
  bool DecryptForward(CellBody body, bool /*early*/) override {
    forward_->ApplyKeystream(body);
    return forward_->CheckDigest(body);
  }
  void OriginateBackward(CellBody body) override {
    backward_->SetDigest(body);
    backward_->ApplyKeystream(body);
  }
  void EncryptBackward(CellBody body) override { backward_->ApplyKeystream(body); }
  // The same lookahead the aez layer gets, so the baseline is measured at its best.
  void Prefetch(bool forward) const override { (forward ? *forward_ : *backward_).Prefetch(); }

 private:
  Tor1DirectionBox forward_, backward_;
};

}  // namespace

SuiteError Tor1Suite::MakeClientHop(std::span<const uint8_t> seed, ClientHopLayers& out) const {
  if (seed.size() != kTor1SeedBytes) return SuiteError::kBadSeedLength;
  const Tor1Seed s(seed.first<kTor1SeedBytes>());
  auto forward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.df, s.kf);
  auto backward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.db, s.kb);
  if (!forward || !backward) return SuiteError::kOutOfKeyMemory;
  out.forward = std::make_unique<Tor1ClientForward>(std::move(forward));
  out.backward = std::make_unique<Tor1ClientBackward>(std::move(backward));
  return SuiteError::kOk;
}

SuiteError Tor1Suite::MakeRelayHop(std::span<const uint8_t> seed,
                                   std::unique_ptr<RelayLayer>& out) const {
  if (seed.size() != kTor1SeedBytes) return SuiteError::kBadSeedLength;
  const Tor1Seed s(seed.first<kTor1SeedBytes>());
  auto forward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.df, s.kf);
  auto backward = MakeInArena<Tor1Direction>(Tor1Direction::Arena(), s.db, s.kb);
  if (!forward || !backward) return SuiteError::kOutOfKeyMemory;
  out = std::make_unique<Tor1Relay>(std::move(forward), std::move(backward));
  return SuiteError::kOk;
}

const CellSuite& Tor1CellSuite() {
  static const Tor1Suite suite;
  return suite;
}

}  // namespace relaycell
