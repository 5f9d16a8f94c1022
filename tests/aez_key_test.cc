// The expanded key's layout: AEZ's rows share zero blocks and AES10 reuses AES4's keys, so a
// wrong index would silently give another block. Each row is checked against its definition.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>

#include "engine/aez/aez.h"
#include "engine/aez/aez_internal.h"

namespace relaycell {
namespace {

using Block = std::array<uint8_t, 16>;

Block Of(const uint8_t* p) {
  Block b;
  std::memcpy(b.data(), p, 16);
  return b;
}
Block Of(std::span<const uint8_t, 16> s) { return Of(s.data()); }
Block Times(std::span<const uint8_t, 16> x, uint64_t k) {
  Block out;
  aez_internal::MultiplyBlock(x.data(), k, out.data());
  return out;
}

TEST(AezKeyLayout, RowsMatchTheirDefinitions) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 4; ++trial) {
    std::array<uint8_t, 48> ijl;
    for (auto& b : ijl) b = uint8_t(rng());
    const AezKey key(ijl);
    const auto& blocks = key.blocks();
    const Block zero{};
    EXPECT_EQ(Of(key.I()), Of(ijl.data()));
    EXPECT_EQ(Of(key.J()), Of(ijl.data() + 16));
    EXPECT_EQ(Of(key.L()), Of(ijl.data() + 32));
    EXPECT_EQ(Of(blocks.aes4(3)), zero);  // AES4's fourth round key
    EXPECT_EQ(Of(blocks.l_multiple(8)), zero);
    EXPECT_EQ(Of(blocks.j_multiple(0)), zero);
    for (uint64_t k = 0; k < 8; ++k) {
      EXPECT_EQ(Of(blocks.l_multiple(k)), Times(key.L(), k)) << k;
      EXPECT_EQ(Of(blocks.j_multiple(k)), Times(key.J(), k)) << k;
    }
    for (uint64_t k = 0; k < kernels::kAezIPowers; ++k) {
      EXPECT_EQ(Of(blocks.i_powers[k]), Times(key.I(), uint64_t{1} << k)) << k;
    }
    // AES10's round keys: I, J, L, I, J, L, ...
    const Block ijl_blocks[3] = {Of(key.I()), Of(key.J()), Of(key.L())};
    for (size_t r = 0; r < kernels::kAezAes10Rounds; ++r) {
      EXPECT_EQ(Of(blocks.aes4(kernels::kAezAes10Key[r % 3])), ijl_blocks[r % 3]) << r;
    }
  }
}

}  // namespace
}  // namespace relaycell
