#include "engine/dske/psrd.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "engine/common/ct_check.h"
#include "engine/dske/durable_db.h"

namespace relaycell::psrd {
namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS pools ("
    "  name TEXT PRIMARY KEY,"
    "  owned INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  block_bytes INTEGER NOT NULL,"
    "  watermark INTEGER NOT NULL)";

// A file descriptor closed on every path.
class File {
 public:
  explicit File(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

bool PreadAll(int fd, uint8_t* data, size_t size, uint64_t position) {
  while (size > 0) {
    const ssize_t got = ::pread(fd, data, size, static_cast<off_t>(position));
    if (got <= 0) return false;
    data += got;
    size -= static_cast<size_t>(got);
    position += static_cast<uint64_t>(got);
  }
  return true;
}

bool ZeroRange(int fd, uint64_t position, uint64_t size) {
  static const uint8_t kZeros[4096] = {};
  while (size > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, sizeof kZeros));
    const ssize_t put = ::pwrite(fd, kZeros, chunk, static_cast<off_t>(position));
    if (put <= 0) return false;
    size -= static_cast<uint64_t>(put);
    position += static_cast<uint64_t>(put);
  }
  return true;
}

// Checks that `fragments` name one contiguous range inside a pool; returns [begin, end).
PsrdError ContiguousRange(std::span<const Fragment> fragments, const PoolStatus& pool,
                          uint64_t& begin, uint64_t& end) {
  if (fragments.empty() || fragments.size() > kMaxFragments) return PsrdError::kBadReference;
  const uint64_t blocks = (pool.size + pool.block_bytes - 1) / pool.block_bytes;
  for (size_t i = 0; i < fragments.size(); ++i) {
    const Fragment& f = fragments[i];
    if (f.length == 0 || f.block_id >= blocks || f.offset >= pool.block_bytes ||
        f.length > pool.block_bytes - f.offset) {
      return PsrdError::kBadReference;
    }
    const uint64_t start = f.block_id * pool.block_bytes + f.offset;  // < size + block: no overflow
    if (i == 0) {
      begin = start;
    } else if (start != end) {
      return PsrdError::kBadReference;
    }
    end = start + f.length;
    if (end > pool.size) return PsrdError::kBadReference;
  }
  return PsrdError::kOk;
}

}  // namespace

const char* PsrdErrorName(PsrdError error) {
  switch (error) {
    case PsrdError::kOk: return "ok";
    case PsrdError::kIo: return "pool file I/O failed";
    case PsrdError::kDatabase: return "watermark database failed";
    case PsrdError::kBadName: return "bad pool name";
    case PsrdError::kUnknownPool: return "unknown pool";
    case PsrdError::kAlreadyExists: return "pool already exists";
    case PsrdError::kNotOwner: return "wrong side of the pool";
    case PsrdError::kExhausted: return "pool exhausted";
    case PsrdError::kReplay: return "replayed reference (below the watermark)";
    case PsrdError::kBadReference: return "malformed reference";
    case PsrdError::kBadLength: return "bad length";
  }
  return "unknown error";
}

uint64_t Allocation::total_bytes() const {
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) total += fragments[i].length;
  return total;
}

bool ValidPoolName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool DescribeRange(uint64_t position, uint64_t length, uint32_t block_bytes, Allocation& out) {
  out.count = 0;
  if (block_bytes == 0) return false;
  while (length > 0) {
    if (out.count == kMaxFragments) return false;
    Fragment& f = out.fragments[out.count++];
    f.block_id = position / block_bytes;
    f.offset = static_cast<uint32_t>(position % block_bytes);
    f.length = static_cast<uint32_t>(std::min<uint64_t>(length, block_bytes - f.offset));
    position += f.length;
    length -= f.length;
  }
  return true;
}

std::filesystem::path PsrdStore::PoolPath(const std::filesystem::path& dir, std::string_view name) {
  return dir / "pools" / (std::string(name) + ".psrd");
}

PsrdError PsrdStore::Open(const std::filesystem::path& dir, std::unique_ptr<PsrdStore>& out) {
  std::error_code ec;
  std::filesystem::create_directories(dir / "pools", ec);
  if (ec) return PsrdError::kIo;
  // WAL + FULL: a COMMIT returns only once the WAL is on stable storage.
  sqlite3* db = OpenDurableDatabase(dir / "watermarks.sqlite", kSchema);
  if (db == nullptr) return PsrdError::kDatabase;
  out.reset(new PsrdStore(dir, db));
  return PsrdError::kOk;
}

PsrdStore::~PsrdStore() { sqlite3_close(db_); }

PsrdError PsrdStore::CreatePool(std::string_view name, bool owned, uint64_t size,
                                uint32_t block_bytes) {
  if (!ValidPoolName(name)) return PsrdError::kBadName;
  if (size == 0 || block_bytes == 0 || size > (uint64_t{1} << 62)) return PsrdError::kBadLength;
  struct stat st {};
  if (::stat(PoolPath(dir_, name).c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < size) {
    return PsrdError::kIo;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  SqliteStatement insert(db_,
                         "INSERT INTO pools (name, owned, size, block_bytes, watermark) "
                         "VALUES (?1, ?2, ?3, ?4, 0)");
  if (!insert) return PsrdError::kDatabase;
  sqlite3_bind_text(insert.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(insert.get(), 2, owned ? 1 : 0);
  sqlite3_bind_int64(insert.get(), 3, static_cast<sqlite3_int64>(size));
  sqlite3_bind_int64(insert.get(), 4, block_bytes);
  const int rc = sqlite3_step(insert.get());
  if (rc == SQLITE_CONSTRAINT) return PsrdError::kAlreadyExists;
  return rc == SQLITE_DONE ? PsrdError::kOk : PsrdError::kDatabase;
}

PsrdError PsrdStore::LoadLocked(std::string_view name, PoolStatus& out) const {
  if (!ValidPoolName(name)) return PsrdError::kBadName;
  SqliteStatement select(db_,
                         "SELECT owned, size, block_bytes, watermark FROM pools WHERE name = ?1");
  if (!select) return PsrdError::kDatabase;
  sqlite3_bind_text(select.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(select.get());
  if (rc == SQLITE_DONE) return PsrdError::kUnknownPool;
  if (rc != SQLITE_ROW) return PsrdError::kDatabase;
  out.name = std::string(name);
  out.owned = sqlite3_column_int(select.get(), 0) != 0;
  out.size = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 1));
  out.block_bytes = static_cast<uint32_t>(sqlite3_column_int64(select.get(), 2));
  out.watermark = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 3));
  if (out.block_bytes == 0 || out.watermark > out.size) return PsrdError::kDatabase;
  return PsrdError::kOk;
}

// Moves the watermark from `from` to `to` in one committed transaction. The compare on the old
// value makes two processes sharing a store unable to hand out the same range.
PsrdError PsrdStore::AdvanceLocked(std::string_view name, uint64_t from, uint64_t to) {
  if (!SqliteExec(db_, "BEGIN IMMEDIATE")) return PsrdError::kDatabase;
  SqliteStatement update(db_, "UPDATE pools SET watermark = ?1 WHERE name = ?2 AND watermark = ?3");
  bool ok = static_cast<bool>(update);
  if (ok) {
    sqlite3_bind_int64(update.get(), 1, static_cast<sqlite3_int64>(to));
    sqlite3_bind_text(update.get(), 2, name.data(), static_cast<int>(name.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(update.get(), 3, static_cast<sqlite3_int64>(from));
    ok = sqlite3_step(update.get()) == SQLITE_DONE && sqlite3_changes(db_) == 1;
  }
  if (!ok) {
    SqliteExec(db_, "ROLLBACK");
    return PsrdError::kDatabase;
  }
  if (!SqliteExec(db_, "COMMIT")) {
    SqliteExec(db_, "ROLLBACK");
    return PsrdError::kDatabase;
  }
  return PsrdError::kOk;
}

PsrdError PsrdStore::Allocate(std::string_view name, size_t length, Allocation& out) {
  out.count = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStatus pool;
  if (PsrdError e = LoadLocked(name, pool); e != PsrdError::kOk) return e;
  if (!pool.owned) return PsrdError::kNotOwner;
  if (length == 0) return PsrdError::kBadLength;
  if (length > pool.remaining()) return PsrdError::kExhausted;
  Allocation planned;
  if (!DescribeRange(pool.watermark, length, pool.block_bytes, planned))
    return PsrdError::kBadLength;
  if (PsrdError e = AdvanceLocked(name, pool.watermark, pool.watermark + length);
      e != PsrdError::kOk) {
    return e;
  }
  out = planned;
  return PsrdError::kOk;
}

PsrdError PsrdStore::Accept(std::string_view name, std::span<const Fragment> fragments) {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStatus pool;
  if (PsrdError e = LoadLocked(name, pool); e != PsrdError::kOk) return e;
  if (pool.owned) return PsrdError::kNotOwner;
  uint64_t begin = 0, end = 0;
  if (PsrdError e = ContiguousRange(fragments, pool, begin, end); e != PsrdError::kOk) return e;
  if (begin < pool.watermark) return PsrdError::kReplay;
  if (PsrdError e = AdvanceLocked(name, pool.watermark, end); e != PsrdError::kOk) return e;
  // A skipped gap can never be referenced again (it is below the watermark now): wipe it.
  if (begin > pool.watermark) {
    File file(PoolPath(dir_, name));
    if (!file.ok() || !ZeroRange(file.fd(), pool.watermark, begin - pool.watermark)) {
      return PsrdError::kIo;
    }
  }
  return PsrdError::kOk;
}

PsrdError PsrdStore::ReadAndWipe(std::string_view name, std::span<const Fragment> fragments,
                                 std::span<uint8_t> out) {
  std::lock_guard<std::mutex> lock(mutex_);
  PoolStatus pool;
  if (PsrdError e = LoadLocked(name, pool); e != PsrdError::kOk) return e;
  uint64_t begin = 0, end = 0;
  if (PsrdError e = ContiguousRange(fragments, pool, begin, end); e != PsrdError::kOk) return e;
  if (end > pool.watermark) return PsrdError::kBadReference;  // not durably consumed yet
  if (end - begin != out.size()) return PsrdError::kBadLength;
  File file(PoolPath(dir_, name));
  if (!file.ok()) return PsrdError::kIo;
  if (!PreadAll(file.fd(), out.data(), out.size(), begin)) return PsrdError::kIo;
  // Pad and MAC key bytes: secret from the moment they are read.
  RELAYCELL_CT_SECRET(out.data(), out.size());
  if (!ZeroRange(file.fd(), begin, end - begin)) return PsrdError::kIo;
  return PsrdError::kOk;
}

PsrdError PsrdStore::Status(std::string_view name, PoolStatus& out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return LoadLocked(name, out);
}

PsrdError PsrdStore::Status(std::vector<PoolStatus>& out) const {
  out.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  SqliteStatement select(
      db_, "SELECT name, owned, size, block_bytes, watermark FROM pools ORDER BY name");
  if (!select) return PsrdError::kDatabase;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    PoolStatus s;
    const unsigned char* text = sqlite3_column_text(select.get(), 0);
    s.name = text ? reinterpret_cast<const char*>(text) : "";
    s.owned = sqlite3_column_int(select.get(), 1) != 0;
    s.size = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 2));
    s.block_bytes = static_cast<uint32_t>(sqlite3_column_int64(select.get(), 3));
    s.watermark = static_cast<uint64_t>(sqlite3_column_int64(select.get(), 4));
    out.push_back(std::move(s));
  }
  return rc == SQLITE_DONE ? PsrdError::kOk : PsrdError::kDatabase;
}

}  // namespace relaycell::psrd

namespace relaycell::psrd {

bool ValidPartyName(std::string_view party) {
  return !party.empty() && party.size() <= 28 &&
         std::all_of(party.begin(), party.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

std::string PoolName(std::string_view from, std::string_view to) {
  if (!ValidPartyName(from) || !ValidPartyName(to) || from == to) return {};
  return std::string(from) + ".to." + std::string(to);
}

namespace {

// Writes `bytes` fresh random bytes to every path in `paths` (the same bytes to each).
PsrdError WriteSameRandom(std::span<const std::filesystem::path> paths, uint64_t bytes) {
  std::vector<int> fds;
  PsrdError result = PsrdError::kOk;
  for (const auto& path : paths) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      result = errno == EEXIST ? PsrdError::kAlreadyExists : PsrdError::kIo;
      break;
    }
    fds.push_back(fd);
  }
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> chunk(result == PsrdError::kOk ? kChunk : 0);
  for (uint64_t done = 0; result == PsrdError::kOk && done < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - done));
    randombytes_buf(chunk.data(), n);
    for (int fd : fds) {
      size_t put = 0;
      while (put < n) {
        const ssize_t w = ::write(fd, chunk.data() + put, n - put);
        if (w <= 0) break;
        put += static_cast<size_t>(w);
      }
      if (put != n) result = PsrdError::kIo;
    }
    done += n;
  }
  if (!chunk.empty()) sodium_memzero(chunk.data(), chunk.size());
  for (int fd : fds) {
    if (result == PsrdError::kOk && ::fsync(fd) != 0) result = PsrdError::kIo;
    ::close(fd);
  }
  if (result != PsrdError::kOk && result != PsrdError::kAlreadyExists) {
    for (size_t i = 0; i < fds.size(); ++i) ::unlink(paths[i].c_str());
  }
  return result;
}

}  // namespace

PsrdError InitPair(const std::filesystem::path& client_dir, std::string_view client,
                   const std::filesystem::path& hub_dir, std::string_view hub,
                   uint64_t bytes_per_pool, uint32_t block_bytes) {
  if (sodium_init() < 0) return PsrdError::kIo;
  const std::string up = PoolName(client, hub), down = PoolName(hub, client);
  if (up.empty() || down.empty()) return PsrdError::kBadName;
  if (bytes_per_pool == 0 || block_bytes == 0) return PsrdError::kBadLength;
  std::error_code ec;
  if (std::filesystem::equivalent(client_dir, hub_dir, ec)) return PsrdError::kBadName;
  std::unique_ptr<PsrdStore> client_store, hub_store;
  if (PsrdError e = PsrdStore::Open(client_dir, client_store); e != PsrdError::kOk) return e;
  if (PsrdError e = PsrdStore::Open(hub_dir, hub_store); e != PsrdError::kOk) return e;
  for (const std::string& name : {up, down}) {
    const std::filesystem::path paths[] = {PsrdStore::PoolPath(client_dir, name),
                                           PsrdStore::PoolPath(hub_dir, name)};
    if (PsrdError e = WriteSameRandom(paths, bytes_per_pool); e != PsrdError::kOk) return e;
  }
  if (PsrdError e = client_store->CreatePool(up, true, bytes_per_pool, block_bytes);
      e != PsrdError::kOk)
    return e;
  if (PsrdError e = client_store->CreatePool(down, false, bytes_per_pool, block_bytes);
      e != PsrdError::kOk)
    return e;
  if (PsrdError e = hub_store->CreatePool(up, false, bytes_per_pool, block_bytes);
      e != PsrdError::kOk)
    return e;
  return hub_store->CreatePool(down, true, bytes_per_pool, block_bytes);
}

}  // namespace relaycell::psrd
