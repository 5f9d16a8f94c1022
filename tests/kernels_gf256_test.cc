// GF(2^8) kernels: known products from FIPS-197, then every Highway target (and GFNI when the
// CPU has it) against a plain reference on random data, odd lengths, unaligned and in place.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "tests/kernel_test_util.h"
#include "kernels/gf256.h"

namespace relaycell::kernels {
namespace {

// Textbook shift-and-add multiply, branches and all: independent of the kernel's code.
uint8_t ReferenceMul(uint8_t a, uint8_t b) {
  unsigned product = 0;
  for (unsigned aa = a, bb = b; bb != 0; bb >>= 1) {
    if (bb & 1) product ^= aa;
    aa <<= 1;
    if (aa & 0x100) aa ^= 0x11B;
  }
  return static_cast<uint8_t>(product);
}

constexpr size_t kLengths[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 509, 4096, 4099};

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(Gf256, Fips197Products) {
  EXPECT_EQ(GfMul(0x57, 0x83), 0xC1);  // FIPS-197 §4.2
  EXPECT_EQ(GfMul(0x57, 0x13), 0xFE);  // FIPS-197 §4.2.1
  EXPECT_EQ(GfInverse(0x53), 0xCA);    // the classic worked inverse
  EXPECT_EQ(GfInverse(0), 0);
}

TEST(Gf256, ScalarMatchesReferenceOnAllPairs) {
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      ASSERT_EQ(GfMul(uint8_t(a), uint8_t(b)), ReferenceMul(uint8_t(a), uint8_t(b)))
          << a << "*" << b;
    }
    if (a != 0) {
      ASSERT_EQ(GfMul(uint8_t(a), GfInverse(uint8_t(a))), 1) << a;
    }
  }
}

void CheckMulAccumulate(KernelPath path) {
  std::mt19937_64 rng(1);
  for (size_t length : kLengths) {
    for (size_t misalign : {0, 1, 3}) {
      const uint8_t c = static_cast<uint8_t>(rng() | 2);
      auto in = RandomBytes(rng, length + misalign);
      auto inout = RandomBytes(rng, length + misalign);
      auto expected = inout;
      for (size_t i = misalign; i < length + misalign; ++i) expected[i] ^= ReferenceMul(c, in[i]);
      ASSERT_TRUE(GfMulAccumulate(c, std::span(in).subspan(misalign),
                                  std::span(inout).subspan(misalign), path));
      ASSERT_EQ(inout, expected) << "length " << length << " misalign " << misalign;

      // In place: x ^= c * x is (1 + c) * x.
      auto same = RandomBytes(rng, length);
      auto same_expected = same;
      for (auto& b : same_expected) b = ReferenceMul(c ^ 1, b);
      ASSERT_TRUE(GfMulAccumulate(c, same, same, path));
      ASSERT_EQ(same, same_expected) << "in place, length " << length;
    }
  }
}

void CheckMatrix(KernelPath path) {
  std::mt19937_64 rng(2);
  const std::pair<size_t, size_t> shapes[] = {{1, 1}, {3, 5},  {4, 2}, {2, 6},
                                              {7, 9}, {40, 3}, {5, 13}};
  for (auto [k, m] : shapes) {
    for (size_t length : kLengths) {
      const size_t misalign = length % 3;
      auto coefficients = RandomBytes(rng, k * m);
      std::vector<std::vector<uint8_t>> in(k), out(m);
      std::vector<const uint8_t*> in_rows;
      std::vector<uint8_t*> out_rows;
      for (auto& row : in) {
        row = RandomBytes(rng, length + misalign);
        in_rows.push_back(row.data() + misalign);
      }
      for (auto& row : out) {
        row = RandomBytes(rng, length + 1);  // garbage: must be overwritten, not accumulated
        out_rows.push_back(row.data() + 1);
      }
      ASSERT_TRUE(GfMatrixMultiply(coefficients, k, m, in_rows, out_rows, length, path));
      for (size_t r = 0; r < m; ++r) {
        for (size_t i = 0; i < length; ++i) {
          uint8_t want = 0;
          for (size_t j = 0; j < k; ++j)
            want ^= ReferenceMul(coefficients[r * k + j], in_rows[j][i]);
          ASSERT_EQ(out_rows[r][i], want)
              << "k " << k << " m " << m << " length " << length << " row " << r << " byte " << i;
        }
      }
      if (m == 1 || k == 3) {
        std::vector<uint8_t> dot(length);
        std::span<const uint8_t> row0(coefficients.data(), k);
        ASSERT_TRUE(GfDotProduct(row0, in_rows, dot, path));
        ASSERT_TRUE(std::equal(dot.begin(), dot.end(), out_rows[0])) << "dot, length " << length;
      }
    }
  }
}

TEST(Gf256, MulAccumulateEveryPath) {
  ForEachPath(KernelFamily::kGf256, [](KernelPath path) { CheckMulAccumulate(path); });
}

TEST(Gf256, MatrixAndDotEveryPath) {
  ForEachPath(KernelFamily::kGf256, [](KernelPath path) { CheckMatrix(path); });
}

TEST(Gf256, AutoPathMatchesReference) {
  CheckMulAccumulate(KernelPath());
  CheckMatrix(KernelPath());
}

TEST(Gf256, GfniPathsRunWhereTheCpuHasThem) {
  for (RawKernel raw : {RawKernel::kGfni256, RawKernel::kGfni512}) {
    EXPECT_EQ(PathRunnable(KernelFamily::kGf256, KernelPath::Raw(raw)), RawKernelUsable(raw));
  }
}

TEST(Gf256, PathsThisCpuCannotRunAreRefused) {
  const auto absent = UnrunnableRawPaths({RawKernel::kGfni256, RawKernel::kGfni512});
  if (absent.empty()) GTEST_SKIP() << "this CPU runs every GFNI path";
  for (KernelPath path : absent) {
    std::vector<uint8_t> in(32, 1), out(32, 7);
    EXPECT_FALSE(GfMulAccumulate(3, in, out, path)) << path.Name();
    EXPECT_EQ(out, std::vector<uint8_t>(32, 7));
  }
}

TEST(Gf256, PathsOfOtherFamiliesAreRefused) {
  std::vector<uint8_t> in(32, 1), out(32, 7);
  EXPECT_FALSE(GfMulAccumulate(3, in, out, KernelPath::Raw(RawKernel::kVaes256)));
  EXPECT_EQ(out, std::vector<uint8_t>(32, 7));
}

}  // namespace
}  // namespace relaycell::kernels
