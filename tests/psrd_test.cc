// PSRD pools: durable watermarks, replay and exhaustion, wiped pads, burnt ranges.
#include "engine/dske/psrd.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "engine/dske/psrd_link.h"

namespace relaycell::psrd {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

class PsrdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "psrd_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    // 5000-byte pools in 1000-byte blocks, so fragments cross block boundaries.
    ASSERT_EQ(InitPair(root_ / "alice", "alice", root_ / "hub", "hub", 5000, 1000), PsrdError::kOk);
    ASSERT_EQ(PsrdStore::Open(root_ / "alice", alice_), PsrdError::kOk);
    ASSERT_EQ(PsrdStore::Open(root_ / "hub", hub_), PsrdError::kOk);
  }
  void TearDown() override {
    alice_.reset();
    hub_.reset();
    std::filesystem::remove_all(root_);
  }
  Bytes FileBytes(const std::filesystem::path& dir, const std::string& pool) {
    std::ifstream in(PsrdStore::PoolPath(dir, pool), std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  uint64_t Watermark(PsrdStore& store, const std::string& pool) {
    PoolStatus status;
    EXPECT_EQ(store.Status(pool, status), PsrdError::kOk);
    return status.watermark;
  }

  std::filesystem::path root_;
  std::unique_ptr<PsrdStore> alice_, hub_;
  const std::string up_ = "alice.to.hub";
};

TEST_F(PsrdTest, BothSidesHoldTheSameRandomBytes) {
  const Bytes a = FileBytes(root_ / "alice", up_), h = FileBytes(root_ / "hub", up_);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(a, h);
  EXPECT_NE(a, FileBytes(root_ / "alice", "hub.to.alice"));
}

TEST_F(PsrdTest, AllocateAcceptReadAndWipeAcrossBlocks) {
  Allocation first, second;
  ASSERT_EQ(alice_->Allocate(up_, 600, first), PsrdError::kOk);
  ASSERT_EQ(alice_->Allocate(up_, 600, second), PsrdError::kOk);
  ASSERT_EQ(second.count, 2u);  // [600, 1200) crosses the block boundary at 1000
  EXPECT_EQ(second.fragments[0].block_id, 0u);
  EXPECT_EQ(second.fragments[0].offset, 600u);
  EXPECT_EQ(second.fragments[0].length, 400u);
  EXPECT_EQ(second.fragments[1].block_id, 1u);
  EXPECT_EQ(second.fragments[1].offset, 0u);
  EXPECT_EQ(second.fragments[1].length, 200u);
  const Bytes original = FileBytes(root_ / "alice", up_);

  Bytes sent(600), received(600);
  ASSERT_EQ(alice_->ReadAndWipe(up_, second.view(), sent), PsrdError::kOk);
  EXPECT_TRUE(std::equal(sent.begin(), sent.end(), original.begin() + 600));
  ASSERT_EQ(hub_->Accept(up_, second.view()), PsrdError::kOk);  // skips [0, 600): burnt
  ASSERT_EQ(hub_->ReadAndWipe(up_, second.view(), received), PsrdError::kOk);
  EXPECT_EQ(sent, received);
  // Used bytes (and the skipped gap, on the hub) are zero in the files now.
  const Bytes alice_after = FileBytes(root_ / "alice", up_),
              hub_after = FileBytes(root_ / "hub", up_);
  for (size_t i = 600; i < 1200; ++i) ASSERT_EQ(alice_after[i], 0) << i;
  for (size_t i = 0; i < 1200; ++i) ASSERT_EQ(hub_after[i], 0) << i;
  EXPECT_TRUE(std::equal(alice_after.begin() + 1200, alice_after.end(), original.begin() + 1200));
}

TEST_F(PsrdTest, WatermarksSurviveReopen) {
  Allocation a;
  ASSERT_EQ(alice_->Allocate(up_, 100, a), PsrdError::kOk);
  ASSERT_EQ(hub_->Accept(up_, a.view()), PsrdError::kOk);
  alice_.reset();
  hub_.reset();
  ASSERT_EQ(PsrdStore::Open(root_ / "alice", alice_), PsrdError::kOk);
  ASSERT_EQ(PsrdStore::Open(root_ / "hub", hub_), PsrdError::kOk);
  EXPECT_EQ(Watermark(*alice_, up_), 100u);
  EXPECT_EQ(Watermark(*hub_, up_), 100u);
  EXPECT_EQ(hub_->Accept(up_, a.view()), PsrdError::kReplay);  // still a replay after restart
  Allocation b;
  ASSERT_EQ(alice_->Allocate(up_, 10, b), PsrdError::kOk);
  EXPECT_EQ(b.fragments[0].offset, 100u);  // never hands out the same bytes again
}

TEST_F(PsrdTest, ReplayAndOverlapRefused) {
  Allocation a, b;
  ASSERT_EQ(alice_->Allocate(up_, 300, a), PsrdError::kOk);
  ASSERT_EQ(alice_->Allocate(up_, 300, b), PsrdError::kOk);
  ASSERT_EQ(hub_->Accept(up_, b.view()), PsrdError::kOk);
  EXPECT_EQ(hub_->Accept(up_, a.view()), PsrdError::kReplay);  // older than the watermark
  EXPECT_EQ(hub_->Accept(up_, b.view()), PsrdError::kReplay);
  const Fragment overlap[] = {{0, 550, 100}};  // straddles the watermark at 600
  EXPECT_EQ(hub_->Accept(up_, overlap), PsrdError::kReplay);
  EXPECT_EQ(Watermark(*hub_, up_), 600u);
}

TEST_F(PsrdTest, ExhaustionConsumesNothing) {
  Allocation a;
  ASSERT_EQ(alice_->Allocate(up_, 4000, a), PsrdError::kOk);
  EXPECT_EQ(alice_->Allocate(up_, 1001, a), PsrdError::kExhausted);
  EXPECT_EQ(Watermark(*alice_, up_), 4000u);
  EXPECT_EQ(alice_->Allocate(up_, 1000, a), PsrdError::kOk);
  EXPECT_EQ(alice_->Allocate(up_, 1, a), PsrdError::kExhausted);
  EXPECT_EQ(Watermark(*alice_, up_), 5000u);
}

TEST_F(PsrdTest, BadReferencesAndWrongSide) {
  const Fragment empty[] = {{0, 0, 0}};
  const Fragment beyond[] = {{5, 0, 10}};
  const Fragment past_block[] = {{0, 990, 20}};
  const Fragment gap[] = {{0, 0, 10}, {0, 20, 10}};
  const Fragment five[] = {{0, 0, 1}, {0, 1, 1}, {0, 2, 1}, {0, 3, 1}, {0, 4, 1}};
  for (auto refs : {std::span<const Fragment>(empty), std::span<const Fragment>(beyond),
                    std::span<const Fragment>(past_block), std::span<const Fragment>(gap),
                    std::span<const Fragment>(five), std::span<const Fragment>()}) {
    EXPECT_EQ(hub_->Accept(up_, refs), PsrdError::kBadReference);
  }
  EXPECT_EQ(Watermark(*hub_, up_), 0u);
  Allocation a;
  EXPECT_EQ(hub_->Allocate(up_, 10, a), PsrdError::kNotOwner);
  const Fragment ok[] = {{0, 0, 10}};
  EXPECT_EQ(alice_->Accept(up_, ok), PsrdError::kNotOwner);
  EXPECT_EQ(alice_->Allocate("nobody.to.hub", 10, a), PsrdError::kUnknownPool);
  EXPECT_EQ(alice_->Allocate("../etc", 10, a), PsrdError::kBadName);
  // Reading bytes that were never consumed is refused: consumption always comes first.
  Bytes out(10);
  EXPECT_EQ(hub_->ReadAndWipe(up_, ok, out), PsrdError::kBadReference);
}

TEST_F(PsrdTest, LinkRoundTripAndFailedTagBurnsTheRange) {
  const Bytes plaintext = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const Bytes header = {0xAA, 0xBB};
  Allocation pad;
  ASSERT_EQ(AllocateLinkPad(*alice_, up_, plaintext.size(), pad), PsrdError::kOk);
  Bytes ciphertext(plaintext.size());
  std::array<uint8_t, 16> tag;
  PsrdError psrd_error;
  ASSERT_EQ(SealLink(*alice_, up_, pad, header, plaintext, ciphertext, tag, psrd_error),
            LinkError::kOk);
  EXPECT_NE(ciphertext, plaintext);

  Bytes forged = ciphertext;
  forged[0] ^= 1;
  Bytes out(plaintext.size(), 0);
  EXPECT_EQ(OpenLink(*hub_, up_, pad.view(), header, forged, tag, out, psrd_error),
            LinkError::kBadTag);
  EXPECT_EQ(out, Bytes(plaintext.size(), 0));
  // The honest message arriving after the forgery cannot use the burnt pad.
  EXPECT_EQ(OpenLink(*hub_, up_, pad.view(), header, ciphertext, tag, out, psrd_error),
            LinkError::kPsrd);
  EXPECT_EQ(psrd_error, PsrdError::kReplay);

  Allocation pad2;
  ASSERT_EQ(AllocateLinkPad(*alice_, up_, plaintext.size(), pad2), PsrdError::kOk);
  ASSERT_EQ(SealLink(*alice_, up_, pad2, header, plaintext, ciphertext, tag, psrd_error),
            LinkError::kOk);
  ASSERT_EQ(OpenLink(*hub_, up_, pad2.view(), header, ciphertext, tag, out, psrd_error),
            LinkError::kOk);
  EXPECT_EQ(out, plaintext);
}

}  // namespace
}  // namespace relaycell::psrd
