// SQLite opened for durability, shared by everything that must survive a crash (PSRD
// watermarks, a hub's stored shares): WAL with synchronous=FULL, so a COMMIT returns only once
// the WAL is on stable storage.
#ifndef RELAYCELL_ENGINE_DSKE_DURABLE_DB_H_
#define RELAYCELL_ENGINE_DSKE_DURABLE_DB_H_

#include <sqlite3.h>

#include <filesystem>

namespace relaycell {

// Opens (creating if needed) the database at `path` and runs `schema`. With secure_delete,
// deleted rows are overwritten in the file, not just unlinked. nullptr on any failure.
sqlite3* OpenDurableDatabase(const std::filesystem::path& path, const char* schema,
                             bool secure_delete = false);

bool SqliteExec(sqlite3* db, const char* sql);

// A prepared statement, finalized on every path.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_DSKE_DURABLE_DB_H_
