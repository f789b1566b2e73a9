#include "storage/sqlite_db.hpp"

#include <sqlite3.h>

#include "faceid/error.hpp"

namespace faceid {

void SqliteDb::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

SqliteDb::SqliteDb(const std::string& path, std::chrono::milliseconds busy_timeout)
    : path_(path), busy_timeout_(busy_timeout) {
  sqlite3* raw = nullptr;
  // NOMUTEX: the owner serialises calls, SQLite's own mutex would only add cost.
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);  // a handle is returned even on failure, and must be closed
  if (rc != SQLITE_OK) fail(rc);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
}

SqliteDb::~SqliteDb() = default;

void SqliteDb::exec(const std::string& sql) {
  const int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc);
}

std::int64_t SqliteDb::last_insert_id() const { return sqlite3_last_insert_rowid(db_.get()); }

int SqliteDb::changes() const { return sqlite3_changes(db_.get()); }

bool SqliteDb::in_transaction() const { return db_ && sqlite3_get_autocommit(db_.get()) == 0; }

void SqliteDb::fail(int rc) const {
  const std::string detail = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  const std::string gallery = "gallery " + path_;
  if (((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) && damage_.empty()) damage_ = detail;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(ErrorCode::kUnavailable, gallery + " is locked by another process (waited " +
                                               std::to_string(busy_timeout_.count()) + " ms): " + detail);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_FULL:
    case SQLITE_NOLFS:
    case SQLITE_NOMEM:
      throw Error(ErrorCode::kIo, gallery + ": " + detail);
    case SQLITE_CONSTRAINT:
      throw Error(ErrorCode::kConflict, gallery + ": " + detail);
    case SQLITE_TOOBIG:
      throw Error(ErrorCode::kBadRequest, gallery + ": " + detail);
    default:
      // SQLITE_NOTADB, SQLITE_CORRUPT, and SQL errors from a schema that is not ours.
      throw Error(ErrorCode::kCorruptStore, gallery + " is damaged or is not a FaceID gallery: " + detail);
  }
}

SqliteStatement::SqliteStatement(SqliteDb& db, const std::string& sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc);
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::check(int rc) {
  if (rc != SQLITE_OK) db_.fail(rc);
  return *this;
}

SqliteStatement& SqliteStatement::reset() {
  bound_ = 0;
  sqlite3_reset(stmt_);  // its result code repeats the last step's error, already reported
  return check(sqlite3_clear_bindings(stmt_));
}

SqliteStatement& SqliteStatement::bind_int(int index, std::int64_t value) {
  return check(sqlite3_bind_int64(stmt_, index, value));
}

SqliteStatement& SqliteStatement::bind_real(int index, double value) {
  return check(sqlite3_bind_double(stmt_, index, value));
}

SqliteStatement& SqliteStatement::bind_text(int index, const std::string& value) {
  return check(sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

SqliteStatement& SqliteStatement::bind_blob(int index, const std::vector<std::uint8_t>& value) {
  if (value.empty()) return check(sqlite3_bind_null(stmt_, index));
  return check(sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
}

SqliteStatement& SqliteStatement::bind(const std::vector<std::int64_t>& ids) {
  std::string array = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + std::to_string(ids[i]);
  return bind(array + "]");
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc);
}

void SqliteStatement::run() {
  while (step()) {
  }
}

bool SqliteStatement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t SqliteStatement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

double SqliteStatement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string SqliteStatement::text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

std::vector<std::uint8_t> SqliteStatement::blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  if (!data) return {};
  return std::vector<std::uint8_t>(data, data + sqlite3_column_bytes(stmt_, column));
}

SqliteTransaction::SqliteTransaction(SqliteDb& db, Kind kind) : db_(db) {
  db.exec(kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
}

SqliteTransaction::~SqliteTransaction() {
  // SQLite may already have rolled back on its own (e.g. after an I/O error).
  if (open_ && db_.in_transaction()) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace faceid
