// No pad byte is ever used twice, whatever moment a DSKE party dies at.
//
// A child process (fork, no exec) runs A, five hubs and B over circuits, sharing and fetching
// keys in a loop; the parent kills it with SIGKILL after a random delay, again and again, and
// each new child restarts from the files alone (PSRD stores, share databases). Every party
// that seals a message records the pad range it will use in an append-only log, written and
// fsynced right AFTER the watermark commit and BEFORE the first byte is read (a PadObserver).
// The parent checks that no two recorded ranges of one pool overlap, that every recorded range
// is below the durable watermark, and that a last child, after all the kills, still shares and
// rebuilds keys.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "circuit/dske/dske_client.h"
#include "circuit/dske/dske_hub.h"
#include "engine/dske/amd_check.h"
#include "engine/dske/psrd.h"

namespace relaycell::dske {
namespace {

using Bytes = std::vector<uint8_t>;
const int kSodium = sodium_init();

constexpr size_t kHubs = 5;
constexpr unsigned kK = 3;
constexpr uint64_t kPoolBytes = 2 << 20;
constexpr int kKills = 24;

// One log record: fixed size, written with one write(2), so a kill leaves at most a short tail.
struct PadRecord {
  char pool[40];
  uint64_t begin;
  uint64_t end;
};
static_assert(sizeof(PadRecord) == 56);

std::string HubName(size_t i) {
  std::string name = "H";
  name += std::to_string(i + 1);
  return name;
}

class PadLog final : public PadObserver {
 public:
  explicit PadLog(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) {
    // A record a kill cut short was never fsynced, so its pad was never used: drop it, so
    // that the records after it stay aligned.
    const off_t size = fd_ >= 0 ? ::lseek(fd_, 0, SEEK_END) : 0;
    if (size > 0 && size % off_t(sizeof(PadRecord)) != 0 &&
        ::ftruncate(fd_, size - size % off_t(sizeof(PadRecord))) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~PadLog() override {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  void OnPadCommitted(std::string_view pool, uint64_t begin, uint64_t end) override {
    PadRecord record{};
    std::memcpy(record.pool, pool.data(), std::min(pool.size(), sizeof record.pool - 1));
    record.begin = begin;
    record.end = end;
    // Durable before the pad is used: if the write or fsync fails, stop before using it.
    if (::write(fd_, &record, sizeof record) != ssize_t(sizeof record) || ::fsync(fd_) != 0)
      _exit(10);
  }

 private:
  int fd_;
};

// The child: all parties from their files, then keys until killed (or `keys` of them).
[[noreturn]] void RunChild(const std::filesystem::path& root, int keys) {
  PadLog log(root / "pads.log");
  std::unique_ptr<psrd::PsrdStore> alice_store, bob_store;
  if (!log.ok() || psrd::PsrdStore::Open(root / "alice", alice_store) != psrd::PsrdError::kOk ||
      psrd::PsrdStore::Open(root / "bob", bob_store) != psrd::PsrdError::kOk) {
    _exit(3);
  }
  DskeClient alice("alice", *alice_store), bob("bob", *bob_store);
  alice.set_pad_observer(&log);
  std::vector<std::unique_ptr<DskeHub>> hubs;
  std::vector<std::unique_ptr<CircuitHubChannel>> channels;
  std::vector<HubChannel*> alice_hubs, bob_hubs;
  for (size_t i = 0; i < kHubs; ++i) {
    std::unique_ptr<DskeHub> hub;
    if (DskeHub::Open(HubName(i), root / HubName(i), hub) != HubError::kOk) _exit(4);
    hub->set_pad_observer(&log);
    for (const char* client : {"alice", "bob"}) {
      // Fresh circuits for every run: a restarted client builds new ones.
      std::vector<Bytes> seeds(i % 3 + 1, Bytes(32));
      for (Bytes& s : seeds) randombytes_buf(s.data(), s.size());
      std::vector<std::span<const uint8_t>> views(seeds.begin(), seeds.end());
      std::unique_ptr<CircuitHubChannel> channel;
      if (CircuitHubChannel::Create(client, *hub, uint32_t(10 + 10 * channels.size()), views,
                                    channel) != SuiteError::kOk) {
        _exit(5);
      }
      (client[0] == 'a' ? alice_hubs : bob_hubs).push_back(channel.get());
      channels.push_back(std::move(channel));
    }
    hubs.push_back(std::move(hub));
  }
  std::mt19937 rng(uint32_t(::getpid()) ^
                   uint32_t(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<size_t> length(amd::kMinKeyBytes, amd::kMaxKeyBytes);
  for (int n = 0; keys < 0 || n < keys; ++n) {
    Bytes key(length(rng)), got(amd::kMaxKeyBytes);
    randombytes_buf(key.data(), key.size());
    KeyId id;
    if (alice.Share(key, alice_hubs, kK, id).error != ClientError::kOk) _exit(6);
    const ReceiveReport r = bob.Receive(id, bob_hubs, got);
    if (r.error != ClientError::kOk || r.key_bytes != key.size() ||
        !std::equal(key.begin(), key.end(), got.begin())) {
      _exit(7);
    }
  }
  _exit(0);
}

std::filesystem::path FastTempRoot() {
  // SIGKILL keeps the page cache, so tmpfs shows the same crash behaviour as a disk, ~100x
  // faster (every commit is an fsync).
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

TEST(DskeCrash, NoPadByteIsUsedTwiceAcrossRandomKills) {
  std::string pattern = (FastTempRoot() / "dske_crash_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path root = pattern;
  for (size_t i = 0; i < kHubs; ++i) {
    ASSERT_EQ(psrd::InitPair(root / "alice", "alice", root / HubName(i), HubName(i), kPoolBytes),
              psrd::PsrdError::kOk);
    ASSERT_EQ(psrd::InitPair(root / "bob", "bob", root / HubName(i), HubName(i), kPoolBytes),
              psrd::PsrdError::kOk);
  }

  std::mt19937 rng(std::random_device{}());
  // Delays span "still opening the stores" to "dozens of keys in".
  std::uniform_int_distribution<int> delay_ms(1, 120);
  int killed = 0;
  for (int run = 0; run < kKills; ++run) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) RunChild(root, -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    // The child never stops by itself: anything but our SIGKILL is a failure it reported.
    ASSERT_TRUE(WIFSIGNALED(status)) << "run " << run << " exited with " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
    ++killed;
  }
  EXPECT_EQ(killed, kKills);

  // After every kill, a last child still shares and rebuilds keys from the same files.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) RunChild(root, 20);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  // The log: whole records only (a kill may cut the last one short: that pad was never used).
  std::vector<PadRecord> records;
  {
    const int fd = ::open((root / "pads.log").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    PadRecord r;
    while (::read(fd, &r, sizeof r) == ssize_t(sizeof r)) records.push_back(r);
    ::close(fd);
  }
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> by_pool;
  for (const PadRecord& r : records) {
    ASSERT_LT(r.begin, r.end);
    by_pool[std::string(r.pool, strnlen(r.pool, sizeof r.pool))].push_back({r.begin, r.end});
  }
  // Both directions of every link were used: alice.to.Hi (A's PUTs), Hi.to.bob (DELIVERs).
  EXPECT_EQ(by_pool.size(), 2 * kHubs);
  EXPECT_GE(records.size(), 2 * kHubs * 20);  // at least the last child's 20 keys
  for (auto& [pool, ranges] : by_pool) {
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i) {
      ASSERT_LE(ranges[i - 1].second, ranges[i].first)
          << pool << ": [" << ranges[i - 1].first << ", " << ranges[i - 1].second << ") and ["
          << ranges[i].first << ", " << ranges[i].second << ") overlap";
    }
    // Every recorded range was committed first: the allocator's durable watermark covers it.
    const bool from_alice = pool.rfind("alice.", 0) == 0;
    const std::filesystem::path owner =
        from_alice ? root / "alice" : root / pool.substr(0, pool.find('.'));
    std::unique_ptr<psrd::PsrdStore> store;
    ASSERT_EQ(psrd::PsrdStore::Open(owner, store), psrd::PsrdError::kOk);
    psrd::PoolStatus status_now;
    ASSERT_EQ(store->Status(pool, status_now), psrd::PsrdError::kOk);
    EXPECT_GE(status_now.watermark, ranges.back().second) << pool;
  }
  std::printf("%d kills, %zu pad ranges recorded over %zu pools, none overlapping\n", killed,
              records.size(), by_pool.size());
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace relaycell::dske
