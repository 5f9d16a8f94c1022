// OTP XOR on every Highway target against a byte loop: odd lengths, unaligned, in place, batches.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "tests/kernel_test_util.h"
#include "kernels/otp_xor.h"

namespace relaycell::kernels {
namespace {

constexpr size_t kLengths[] = {0,  1,  7,  8,  9,   15,  16,  17,   31,
                               33, 63, 64, 65, 127, 129, 509, 4096, 4103};

std::vector<uint8_t> RandomBytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void CheckXor() {
  std::mt19937_64 rng(5);
  for (size_t length : kLengths) {
    for (size_t misalign : {0, 1, 13}) {
      auto in = RandomBytes(rng, length + misalign);
      auto pad = RandomBytes(rng, length + misalign + 1);
      std::vector<uint8_t> out(length + 2, 0xEE);
      ASSERT_TRUE(OtpXor(std::span(in).subspan(misalign, length),
                         std::span(pad).subspan(misalign + 1, length),
                         std::span(out).subspan(1, length)));
      for (size_t i = 0; i < length; ++i) {
        ASSERT_EQ(out[1 + i], in[misalign + i] ^ pad[misalign + 1 + i]) << length << " @" << i;
      }
      EXPECT_EQ(out[0], 0xEE);  // no write outside the span
      EXPECT_EQ(out[length + 1], 0xEE);

      auto buffer = in;  // in place
      ASSERT_TRUE(OtpXor(std::span(buffer).subspan(misalign), std::span(pad).subspan(0, length),
                         std::span(buffer).subspan(misalign)));
      for (size_t i = 0; i < length; ++i)
        ASSERT_EQ(buffer[misalign + i], in[misalign + i] ^ pad[i]);
    }
  }
}

void CheckBatch() {
  std::mt19937_64 rng(6);
  std::vector<std::vector<uint8_t>> ins, pads, outs;
  for (size_t length : kLengths) {
    ins.push_back(RandomBytes(rng, length));
    pads.push_back(RandomBytes(rng, length));
    outs.emplace_back(length);
  }
  std::vector<XorJob> jobs;
  for (size_t i = 0; i < ins.size(); ++i) {
    jobs.push_back({ins[i].data(), pads[i].data(), outs[i].data(), ins[i].size()});
  }
  jobs.push_back({ins.back().data(), pads.back().data(), ins.back().data(), 0});  // empty job
  OtpXorBatch(jobs);
  for (size_t i = 0; i < ins.size(); ++i) {
    for (size_t b = 0; b < ins[i].size(); ++b) ASSERT_EQ(outs[i][b], ins[i][b] ^ pads[i][b]);
  }
}

TEST(OtpXor, MatchesByteLoopEveryPath) {
  ForEachPath(KernelFamily::kOtpXor, [](KernelPath) { CheckXor(); });
}
TEST(OtpXor, BatchEveryPath) {
  ForEachPath(KernelFamily::kOtpXor, [](KernelPath) { CheckBatch(); });
}
TEST(OtpXor, RawPathsAreRefused) {
  std::vector<uint8_t> in(64, 1), pad(64, 2), out(64, 7);
  const XorJob job{in.data(), pad.data(), out.data(), in.size()};
  EXPECT_FALSE(OtpXorBatchWithPath(KernelPath::Raw(RawKernel::kVaes512), {&job, 1}));
  EXPECT_EQ(out, std::vector<uint8_t>(64, 7));
}

TEST(OtpXor, XorTwiceRestores) {
  std::mt19937_64 rng(7);
  auto data = RandomBytes(rng, 1000), pad = RandomBytes(rng, 1000);
  const auto original = data;
  ASSERT_TRUE(OtpXor(data, pad, data));
  EXPECT_NE(data, original);
  ASSERT_TRUE(OtpXor(data, pad, data));
  EXPECT_EQ(data, original);
}

TEST(OtpXor, RejectsMismatchedLengths) {
  std::vector<uint8_t> a(10, 1), b(11, 2), c(10, 3);
  EXPECT_FALSE(OtpXor(a, b, c));
  EXPECT_FALSE(OtpXor(a, c, b));
  EXPECT_EQ(c, std::vector<uint8_t>(10, 3));
}

}  // namespace
}  // namespace relaycell::kernels
