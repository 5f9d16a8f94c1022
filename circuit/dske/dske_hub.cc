#include "circuit/dske/dske_hub.h"

#include <sodium.h>
#include <sqlite3.h>

#include <array>
#include <cstring>

#include "engine/dske/amd_check.h"
#include "engine/dske/durable_db.h"
#include "engine/dske/psrd_link.h"

namespace relaycell::dske {
namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS shares ("
    "  key_id BLOB PRIMARY KEY,"
    "  sender TEXT NOT NULL,"
    "  x INTEGER NOT NULL,"
    "  k INTEGER NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  share BLOB NOT NULL)";

// The largest share a hub keeps: a 256-byte key's share (288 bytes).
constexpr size_t kMaxShareBytes = amd::kMaxEncodedBytes;

// A share in memory, wiped on every path out.
struct ShareBuffer {
  std::array<uint8_t, MaxCiphertextBytes(1)> bytes;
  size_t size = 0;
  ~ShareBuffer() { sodium_memzero(bytes.data(), bytes.size()); }
  std::span<const uint8_t> view() const { return std::span(bytes).first(size); }
};

HubResult Refuse(const KeyId& key_id, ErrorCode code, std::span<uint8_t> reply) {
  Message error;
  error.type = MessageType::kError;
  error.key_id = key_id;
  error.error = code;
  HubResult result;
  result.outcome = HubOutcome::kRefused;
  result.error = code;
  size_t written = 0;
  if (Serialize(error, reply, written) == ParseError::kOk) result.reply_bytes = written;
  return result;
}

ErrorCode CodeForPsrd(psrd::PsrdError error) {
  switch (error) {
    case psrd::PsrdError::kReplay: return ErrorCode::kReplay;
    case psrd::PsrdError::kExhausted: return ErrorCode::kExhausted;
    case psrd::PsrdError::kBadReference: return ErrorCode::kMalformed;
    default: return ErrorCode::kUnavailable;
  }
}

}  // namespace

SealStatus SealShareObserved(psrd::PsrdStore& store, std::string_view pool, MessageType type,
                             const KeyId& key_id, uint8_t x, uint8_t k, uint8_t n,
                             std::span<const uint8_t> share, std::span<uint8_t> out,
                             size_t& written, PadObserver* observer) {
  if (observer == nullptr)
    return SealShare(store, pool, type, key_id, x, k, n, share, out, written);
  // SealShare's steps, with the observer between the pad's commit and its first read.
  SealStatus status;
  written = 0;
  Message m;
  m.type = type;
  m.key_id = key_id;
  m.x = x;
  m.k = k;
  m.n = n;
  const bool share_type = type == MessageType::kPut || type == MessageType::kDeliver;
  if (!share_type || share.empty() || share.size() > MaxCiphertextBytes(psrd::kMaxFragments) ||
      k < 2 || n < k || x < 1 || x > n || out.size() < kMaxMessageBytes) {
    status.error = SealError::kBadArguments;
    return status;
  }
  psrd::PoolStatus before;
  status.psrd_error = store.Status(pool, before);
  if (status.psrd_error == psrd::PsrdError::kOk) {
    status.psrd_error = psrd::AllocateLinkPad(store, pool, share.size(), m.pad);
  }
  if (status.psrd_error != psrd::PsrdError::kOk) {
    status.error = SealError::kPsrd;
    return status;
  }
  // Fragments are contiguous (Allocate hands out one range), so the first one gives the start.
  const psrd::Fragment& first = m.pad.fragments[0];
  const uint64_t begin = first.block_id * before.block_bytes + first.offset;
  observer->OnPadCommitted(pool, begin, begin + m.pad.total_bytes());
  const size_t header_bytes = ShareHeaderBytes(m.pad.count);
  const std::span<uint8_t> ciphertext = out.subspan(header_bytes, share.size());
  m.ciphertext = ciphertext;
  if (WriteShareHeader(m, out) != header_bytes) {
    status.error = SealError::kBadArguments;
    return status;
  }
  const psrd::LinkError link = psrd::SealLink(store, pool, m.pad, out.first(header_bytes), share,
                                              ciphertext, m.tag, status.psrd_error);
  if (link != psrd::LinkError::kOk) {
    status.error = link == psrd::LinkError::kPsrd ? SealError::kPsrd : SealError::kBadArguments;
    return status;
  }
  std::memcpy(out.data() + header_bytes + share.size(), m.tag.data(), m.tag.size());
  written = header_bytes + share.size() + m.tag.size();
  return status;
}

const char* HubErrorName(HubError error) {
  switch (error) {
    case HubError::kOk: return "ok";
    case HubError::kBadName: return "bad hub name";
    case HubError::kStore: return "PSRD store could not be opened";
    case HubError::kDatabase: return "share database failed";
  }
  return "unknown error";
}

std::filesystem::path DskeHub::SharesPath(const std::filesystem::path& dir) {
  return dir / "shares.sqlite";
}

HubError DskeHub::Open(std::string_view name, const std::filesystem::path& dir,
                       std::unique_ptr<DskeHub>& out) {
  out.reset();
  if (!psrd::ValidPartyName(name)) return HubError::kBadName;
  if (sodium_init() < 0) return HubError::kStore;
  std::unique_ptr<psrd::PsrdStore> store;
  if (psrd::PsrdStore::Open(dir, store) != psrd::PsrdError::kOk) return HubError::kStore;
  // FULL: a stored PUT survives a power cut. secure_delete: a delivered share's bytes are
  // overwritten in the database file, not just unlinked from the b-tree.
  sqlite3* db = OpenDurableDatabase(SharesPath(dir), kSchema, /*secure_delete=*/true);
  if (db == nullptr) return HubError::kDatabase;
  out.reset(new DskeHub(std::string(name), std::move(store), db));
  return HubError::kOk;
}

DskeHub::~DskeHub() { sqlite3_close(db_); }

size_t DskeHub::StoredShares() const {
  SqliteStatement count(db_, "SELECT COUNT(*) FROM shares");
  if (!count || sqlite3_step(count.get()) != SQLITE_ROW) return 0;
  return static_cast<size_t>(sqlite3_column_int64(count.get(), 0));
}

HubResult DskeHub::Handle(std::string_view client, std::span<const uint8_t> message,
                          std::span<uint8_t> reply) {
  const KeyId no_key{};
  if (reply.size() < kMaxMessageBytes) return HubResult{};  // a caller bug: nothing to answer in
  if (!psrd::ValidPartyName(client) || client == name_) {
    return Refuse(no_key, ErrorCode::kUnavailable, reply);
  }
  Message parsed;
  if (Parse(message, parsed) != ParseError::kOk)
    return Refuse(no_key, ErrorCode::kMalformed, reply);
  switch (parsed.type) {
    case MessageType::kPut: return OnPut(client, message, reply);
    case MessageType::kFetch: return OnFetch(client, parsed.key_id, reply);
    default: return Refuse(parsed.key_id, ErrorCode::kMalformed, reply);
  }
}

HubResult DskeHub::OnPut(std::string_view client, std::span<const uint8_t> message,
                         std::span<uint8_t> reply) {
  const std::string pool = psrd::PoolName(client, name_);
  Message parsed;
  ShareBuffer share;
  const SealStatus opened = OpenShare(*store_, pool, message, parsed, share.bytes, share.size);
  if (!opened.ok()) {
    switch (opened.error) {
      case SealError::kBadTag: return Refuse(parsed.key_id, ErrorCode::kBadTag, reply);
      case SealError::kPsrd: return Refuse(parsed.key_id, CodeForPsrd(opened.psrd_error), reply);
      default: return Refuse(parsed.key_id, ErrorCode::kMalformed, reply);
    }
  }
  // A share of a valid key is 48..288 bytes; anything else is no share of ours to keep.
  if (share.size < amd::EncodedBytes(amd::kMinKeyBytes) || share.size > kMaxShareBytes) {
    return Refuse(parsed.key_id, ErrorCode::kMalformed, reply);
  }
  SqliteStatement insert(db_,
                         "INSERT INTO shares (key_id, sender, x, k, n, share) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!insert) return Refuse(parsed.key_id, ErrorCode::kUnavailable, reply);
  sqlite3_bind_blob(insert.get(), 1, parsed.key_id.data(), int(parsed.key_id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(insert.get(), 2, client.data(), int(client.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int(insert.get(), 3, parsed.x);
  sqlite3_bind_int(insert.get(), 4, parsed.k);
  sqlite3_bind_int(insert.get(), 5, parsed.n);
  // SQLITE_STATIC: SQLite copies the value into its page before step returns; no copy to wipe.
  sqlite3_bind_blob(insert.get(), 6, share.bytes.data(), int(share.size), SQLITE_STATIC);
  // A key id already held (another PUT's) is refused: the first share stays.
  if (sqlite3_step(insert.get()) != SQLITE_DONE) {
    return Refuse(parsed.key_id, ErrorCode::kUnavailable, reply);
  }
  HubResult result;
  result.outcome = HubOutcome::kStored;
  return result;
}

HubResult DskeHub::OnFetch(std::string_view client, const KeyId& key_id, std::span<uint8_t> reply) {
  ShareBuffer share;
  uint8_t x = 0, k = 0, n = 0;
  {
    SqliteStatement select(db_, "SELECT x, k, n, share FROM shares WHERE key_id = ?1");
    if (!select) return Refuse(key_id, ErrorCode::kUnavailable, reply);
    sqlite3_bind_blob(select.get(), 1, key_id.data(), int(key_id.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(select.get());
    if (rc == SQLITE_DONE) return Refuse(key_id, ErrorCode::kUnknownKey, reply);
    if (rc != SQLITE_ROW) return Refuse(key_id, ErrorCode::kUnavailable, reply);
    x = uint8_t(sqlite3_column_int(select.get(), 0));
    k = uint8_t(sqlite3_column_int(select.get(), 1));
    n = uint8_t(sqlite3_column_int(select.get(), 2));
    const int bytes = sqlite3_column_bytes(select.get(), 3);
    const void* blob = sqlite3_column_blob(select.get(), 3);
    if (blob == nullptr || bytes <= 0 || size_t(bytes) > kMaxShareBytes) {
      return Refuse(key_id, ErrorCode::kUnavailable, reply);
    }
    share.size = size_t(bytes);
    std::memcpy(share.bytes.data(), blob, share.size);
  }
  const std::string pool = psrd::PoolName(name_, client);
  size_t written = 0;
  const SealStatus sealed = SealShareObserved(*store_, pool, MessageType::kDeliver, key_id, x, k, n,
                                              share.view(), reply, written, observer_);
  if (!sealed.ok()) {
    sodium_memzero(reply.data(), reply.size());
    return Refuse(
        key_id,
        sealed.error == SealError::kPsrd ? CodeForPsrd(sealed.psrd_error) : ErrorCode::kUnavailable,
        reply);
  }
  // Delivered: forget the share. If this fails the share stays and a later FETCH delivers it
  // again under a fresh pad, which gives B nothing new.
  // secure_delete zeroes the share's bytes in the page, but the write-ahead log still holds
  // the page as it was written at PUT: a TRUNCATE checkpoint copies the zeroed page into the
  // database and empties the log, so no file keeps the share.
  SqliteStatement remove(db_, "DELETE FROM shares WHERE key_id = ?1");
  if (remove) {
    sqlite3_bind_blob(remove.get(), 1, key_id.data(), int(key_id.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(remove.get()) == SQLITE_DONE) {
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    }
  }
  HubResult result;
  result.outcome = HubOutcome::kDelivered;
  result.reply_bytes = written;
  return result;
}

HubCellStatus DskeHub::HandleCell(std::string_view client, const CellResult& delivered,
                                  RelayCircuit& circuit, CellBytes cell, HubResult* result) {
  if (delivered.outcome != CellOutcome::kDelivered ||
      delivered.header.command != RelayCommand::kDske || delivered.header.stream_id != 0) {
    return HubCellStatus::kNotDske;
  }
  // `delivered.data` points into `cell`, which the reply overwrites: handle from a copy.
  std::array<uint8_t, kMaxMessageBytes> request;
  const size_t request_bytes = std::min(delivered.data.size(), request.size());
  std::memcpy(request.data(), delivered.data.data(), request_bytes);
  std::array<uint8_t, kMaxMessageBytes> reply;
  const HubResult handled = Handle(client, std::span(request).first(request_bytes), reply);
  sodium_memzero(request.data(), request.size());
  if (result != nullptr) *result = handled;
  if (handled.reply_bytes == 0) return HubCellStatus::kNoReply;
  const RelayHeader header{RelayCommand::kDske, 0, uint16_t(handled.reply_bytes)};
  const OriginateError sent =
      circuit.Originate(header, std::span(reply).first(handled.reply_bytes), cell);
  return sent == OriginateError::kOk ? HubCellStatus::kReply : HubCellStatus::kSendFailed;
}

}  // namespace relaycell::dske
