#include "engine/dske/durable_db.h"

namespace relaycell {

bool SqliteExec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

sqlite3* OpenDurableDatabase(const std::filesystem::path& path, const char* schema,
                             bool secure_delete) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.string().c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  if (!SqliteExec(db, "PRAGMA journal_mode=WAL") || !SqliteExec(db, "PRAGMA synchronous=FULL") ||
      (secure_delete && !SqliteExec(db, "PRAGMA secure_delete=ON")) || !SqliteExec(db, schema)) {
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace relaycell
