// Pre-shared random data (PSRD) pools for DSKE, with a durable watermark per pool.
//
// A (client, hub) pair shares two pools, one allocated by each side. A pool is one file of
// random bytes cut into fixed-size blocks; a reference into it is a list of
// (block_id, offset, length) fragments. The side that owns a pool allocates from it in order;
// the other side accepts references in the same order. Either way, what has been used is one
// number per pool, the watermark, kept in SQLite (WAL, synchronous=FULL).
//
// Pad bytes are marked consumed and the transaction COMMITTED BEFORE they are read, so no crash
// can ever lead to a pad being used twice. A reference that starts below the watermark is a
// replay and is refused. Bytes that were read are overwritten with zeros in the pool file, so a
// later seizure of the disk does not reveal old pads.
//
// Layout of a party's store directory:
//   DIR/watermarks.sqlite            one row per pool: name, owned, size, block size, watermark
//   DIR/pools/NAME.psrd              the random bytes
#ifndef RELAYCELL_ENGINE_DSKE_PSRD_H_
#define RELAYCELL_ENGINE_DSKE_PSRD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace relaycell::psrd {

enum class PsrdError {
  kOk = 0,
  kIo,        // a pool file could not be read, written or created
  kDatabase,  // SQLite failed (the watermark is unchanged)
  kBadName,   // pool names are 1..64 of [A-Za-z0-9._-]
  kUnknownPool,
  kAlreadyExists,  // CreatePool on an existing name
  kNotOwner,       // Allocate on a pool the peer allocates from (or Accept on our own)
  kExhausted,      // not enough bytes left; nothing consumed
  kReplay,         // a reference starting below the watermark
  kBadReference,   // fragments not contiguous, out of range, empty, or too many
  kBadLength,      // a zero or oversized request, or an output buffer of the wrong size
};

const char* PsrdErrorName(PsrdError error);

struct Fragment {
  uint64_t block_id = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

// An allocation: at most kMaxFragments fragments (a request never spans more blocks than that;
// with the default 1 MiB blocks, one DSKE message never spans more than two).
inline constexpr size_t kMaxFragments = 4;
inline constexpr uint32_t kDefaultBlockBytes = 1u << 20;
inline constexpr size_t kMaxNameBytes = 64;

struct Allocation {
  std::array<Fragment, kMaxFragments> fragments{};
  size_t count = 0;
  std::span<const Fragment> view() const { return {fragments.data(), count}; }
  uint64_t total_bytes() const;
};

struct PoolStatus {
  std::string name;
  bool owned = false;  // true: this side allocates from it
  uint64_t size = 0;   // bytes in the pool
  uint32_t block_bytes = 0;
  uint64_t watermark = 0;  // bytes consumed (never decreases)
  uint64_t remaining() const { return size - watermark; }
};

bool ValidPoolName(std::string_view name);

// One party's pools. Thread-safe (one mutex; the hot cost is the SQLite commit anyway).
class PsrdStore {
 public:
  // Opens (creating if needed) the store at `dir`.
  static PsrdError Open(const std::filesystem::path& dir, std::unique_ptr<PsrdStore>& out);
  ~PsrdStore();
  PsrdStore(const PsrdStore&) = delete;
  PsrdStore& operator=(const PsrdStore&) = delete;

  // Registers a pool whose file DIR/pools/NAME.psrd already holds `size` bytes (written by
  // `relaycell psrd init`). `owned`: this side is the one that allocates from it.
  PsrdError CreatePool(std::string_view name, bool owned, uint64_t size,
                       uint32_t block_bytes = kDefaultBlockBytes);

  // Owner side: consumes the next `length` bytes (committed before this returns) and describes
  // them in `out`. Exhaustion leaves the watermark unchanged.
  PsrdError Allocate(std::string_view name, size_t length, Allocation& out);

  // Peer side: consumes the bytes a received reference names. The fragments must be contiguous
  // and start at or above the watermark (a gap is burnt: it can never be used later). Committed
  // before this returns; a reference that later fails its MAC stays consumed.
  PsrdError Accept(std::string_view name, std::span<const Fragment> fragments);

  // Reads the bytes of consumed fragments into `out` (exactly their total length) and
  // overwrites them with zeros in the pool file. Refuses fragments above the watermark: bytes are
  // only ever read after their consumption is durable.
  PsrdError ReadAndWipe(std::string_view name, std::span<const Fragment> fragments,
                        std::span<uint8_t> out);

  PsrdError Status(std::vector<PoolStatus>& out) const;
  PsrdError Status(std::string_view name, PoolStatus& out) const;

  const std::filesystem::path& directory() const { return dir_; }
  static std::filesystem::path PoolPath(const std::filesystem::path& dir, std::string_view name);

 private:
  PsrdStore(std::filesystem::path dir, sqlite3* db) : dir_(std::move(dir)), db_(db) {}
  PsrdError LoadLocked(std::string_view name, PoolStatus& out) const;
  PsrdError AdvanceLocked(std::string_view name, uint64_t from, uint64_t to);

  std::filesystem::path dir_;
  sqlite3* db_;
  mutable std::mutex mutex_;
};

// The pool that `from` allocates for messages to `to`: "FROM.to.TO". Party names are 1..28 of
// [A-Za-z0-9_-] (no dots, so a pool name splits one way only); empty string if invalid.
std::string PoolName(std::string_view from, std::string_view to);
bool ValidPartyName(std::string_view party);

// Creates both pools of a (client, hub) pair, in both parties' stores, from one CSPRNG draw
// (libsodium randombytes_buf): the client's store gets CLIENT.to.HUB (owned) and HUB.to.CLIENT,
// the hub's store the same bytes with ownership swapped. Refuses to overwrite existing pools.
PsrdError InitPair(const std::filesystem::path& client_dir, std::string_view client,
                   const std::filesystem::path& hub_dir, std::string_view hub,
                   uint64_t bytes_per_pool, uint32_t block_bytes = kDefaultBlockBytes);

// Fills `fragments` with the fragments covering [position, position + length) of a pool with
// `block_bytes`-byte blocks. False if more than kMaxFragments would be needed.
bool DescribeRange(uint64_t position, uint64_t length, uint32_t block_bytes, Allocation& out);

}  // namespace relaycell::psrd

#endif  // RELAYCELL_ENGINE_DSKE_PSRD_H_
