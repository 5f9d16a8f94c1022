// POLYVAL: RFC 8452 Appendix A, then every Highway target against a bit-by-bit reference
// (multiply mod P, then divide by x 128 times) on random keys and messages.
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "tests/kernel_test_util.h"
#include "kernels/polyval.h"

namespace relaycell::kernels {
namespace {

// Reference field arithmetic on (lo, hi) words, bit 0 of lo = x^0.
struct Element {
  uint64_t lo = 0, hi = 0;
  bool operator==(const Element&) const = default;
};
constexpr Element kP{1, 0xC200000000000000ULL};  // P minus its x^128 term

Element TimesX(Element a) {  // a * x mod P
  const bool carry = a.hi >> 63;
  Element r{a.lo << 1, (a.hi << 1) | (a.lo >> 63)};
  if (carry) r = {r.lo ^ kP.lo, r.hi ^ kP.hi};
  return r;
}
Element DivX(Element a) {  // a / x mod P: add P first when a is odd (P's constant term is 1)
  const bool odd = a.lo & 1;
  if (odd) a = {a.lo ^ kP.lo, a.hi ^ kP.hi};
  Element r{(a.lo >> 1) | (a.hi << 63), a.hi >> 1};
  if (odd) r.hi |= uint64_t{1} << 63;  // the x^128 term of P, divided by x
  return r;
}
Element ReferenceDot(Element a, Element b) {
  Element product;
  for (int bit = 0; bit < 128; ++bit) {
    const bool set = bit < 64 ? (b.lo >> bit) & 1 : (b.hi >> (bit - 64)) & 1;
    if (set) product = {product.lo ^ a.lo, product.hi ^ a.hi};
    a = TimesX(a);
  }
  for (int i = 0; i < 128; ++i) product = DivX(product);
  return product;
}
Element Load(const uint8_t* p) {
  Element e;
  std::memcpy(&e.lo, p, 8);
  std::memcpy(&e.hi, p + 8, 8);
  return e;
}
std::vector<uint8_t> ReferencePolyval(const uint8_t* h, const uint8_t* message, size_t length) {
  const Element key = Load(h);
  Element state;
  for (size_t at = 0; at < length; at += 16) {
    uint8_t block[16] = {};
    std::memcpy(block, message + at, std::min<size_t>(16, length - at));
    const Element x = Load(block);
    state = ReferenceDot({state.lo ^ x.lo, state.hi ^ x.hi}, key);
  }
  std::vector<uint8_t> out(16);
  std::memcpy(out.data(), &state.lo, 8);
  std::memcpy(out.data() + 8, &state.hi, 8);
  return out;
}

void CheckRfc8452() {
  const auto h = Hex("25629347589242761d31f826ba4b757b");
  const auto message = Hex("4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362");
  const auto expected = Hex("f7a3b47b846119fae5b7866cf5e5b77e");
  uint8_t out[16];
  Polyval(std::span<const uint8_t, 16>(h.data(), 16), message, out);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 16), expected);
  EXPECT_EQ(ReferencePolyval(h.data(), message.data(), message.size()), expected);
}

TEST(Polyval, Rfc8452AppendixAEveryPath) {
  ForEachPath(KernelFamily::kPolyval, [](KernelPath) { CheckRfc8452(); });
}

TEST(Polyval, EmptyMessageIsZero) {
  const uint8_t h[16] = {1, 2, 3};
  uint8_t out[16];
  std::memset(out, 0xAA, sizeof out);
  Polyval(h, {}, out);
  EXPECT_EQ(std::vector<uint8_t>(out, out + 16), std::vector<uint8_t>(16, 0));
}

constexpr size_t kLengths[] = {0,   1,   15,  16,  17,  63,  64,   65,  127,
                               128, 129, 143, 144, 509, 512, 4096, 4097};

void CheckRandom() {
  std::mt19937_64 rng(3);
  for (size_t length : kLengths) {
    for (size_t misalign : {0, 5}) {
      std::vector<uint8_t> h(16), message(length + misalign);
      for (auto& b : h) b = uint8_t(rng());
      for (auto& b : message) b = uint8_t(rng());
      uint8_t out[16];
      Polyval(std::span<const uint8_t, 16>(h.data(), 16), std::span(message).subspan(misalign),
              out);
      ASSERT_EQ(std::vector<uint8_t>(out, out + 16),
                ReferencePolyval(h.data(), message.data() + misalign, length))
          << "length " << length << " misalign " << misalign;
    }
  }
}

TEST(Polyval, RandomEveryPath) {
  ForEachPath(KernelFamily::kPolyval, [](KernelPath) { CheckRandom(); });
}

void CheckBatch() {
  std::mt19937_64 rng(4);
  const size_t n = std::size(kLengths);
  std::vector<std::vector<uint8_t>> keys(n), messages(n), outs(n);
  std::vector<PolyvalJob> jobs;
  for (size_t i = 0; i < n; ++i) {
    keys[i].resize(16);
    messages[i].resize(kLengths[i]);
    outs[i].resize(16);
    for (auto& b : keys[i]) b = uint8_t(rng());
    for (auto& b : messages[i]) b = uint8_t(rng());
    jobs.push_back({keys[i].data(), messages[i].data(), kLengths[i], outs[i].data()});
  }
  PolyvalBatch(jobs);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(outs[i], ReferencePolyval(keys[i].data(), messages[i].data(), kLengths[i]))
        << "job " << i;
  }
}

TEST(Polyval, BatchWithDifferentKeysEveryPath) {
  ForEachPath(KernelFamily::kPolyval, [](KernelPath) { CheckBatch(); });
}

TEST(Polyval, VpclmulPathsRunWhereTheCpuHasThem) {
  for (RawKernel raw : {RawKernel::kVpclmul256, RawKernel::kVpclmul512}) {
    EXPECT_EQ(PathRunnable(KernelFamily::kPolyval, KernelPath::Raw(raw)), RawKernelUsable(raw));
  }
}

TEST(Polyval, PathsThisCpuCannotRunAreRefused) {
  const auto absent = UnrunnableRawPaths({RawKernel::kVpclmul256, RawKernel::kVpclmul512});
  if (absent.empty()) GTEST_SKIP() << "this CPU runs every VPCLMULQDQ path";
  const uint8_t h[16] = {1};
  uint8_t out[16] = {7};
  const PolyvalJob job{h, h, 16, out};
  for (KernelPath path : absent) EXPECT_FALSE(PolyvalBatchWithPath(path, {&job, 1})) << path.Name();
  EXPECT_EQ(out[0], 7);
}

}  // namespace
}  // namespace relaycell::kernels
