// DSKE end to end over real relaycell circuits: A shares keys through 5 hubs (k = 3), each hub
// the last hop of a 1..3-hop aez circuit, and B rebuilds them. Hubs down, a lying hub, shares
// altered on a link, replays and PSRD exhaustion, each with the typed outcome it must give.
//
// The stores live on tmpfs when there is one (/dev/shm): every commit is an fsync, ~4 ms on
// this VM's disk, which would make 1000 keys take minutes. Durability across a crash is what
// dske_crash_test checks; `relaycell bench dske` measures on the real disk.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "circuit/dske/dske_client.h"
#include "circuit/dske/dske_hub.h"
#include "circuit/dske/dske_message.h"
#include "engine/dske/amd_check.h"
#include "engine/dske/psrd.h"

namespace relaycell::dske {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

constexpr size_t kHubs = 5;
constexpr unsigned kK = 3;
constexpr uint64_t kPoolBytes = 1 << 20;

// "H1".."H5" (built without operator+, which trips a GCC 12 -Wrestrict false positive).
std::string HubName(size_t i) {
  std::string name = "H";
  name += std::to_string(i + 1);
  return name;
}
std::string AlicePool(size_t i) {
  std::string name = "alice.to.";
  name += HubName(i);
  return name;
}

std::filesystem::path FastTempRoot() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

// Wraps a channel: lets a test alter or record the bytes on the link (after sealing, before
// the circuit; after the circuit, before opening), or answer with a recorded reply.
class LinkTap final : public HubChannel {
 public:
  explicit LinkTap(HubChannel& inner) : inner_(inner) {}
  std::string_view hub_name() const override { return inner_.hub_name(); }
  ChannelError RoundTrip(std::span<const uint8_t> message, std::span<uint8_t> reply,
                         size_t& reply_bytes) override {
    Bytes request(message.begin(), message.end());
    if (alter_request) alter_request(request);
    last_request = request;
    if (replay_reply) {
      std::copy(recorded_reply.begin(), recorded_reply.end(), reply.begin());
      reply_bytes = recorded_reply.size();
      return ChannelError::kOk;
    }
    const ChannelError e = inner_.RoundTrip(request, reply, reply_bytes);
    recorded_reply.assign(reply.begin(), reply.begin() + reply_bytes);
    if (alter_reply && reply_bytes > 0) alter_reply(reply.first(reply_bytes));
    return e;
  }

  std::function<void(Bytes&)> alter_request;
  std::function<void(std::span<uint8_t>)> alter_reply;
  bool replay_reply = false;
  Bytes last_request, recorded_reply;

 private:
  HubChannel& inner_;
};

class DskeE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (FastTempRoot() / "dske_e2e_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    alice_hubs_.clear();
    bob_hubs_.clear();
    taps_.clear();
    alice_channels_.clear();
    bob_channels_.clear();
    hubs_.clear();
    alice_.reset();
    bob_.reset();
    alice_store_.reset();
    bob_store_.reset();
    std::filesystem::remove_all(root_);
  }

  // Five hubs H1..H5; `small_hub` (1-based, 0: none) gets pools of `small_bytes` with both.
  void Build(size_t small_hub = 0, uint64_t small_bytes = 0) {
    for (size_t i = 0; i < kHubs; ++i) {
      const std::string hub = HubName(i);
      const uint64_t bytes = i + 1 == small_hub ? small_bytes : kPoolBytes;
      ASSERT_EQ(psrd::InitPair(root_ / "alice", "alice", root_ / hub, hub, bytes),
                psrd::PsrdError::kOk);
      ASSERT_EQ(psrd::InitPair(root_ / "bob", "bob", root_ / hub, hub, bytes),
                psrd::PsrdError::kOk);
    }
    ASSERT_EQ(psrd::PsrdStore::Open(root_ / "alice", alice_store_), psrd::PsrdError::kOk);
    ASSERT_EQ(psrd::PsrdStore::Open(root_ / "bob", bob_store_), psrd::PsrdError::kOk);
    alice_ = std::make_unique<DskeClient>("alice", *alice_store_);
    bob_ = std::make_unique<DskeClient>("bob", *bob_store_);
    for (size_t i = 0; i < kHubs; ++i) {
      const std::string hub = HubName(i);
      std::unique_ptr<DskeHub> h;
      ASSERT_EQ(DskeHub::Open(hub, root_ / hub, h), HubError::kOk);
      hubs_.push_back(std::move(h));
      // 1, 2 or 3 hops; the hub is always the last.
      alice_channels_.push_back(
          MakeChannel("alice", *hubs_.back(), int(i % 3) + 1, uint32_t(100 + 10 * i)));
      bob_channels_.push_back(
          MakeChannel("bob", *hubs_.back(), int((i + 1) % 3) + 1, uint32_t(500 + 10 * i)));
      ASSERT_NE(alice_channels_.back(), nullptr);
      ASSERT_NE(bob_channels_.back(), nullptr);
      alice_hubs_.push_back(alice_channels_.back().get());
      bob_hubs_.push_back(bob_channels_.back().get());
    }
  }

  std::unique_ptr<CircuitHubChannel> MakeChannel(const std::string& client, DskeHub& hub, int hops,
                                                 uint32_t circ_id) {
    std::vector<Bytes> seeds(size_t(hops), Bytes(32));
    for (Bytes& s : seeds) randombytes_buf(s.data(), s.size());
    std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
    std::unique_ptr<CircuitHubChannel> channel;
    EXPECT_EQ(CircuitHubChannel::Create(client, hub, circ_id, views, channel), SuiteError::kOk);
    return channel;
  }

  // Puts a tap on alice's (or bob's) link to hub i (0-based).
  LinkTap& Tap(std::vector<HubChannel*>& links, size_t i) {
    taps_.push_back(std::make_unique<LinkTap>(*links[i]));
    links[i] = taps_.back().get();
    return *taps_.back();
  }

  Bytes RandomKey(size_t bytes) {
    Bytes key(bytes);
    randombytes_buf(key.data(), key.size());
    return key;
  }

  uint64_t Watermark(psrd::PsrdStore& store, const std::string& pool) {
    psrd::PoolStatus status;
    EXPECT_EQ(store.Status(pool, status), psrd::PsrdError::kOk);
    return status.watermark;
  }

  ShareReport Share(const Bytes& key, KeyId& id) { return alice_->Share(key, alice_hubs_, kK, id); }
  ReceiveReport Receive(const KeyId& id, Bytes& out) {
    out.assign(amd::kMaxKeyBytes, 0xFF);
    ReceiveReport r = bob_->Receive(id, bob_hubs_, out);
    out.resize(r.key_bytes);
    return r;
  }

  std::filesystem::path root_;
  std::unique_ptr<psrd::PsrdStore> alice_store_, bob_store_;
  std::unique_ptr<DskeClient> alice_, bob_;
  std::vector<std::unique_ptr<DskeHub>> hubs_;
  std::vector<std::unique_ptr<CircuitHubChannel>> alice_channels_, bob_channels_;
  std::vector<std::unique_ptr<LinkTap>> taps_;
  std::vector<HubChannel*> alice_hubs_, bob_hubs_;
};

TEST_F(DskeE2eTest, ThousandKeysOfRandomLengthsArriveIntact) {
  Build();
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<size_t> length(amd::kMinKeyBytes, amd::kMaxKeyBytes);
  std::vector<size_t> order(kHubs);
  for (size_t i = 0; i < kHubs; ++i) order[i] = i;
  for (int n = 0; n < 1000; ++n) {
    const Bytes key = RandomKey(n == 0 ? 16 : n == 1 ? 256 : length(rng));
    KeyId id;
    const ShareReport sent = Share(key, id);
    ASSERT_EQ(sent.error, ClientError::kOk) << n << ": " << ClientErrorName(sent.error);
    ASSERT_EQ(sent.stored, kHubs);
    // B may list the hubs in any order: x travels in each DELIVER.
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i = 0; i < kHubs; ++i) bob_hubs_[i] = bob_channels_[order[i]].get();
    Bytes got;
    const ReceiveReport r = Receive(id, got);
    ASSERT_EQ(r.error, ClientError::kOk) << n << ": " << ClientErrorName(r.error);
    ASSERT_EQ(r.valid_shares, kHubs);
    ASSERT_EQ(got, key) << n;
  }
  // Every share was delivered, hence deleted.
  for (const auto& hub : hubs_) EXPECT_EQ(hub->StoredShares(), 0u) << hub->name();
}

TEST_F(DskeE2eTest, DeliveredSharesAreGoneAndAFetchAgainIsUnknownKey) {
  Build();
  const Bytes key = RandomKey(32);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  for (const auto& hub : hubs_) EXPECT_EQ(hub->StoredShares(), 1u);
  Bytes got;
  ASSERT_EQ(Receive(id, got).error, ClientError::kOk);
  const ReceiveReport again = Receive(id, got);
  EXPECT_EQ(again.error, ClientError::kTooFewShares);
  EXPECT_TRUE(got.empty());
  for (const HubStatus& h : again.hubs) {
    EXPECT_TRUE(h.refused);
    EXPECT_EQ(h.code, ErrorCode::kUnknownKey);
  }
}

// Every byte of a hub's database and its write-ahead log, to search for a share in them.
Bytes HubFileBytes(const std::filesystem::path& dir) {
  Bytes all;
  for (const char* suffix : {"", "-wal", "-journal"}) {
    std::FILE* f = std::fopen((DskeHub::SharesPath(dir).string() + suffix).c_str(), "rb");
    if (f == nullptr) continue;
    for (int c; (c = std::fgetc(f)) != EOF;) all.push_back(uint8_t(c));
    std::fclose(f);
  }
  return all;
}

bool Contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// A delivered share is gone from the hub's files, not only from its table: secure_delete and a
// checkpoint that empties the write-ahead log (issue #15). The shares are read back from each
// hub's database before the delivery, so the search is known to find them while they are held.
TEST_F(DskeE2eTest, DeliveredSharesLeaveNoBytesInTheHubsFiles) {
  Build();
  const Bytes key = RandomKey(32);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  std::vector<Bytes> shares;
  for (size_t i = 0; i < kHubs; ++i) {
    sqlite3* db = nullptr;
    const std::string path = DskeHub::SharesPath(root_ / HubName(i)).string();
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* select = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT share FROM shares", -1, &select, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
    const auto* blob = static_cast<const uint8_t*>(sqlite3_column_blob(select, 0));
    shares.emplace_back(blob, blob + sqlite3_column_bytes(select, 0));
    sqlite3_finalize(select);
    sqlite3_close(db);  // a reader left open would hold the checkpoint back
    ASSERT_GE(shares.back().size(), 32u);
    EXPECT_TRUE(Contains(HubFileBytes(root_ / HubName(i)), shares.back())) << HubName(i);
  }
  Bytes got;
  ASSERT_EQ(Receive(id, got).error, ClientError::kOk);
  ASSERT_EQ(got, key);
  for (size_t i = 0; i < kHubs; ++i) {
    EXPECT_EQ(hubs_[i]->StoredShares(), 0u);
    EXPECT_FALSE(Contains(HubFileBytes(root_ / HubName(i)), shares[i]))
        << HubName(i) << " keeps a delivered share's bytes in its database or log";
  }
}

TEST_F(DskeE2eTest, TwoHubsDownStillWorks) {
  Build();
  // Down while B fetches.
  const Bytes key = RandomKey(48);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  bob_channels_[0]->set_reachable(false);
  bob_channels_[3]->set_reachable(false);
  Bytes got;
  ReceiveReport r = Receive(id, got);
  ASSERT_EQ(r.error, ClientError::kOk);
  EXPECT_EQ(r.valid_shares, 3u);
  EXPECT_EQ(r.hubs[0].channel, ChannelError::kUnreachable);
  EXPECT_EQ(got, key);
  bob_channels_[0]->set_reachable(true);
  bob_channels_[3]->set_reachable(true);

  // Down while A shares: three shares are stored, and they are enough.
  alice_channels_[1]->set_reachable(false);
  alice_channels_[4]->set_reachable(false);
  const Bytes key2 = RandomKey(200);
  const ShareReport sent = Share(key2, id);
  ASSERT_EQ(sent.error, ClientError::kOk);
  EXPECT_EQ(sent.stored, 3u);
  EXPECT_EQ(sent.hubs[1].channel, ChannelError::kUnreachable);
  r = Receive(id, got);
  ASSERT_EQ(r.error, ClientError::kOk);
  EXPECT_EQ(r.valid_shares, 3u);
  EXPECT_EQ(r.hubs[1].code, ErrorCode::kUnknownKey);
  EXPECT_EQ(got, key2);
}

TEST_F(DskeE2eTest, ThreeHubsDownIsAClearError) {
  Build();
  const Bytes key = RandomKey(32);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  for (size_t i : {0, 2, 4}) bob_channels_[i]->set_reachable(false);
  Bytes got;
  const ReceiveReport r = Receive(id, got);
  EXPECT_EQ(r.error, ClientError::kTooFewShares);
  EXPECT_EQ(r.valid_shares, 2u);
  EXPECT_EQ(r.key_bytes, 0u);
  EXPECT_TRUE(got.empty());

  for (size_t i : {1, 2, 3}) alice_channels_[i]->set_reachable(false);
  EXPECT_EQ(Share(key, id).error, ClientError::kTooFewHubs);
}

// Flips one bit of hub `hub`'s stored share (0-based). The hub then DELIVERs the altered share
// under a valid MAC: only the check value can catch it.
void AlterStoredShare(const std::filesystem::path& hub_dir) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(DskeHub::SharesPath(hub_dir).c_str(), &db), SQLITE_OK);
  sqlite3_stmt* select = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT key_id, share FROM shares", -1, &select, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(select), SQLITE_ROW);
  Bytes key_id(static_cast<const uint8_t*>(sqlite3_column_blob(select, 0)),
               static_cast<const uint8_t*>(sqlite3_column_blob(select, 0)) +
                   sqlite3_column_bytes(select, 0));
  Bytes share(static_cast<const uint8_t*>(sqlite3_column_blob(select, 1)),
              static_cast<const uint8_t*>(sqlite3_column_blob(select, 1)) +
                  sqlite3_column_bytes(select, 1));
  sqlite3_finalize(select);
  share[3] ^= 0x10;
  sqlite3_stmt* update = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE shares SET share = ?1 WHERE key_id = ?2", -1, &update,
                               nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(update, 1, share.data(), int(share.size()), SQLITE_TRANSIENT);
  sqlite3_bind_blob(update, 2, key_id.data(), int(key_id.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(update), SQLITE_DONE);
  sqlite3_finalize(update);
  sqlite3_close(db);
}

TEST_F(DskeE2eTest, ALyingHubIsDetectedAndOutvoted) {
  Build();
  for (size_t liar = 0; liar < kHubs; ++liar) {
    const Bytes key = RandomKey(64 + liar);
    KeyId id;
    ASSERT_EQ(Share(key, id).error, ClientError::kOk);
    AlterStoredShare(root_ / HubName(liar));
    Bytes got;
    const ReceiveReport r = Receive(id, got);
    ASSERT_EQ(r.error, ClientError::kOk) << liar;
    EXPECT_EQ(r.valid_shares, kHubs);  // the liar's DELIVER passed its MAC: it was re-MACed
    EXPECT_EQ(got, key) << liar;
  }
  // With the liar among only three reachable hubs, no 3-subset checks: a clear error, no key.
  const Bytes key = RandomKey(32);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  AlterStoredShare(root_ / "H2");
  bob_channels_[3]->set_reachable(false);
  bob_channels_[4]->set_reachable(false);
  Bytes got;
  const ReceiveReport r = Receive(id, got);
  EXPECT_EQ(r.error, ClientError::kNoConsistentSubset);
  EXPECT_TRUE(got.empty());
}

TEST_F(DskeE2eTest, AShareAlteredOnALinkFailsItsMac) {
  Build();
  // A -> H2: one bit flipped in the key id, a ciphertext byte, the tag (all under the MAC).
  LinkTap& up = Tap(alice_hubs_, 1);
  const size_t header = ShareHeaderBytes(1);
  for (int where = 0; where < 3; ++where) {
    up.alter_request = [&](Bytes& m) {
      const size_t at = where == 0 ? 5 : where == 1 ? header + 7 : m.size() - 1;
      m[at] ^= 0x01;
    };
    const Bytes key = RandomKey(100);
    KeyId id;
    const ShareReport sent = Share(key, id);
    ASSERT_EQ(sent.error, ClientError::kOk);
    EXPECT_EQ(sent.stored, 4u);
    EXPECT_TRUE(sent.hubs[1].refused) << where;
    EXPECT_EQ(sent.hubs[1].code, ErrorCode::kBadTag) << where;
    EXPECT_EQ(hubs_[1]->StoredShares(), 0u);
    Bytes got;
    const ReceiveReport r = Receive(id, got);
    ASSERT_EQ(r.error, ClientError::kOk);
    EXPECT_EQ(r.valid_shares, 4u);
    EXPECT_EQ(got, key);
  }
  up.alter_request = nullptr;

  // H4 -> B: a bit flipped in the DELIVER's ciphertext; B's MAC check drops it.
  LinkTap& down = Tap(bob_hubs_, 3);
  down.alter_reply = [&](std::span<uint8_t> m) { m[header + 2] ^= 0x80; };
  const Bytes key = RandomKey(256);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  Bytes got;
  const ReceiveReport r = Receive(id, got);
  ASSERT_EQ(r.error, ClientError::kOk);
  EXPECT_EQ(r.valid_shares, 4u);
  EXPECT_EQ(r.hubs[3].seal, SealError::kBadTag);
  EXPECT_FALSE(r.hubs[3].ok);
  EXPECT_EQ(got, key);
}

TEST_F(DskeE2eTest, AReplayedMessageIsRefused) {
  Build();
  LinkTap& up = Tap(alice_hubs_, 0);
  LinkTap& down = Tap(bob_hubs_, 2);
  const Bytes key = RandomKey(32);
  KeyId id;
  ASSERT_EQ(Share(key, id).error, ClientError::kOk);
  Bytes got;
  ASSERT_EQ(Receive(id, got).error, ClientError::kOk);

  // The PUT again, bytes for bytes, on A's circuit: the hub refuses it as a replay.
  std::array<uint8_t, kMaxMessageBytes> reply;
  size_t reply_bytes = 0;
  ASSERT_EQ(alice_channels_[0]->RoundTrip(up.last_request, reply, reply_bytes), ChannelError::kOk);
  Message answer;
  ASSERT_EQ(Parse(std::span(reply).first(reply_bytes), answer), ParseError::kOk);
  EXPECT_EQ(answer.type, MessageType::kError);
  EXPECT_EQ(answer.error, ErrorCode::kReplay);
  EXPECT_EQ(hubs_[0]->StoredShares(), 0u);

  // The DELIVER again to B (for a second key, H3's old answer is replayed): B refuses it.
  const Bytes key2 = RandomKey(32);
  KeyId id2;
  ASSERT_EQ(Share(key2, id2).error, ClientError::kOk);
  Bytes old = down.recorded_reply;
  // Same key id as the new FETCH so that only the pad reference can give it away.
  std::copy(id2.begin(), id2.end(), old.begin() + 1);
  down.recorded_reply = old;
  down.replay_reply = true;
  const ReceiveReport r = Receive(id2, got);
  ASSERT_EQ(r.error, ClientError::kOk);
  EXPECT_EQ(r.valid_shares, 4u);
  EXPECT_EQ(r.hubs[2].seal, SealError::kPsrd);
  EXPECT_EQ(r.hubs[2].psrd, psrd::PsrdError::kReplay);
  EXPECT_EQ(got, key2);
}

TEST_F(DskeE2eTest, PsrdExhaustionIsAClearErrorAndNothingIsSent) {
  // alice.to.H3 (and H3.to.bob) hold 1040 bytes: three 256-byte keys (320 bytes of pad a
  // message) and 80 bytes, not four.
  Build(3, 1040);
  for (int n = 0; n < 3; ++n) {
    const Bytes key = RandomKey(256);
    KeyId id;
    ASSERT_EQ(Share(key, id).error, ClientError::kOk) << n;
  }
  std::vector<uint64_t> alice_marks, hub_marks;
  for (size_t i = 0; i < kHubs; ++i) {
    const std::string pool = AlicePool(i);
    alice_marks.push_back(Watermark(*alice_store_, pool));
    hub_marks.push_back(Watermark(hubs_[i]->store(), pool));
  }
  const Bytes key = RandomKey(256);
  KeyId id{};
  const ShareReport sent = Share(key, id);
  EXPECT_EQ(sent.error, ClientError::kExhausted);
  EXPECT_EQ(sent.stored, 0u);
  EXPECT_EQ(sent.hubs[2].psrd, psrd::PsrdError::kExhausted);
  for (size_t i = 0; i < kHubs; ++i) {
    const std::string pool = AlicePool(i);
    EXPECT_EQ(Watermark(*alice_store_, pool), alice_marks[i]) << pool;    // no pad consumed
    EXPECT_EQ(Watermark(hubs_[i]->store(), pool), hub_marks[i]) << pool;  // no PUT arrived
    EXPECT_EQ(hubs_[i]->StoredShares(), 3u);
  }
  // What is left (80 bytes) still carries a 16-byte key's share (48 bytes + 32 of MAC key).
  const Bytes small = RandomKey(16);
  ASSERT_EQ(Share(small, id).error, ClientError::kOk);
  EXPECT_EQ(Watermark(*alice_store_, "alice.to.H3"), 1040u);
  Bytes got;
  ASSERT_EQ(Receive(id, got).error, ClientError::kOk);
  EXPECT_EQ(got, small);
  EXPECT_EQ(Share(small, id).error, ClientError::kExhausted);
}

TEST_F(DskeE2eTest, AHubRunningOutTowardBAnswersExhaustedAndKeepsTheShare) {
  Build(2, 700);  // alice.to.H2 and H2.to.bob: 700 bytes each
  const Bytes first = RandomKey(256), second = RandomKey(16);
  KeyId first_id, second_id;
  ASSERT_EQ(Share(first, first_id).error, ClientError::kOk);    // 320 bytes of alice.to.H2
  ASSERT_EQ(Share(second, second_id).error, ClientError::kOk);  // 80 more
  Bytes got;
  ASSERT_EQ(Receive(first_id, got).error, ClientError::kOk);  // 320 of H2.to.bob
  EXPECT_EQ(got, first);
  // Burn H2.to.bob down to 50 bytes on the hub's side: too little for a 48-byte share's 80.
  psrd::Allocation burnt;
  ASSERT_EQ(hubs_[1]->store().Allocate("H2.to.bob", 700 - 320 - 50, burnt), psrd::PsrdError::kOk);
  const ReceiveReport r = Receive(second_id, got);
  ASSERT_EQ(r.error, ClientError::kOk);
  EXPECT_EQ(r.valid_shares, 4u);
  EXPECT_TRUE(r.hubs[1].refused);
  EXPECT_EQ(r.hubs[1].code, ErrorCode::kExhausted);
  EXPECT_EQ(hubs_[1]->StoredShares(), 1u);  // not delivered, so not deleted
  EXPECT_EQ(got, second);
}

TEST_F(DskeE2eTest, TheHubAnswersGarbageWithTypedErrors) {
  Build();
  std::array<uint8_t, kMaxMessageBytes> reply;
  DskeHub& hub = *hubs_[0];
  const Bytes garbage = {0x07, 1, 2, 3};
  HubResult r = hub.Handle("alice", garbage, reply);
  EXPECT_EQ(r.outcome, HubOutcome::kRefused);
  EXPECT_EQ(r.error, ErrorCode::kMalformed);
  Message m;
  ASSERT_EQ(Parse(std::span(reply).first(r.reply_bytes), m), ParseError::kOk);
  EXPECT_EQ(m.type, MessageType::kError);
  // A client the hub shares no pool with.
  Bytes put(kMaxMessageBytes);
  size_t written = 0;
  KeyId id{};
  const Bytes share(48, 1);
  ASSERT_TRUE(
      SealShare(*alice_store_, "alice.to.H1", MessageType::kPut, id, 1, 2, 2, share, put, written)
          .ok());
  put.resize(written);
  r = hub.Handle("mallory", put, reply);
  EXPECT_EQ(r.error, ErrorCode::kUnavailable);
  // A DELIVER sent to a hub is not a request it serves.
  put[0] = uint8_t(MessageType::kDeliver);
  r = hub.Handle("alice", put, reply);
  EXPECT_EQ(r.error, ErrorCode::kMalformed);
  EXPECT_EQ(hub.StoredShares(), 0u);
}

}  // namespace
}  // namespace relaycell::dske
