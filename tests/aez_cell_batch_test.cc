// AezCellBatch against the one-cell-at-a-time AezCellDirection: the same cells through both must
// leave the same bodies (in place or out of place) and the same direction state (checked by the
// cells that follow).
#include "engine/suite/aez_cell_batch.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <random>
#include <vector>

#include "engine/suite/aes256_chain.h"

namespace relaycell {
namespace {

using Body = std::array<uint8_t, kCellBodyBytes>;

struct Keys {
  uint8_t aez[kKdfAezKeyBytes], chain_key[kChainKeyBytes], chain[kChainBytes];
};

Keys RandomKeys(std::mt19937_64& rng) {
  Keys k;
  for (auto& b : k.aez) b = uint8_t(rng());
  for (auto& b : k.chain_key) b = uint8_t(rng());
  for (auto& b : k.chain) b = uint8_t(rng());
  return k;
}

std::unique_ptr<AezCellDirection> Make(const Keys& k, bool forward) {
  return std::make_unique<AezCellDirection>(forward, k.aez, k.chain_key, k.chain);
}

TEST(AezCellBatch, MatchesOneCellAtATimeOverManyRounds) {
  std::mt19937_64 rng(42);
  constexpr size_t kDirections = 70;  // more than one batch's capacity over the rounds
  std::vector<std::unique_ptr<AezCellDirection>> batched, single;
  for (size_t i = 0; i < kDirections; ++i) {
    const Keys k = RandomKeys(rng);
    batched.push_back(Make(k, i % 2 == 0));
    single.push_back(Make(k, i % 2 == 0));
  }
  for (int round = 0; round < 6; ++round) {
    AezCellBatch batch;
    std::vector<Body> got, want;
    std::vector<size_t> who;
    std::vector<bool> early, encipher;
    // A random subset of directions, each at most once: some rounds fill the batch.
    for (size_t i = 0; i < kDirections && who.size() < AezCellBatch::kCapacity; ++i) {
      if (rng() % 4 == 0) continue;
      who.push_back(i);
      Body b;
      for (auto& x : b) x = uint8_t(rng());
      got.push_back(b);
      want.push_back(b);
      early.push_back(rng() % 2 == 0);
      encipher.push_back(rng() % 2 == 0);
    }
    // Every third cell out of place: it reads its input and writes elsewhere (a pipeline's
    // way), and must leave the input as it was.
    const std::vector<Body> inputs = got;
    std::vector<Body> elsewhere(who.size());
    auto out_of_place = [](size_t j) { return j % 3 == 1; };
    for (size_t j = 0; j < who.size(); ++j) {
      const AezCellBatch::Op op =
          encipher[j] ? AezCellBatch::Op::kEncipher : AezCellBatch::Op::kDecipher;
      if (out_of_place(j)) {
        ASSERT_TRUE(batch.Add(*batched[who[j]], ConstCellBody(got[j]), CellBody(elsewhere[j]),
                              early[j], op));
      } else {
        ASSERT_TRUE(batch.Add(*batched[who[j]], got[j], early[j], op));
      }
      if (encipher[j]) {
        single[who[j]]->Encipher(want[j], early[j]);
      } else {
        single[who[j]]->Decipher(want[j], early[j]);
      }
    }
    EXPECT_EQ(batch.size(), who.size());
    batch.Run();
    EXPECT_TRUE(batch.empty());
    for (size_t j = 0; j < who.size(); ++j) {
      SCOPED_TRACE(j);
      if (out_of_place(j)) {
        EXPECT_EQ(elsewhere[j], want[j]);
        EXPECT_EQ(got[j], inputs[j]);
      } else {
        EXPECT_EQ(got[j], want[j]);
      }
      EXPECT_EQ(batched[who[j]]->cell_number(), single[who[j]]->cell_number());
    }
  }
  // The state (prev, chain, count) carried over: one more cell each, one at a time, agrees.
  for (size_t i = 0; i < kDirections; ++i) {
    Body a{}, b{};
    batched[i]->Encipher(a, false);
    single[i]->Encipher(b, false);
    EXPECT_EQ(a, b) << i;
  }
}

TEST(AezCellBatch, RefusesPastCapacityAndRunsEmpty) {
  std::mt19937_64 rng(7);
  std::vector<std::unique_ptr<AezCellDirection>> directions;
  std::vector<Body> bodies(AezCellBatch::kCapacity + 1);
  AezCellBatch batch;
  batch.Run();  // nothing queued: no effect
  for (size_t i = 0; i <= AezCellBatch::kCapacity; ++i) {
    directions.push_back(Make(RandomKeys(rng), true));
    const bool added = batch.Add(*directions.back(), bodies[i], false, AezCellBatch::Op::kEncipher);
    EXPECT_EQ(added, i < AezCellBatch::kCapacity);
  }
  EXPECT_TRUE(batch.full());
  batch.Run();
  EXPECT_EQ(directions.front()->cell_number(), 1u);
  EXPECT_EQ(directions.back()->cell_number(), 0u);  // refused: untouched
}

TEST(Aes256ChainStepMany, MatchesStep) {
  std::mt19937_64 rng(3);
  for (size_t n : {0, 1, 3, 4, 5, 7, 8, 9, 16, 23}) {
    std::vector<std::unique_ptr<Aes256Chain>> ciphers;
    std::vector<std::array<uint8_t, 16>> many(n), one(n);
    std::vector<const Aes256Chain*> cipher_ptrs;
    std::vector<uint8_t*> chain_ptrs;
    for (size_t i = 0; i < n; ++i) {
      uint8_t key[kAes256KeyBytes];
      for (auto& b : key) b = uint8_t(rng());
      ciphers.push_back(std::make_unique<Aes256Chain>(key));
      for (auto& b : many[i]) b = uint8_t(rng());
      one[i] = many[i];
      cipher_ptrs.push_back(ciphers.back().get());
      chain_ptrs.push_back(many[i].data());
    }
    Aes256Chain::StepMany(cipher_ptrs, chain_ptrs);
    for (size_t i = 0; i < n; ++i) {
      ciphers[i]->Step(one[i]);
      EXPECT_EQ(many[i], one[i]) << n << " " << i;
    }
  }
}

}  // namespace
}  // namespace relaycell
