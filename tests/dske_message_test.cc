// The DSKE wire format (strict parsing, bounds) and a whole key exchange A -> 3 hubs -> B over
// the message layer (no circuits yet: the bytes a DSKE relay cell would carry).
#include "circuit/dske/dske_message.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "engine/dske/amd_check.h"

namespace relaycell::dske {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

Message SampleShare(const Bytes& ciphertext) {
  Message m;
  m.type = MessageType::kPut;
  for (size_t i = 0; i < kKeyIdBytes; ++i) m.key_id[i] = static_cast<uint8_t>(i);
  m.x = 2;
  m.k = 2;
  m.n = 3;
  m.pad.count = 2;
  m.pad.fragments[0] = {7, 1000, 20};
  m.pad.fragments[1] = {8, 0, static_cast<uint32_t>(ciphertext.size() + 12)};
  m.ciphertext = ciphertext;
  m.tag.fill(0x5A);
  return m;
}

TEST(DskeMessage, RoundTripsEveryType) {
  const Bytes ciphertext(64, 0xC3);
  Message put = SampleShare(ciphertext);
  Message fetch;
  fetch.type = MessageType::kFetch;
  fetch.key_id.fill(9);
  Message error;
  error.type = MessageType::kError;
  error.error = ErrorCode::kReplay;
  Message deliver = put;
  deliver.type = MessageType::kDeliver;
  for (const Message& m : {put, fetch, error, deliver}) {
    std::array<uint8_t, kMaxMessageBytes> wire;
    size_t written = 0;
    ASSERT_EQ(Serialize(m, wire, written), ParseError::kOk);
    Message parsed;
    ASSERT_EQ(Parse(std::span(wire.data(), written), parsed), ParseError::kOk);
    std::array<uint8_t, kMaxMessageBytes> again;
    size_t written_again = 0;
    ASSERT_EQ(Serialize(parsed, again, written_again), ParseError::kOk);
    EXPECT_EQ(Bytes(wire.begin(), wire.begin() + written),
              Bytes(again.begin(), again.begin() + written_again));
  }
  std::array<uint8_t, kMaxMessageBytes> wire;
  size_t written = 0;
  ASSERT_EQ(Serialize(put, wire, written), ParseError::kOk);
  EXPECT_EQ(written, ShareHeaderBytes(2) + 64 + 16);
  EXPECT_EQ(wire[0], 1);
  EXPECT_EQ(wire[20], 2);  // fragment_count
  // First fragment: block 7, offset 1000, length 20, big-endian.
  const Bytes fragment0 = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0x03, 0xE8, 0, 0, 0, 20};
  EXPECT_EQ(Bytes(wire.begin() + 21, wire.begin() + 37), fragment0);
}

TEST(DskeMessage, EveryTruncationAndExtensionIsRefused) {
  const Bytes ciphertext(100, 1);
  std::array<uint8_t, kMaxMessageBytes + 1> wire{};
  size_t written = 0;
  ASSERT_EQ(Serialize(SampleShare(ciphertext), wire, written), ParseError::kOk);
  Message m;
  for (size_t n = 0; n < written; ++n) {
    EXPECT_NE(Parse(std::span(wire.data(), n), m), ParseError::kOk) << n;
  }
  EXPECT_EQ(Parse(std::span(wire.data(), written + 1), m), ParseError::kTrailingBytes);
  EXPECT_EQ(Parse(std::span(wire.data(), kMaxMessageBytes + 1), m), ParseError::kTooLong);
  EXPECT_EQ(Parse({}, m), ParseError::kEmpty);
}

TEST(DskeMessage, FieldsOutOfRangeAreRefused) {
  const Bytes ciphertext(10, 1);
  std::array<uint8_t, kMaxMessageBytes> wire{};
  size_t written = 0;
  auto check = [&](auto mutate, ParseError expected) {
    ASSERT_EQ(Serialize(SampleShare(ciphertext), wire, written), ParseError::kOk);
    mutate(wire);
    Message m;
    EXPECT_EQ(Parse(std::span(wire.data(), written), m), expected);
  };
  check([](auto& w) { w[0] = 0; }, ParseError::kUnknownType);
  check([](auto& w) { w[0] = 5; }, ParseError::kUnknownType);
  check([](auto& w) { w[17] = 0; }, ParseError::kBadShareParameters);  // x = 0
  check([](auto& w) { w[17] = 4; }, ParseError::kBadShareParameters);  // x > n
  check([](auto& w) { w[18] = 1; }, ParseError::kBadShareParameters);  // k = 1
  check([](auto& w) { w[18] = 4; }, ParseError::kBadShareParameters);  // k > n
  check([](auto& w) { w[20] = 0; }, ParseError::kBadFragmentCount);
  check([](auto& w) { w[20] = 5; }, ParseError::kBadFragmentCount);
  check([](auto& w) { w[36] = 0; }, ParseError::kBadFragment);  // fragment 0 length 0
  check([](auto& w) { w[36] = 21; }, ParseError::kPadLengthMismatch);
  check(
      [](auto& w) {
        w[53] = 0;
        w[54] = 0;
      },
      ParseError::kBadCiphertextLength);
  check([](auto& w) { w[53] = 0xFF; }, ParseError::kBadCiphertextLength);
  const Bytes error = {4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 99};
  Message m;
  EXPECT_EQ(Parse(error, m), ParseError::kUnknownErrorCode);
  // The largest ciphertext fits exactly in one cell; one more byte does not serialize.
  const Bytes biggest(MaxCiphertextBytes(1), 0);
  Message big = SampleShare(biggest);
  big.pad.count = 1;
  big.pad.fragments[0] = {0, 0, static_cast<uint32_t>(biggest.size() + 32)};
  ASSERT_EQ(Serialize(big, wire, written), ParseError::kOk);
  EXPECT_EQ(written, kMaxMessageBytes);
  const Bytes too_big(MaxCiphertextBytes(1) + 1, 0);
  big.ciphertext = too_big;
  big.pad.fragments[0].length += 1;
  EXPECT_EQ(Serialize(big, wire, written), ParseError::kBadCiphertextLength);
}

// A whole exchange: A splits a key (k = 2 of n = 3) with its check value, PUTs share i to hub i
// under PSRD(A, Hi); hub i re-pads it as a DELIVER under PSRD(Hi, B); B opens, and recombines
// although hub 3 lies.
TEST(DskeMessage, KeyExchangeThroughThreeHubsWithOneLiar) {
  std::string pattern = (std::filesystem::temp_directory_path() / "dske_test_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path root = pattern;
  const char* hubs[] = {"h1", "h2", "h3"};
  for (const char* hub : hubs) {
    ASSERT_EQ(psrd::InitPair(root / "A", "A", root / hub, hub, 1 << 16, 4096),
              psrd::PsrdError::kOk);
    ASSERT_EQ(psrd::InitPair(root / "B", "B", root / hub, hub, 1 << 16, 4096),
              psrd::PsrdError::kOk);
  }
  std::unique_ptr<psrd::PsrdStore> a, b, h[3];
  ASSERT_EQ(psrd::PsrdStore::Open(root / "A", a), psrd::PsrdError::kOk);
  ASSERT_EQ(psrd::PsrdStore::Open(root / "B", b), psrd::PsrdError::kOk);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(psrd::PsrdStore::Open(root / hubs[i], h[i]), psrd::PsrdError::kOk);

  Bytes key(32);
  randombytes_buf(key.data(), key.size());
  KeyId key_id;
  randombytes_buf(key_id.data(), key_id.size());
  const size_t share_bytes = amd::EncodedBytes(key.size());
  std::vector<Bytes> shares(3, Bytes(share_bytes));
  std::vector<uint8_t*> pointers = {shares[0].data(), shares[1].data(), shares[2].data()};
  ASSERT_EQ(amd::SplitKey(key, 2, pointers), amd::AmdError::kOk);

  std::vector<Bytes> at_b(3, Bytes(share_bytes));
  for (int i = 0; i < 3; ++i) {
    const std::string hub = hubs[i];
    std::array<uint8_t, kMaxMessageBytes> put;
    size_t put_bytes = 0;
    ASSERT_TRUE(SealShare(*a, "A.to." + hub, MessageType::kPut, key_id, uint8_t(i + 1), 2, 3,
                          shares[i], put, put_bytes)
                    .ok());
    Message received;
    Bytes at_hub(share_bytes);
    size_t got = 0;
    ASSERT_TRUE(
        OpenShare(*h[i], "A.to." + hub, std::span(put.data(), put_bytes), received, at_hub, got)
            .ok());
    ASSERT_EQ(got, share_bytes);
    EXPECT_EQ(at_hub, shares[i]);
    // A replayed PUT is refused by the watermark.
    const SealStatus replay =
        OpenShare(*h[i], "A.to." + hub, std::span(put.data(), put_bytes), received, at_hub, got);
    EXPECT_EQ(replay.error, SealError::kPsrd);
    EXPECT_EQ(replay.psrd_error, psrd::PsrdError::kReplay);

    if (i == 2) at_hub[7] ^= 0x10;  // hub 3 lies to B
    std::array<uint8_t, kMaxMessageBytes> deliver;
    size_t deliver_bytes = 0;
    ASSERT_TRUE(SealShare(*h[i], hub + ".to.B", MessageType::kDeliver, key_id, received.x,
                          received.k, received.n, at_hub, deliver, deliver_bytes)
                    .ok());
    Message at_b_message;
    ASSERT_TRUE(OpenShare(*b, hub + ".to.B", std::span(deliver.data(), deliver_bytes), at_b_message,
                          at_b[i], got)
                    .ok());
    EXPECT_EQ(at_b_message.key_id, key_id);
  }
  std::vector<amd::ShareView> views;
  for (int i = 0; i < 3; ++i) views.push_back({uint8_t(i + 1), at_b[i]});
  Bytes reconstructed(key.size());
  ASSERT_EQ(amd::CombineKey(views, 2, reconstructed), amd::AmdError::kOk);
  EXPECT_EQ(reconstructed, key);
  // With only the honest hub 1 and the liar, no consistent subset exists: an error, not a key.
  const amd::ShareView two[] = {views[0], views[2]};
  EXPECT_EQ(amd::CombineKey(two, 2, reconstructed), amd::AmdError::kNoConsistentSubset);

  // A tampered DELIVER fails its MAC at B.
  std::array<uint8_t, kMaxMessageBytes> deliver;
  size_t deliver_bytes = 0;
  ASSERT_TRUE(SealShare(*h[0], "h1.to.B", MessageType::kDeliver, key_id, 1, 2, 3, shares[0],
                        deliver, deliver_bytes)
                  .ok());
  deliver[deliver_bytes - 20] ^= 1;
  Message m;
  size_t got = 0;
  EXPECT_EQ(
      OpenShare(*b, "h1.to.B", std::span(deliver.data(), deliver_bytes), m, at_b[0], got).error,
      SealError::kBadTag);
  a.reset();
  b.reset();
  for (auto& hub : h) hub.reset();
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace relaycell::dske
