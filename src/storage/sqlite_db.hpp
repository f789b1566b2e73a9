#pragma once
// Small RAII wrappers over the SQLite C API. Every failure becomes a faceid::Error naming
// the database file:
//   busy/locked                      -> kUnavailable ("... is locked by another process")
//   not a database, corrupt, schema  -> kCorruptStore
//   cannot open, I/O, read-only      -> kIo
//   constraint violated              -> kConflict
// None of these classes lock: the owner serialises access to one connection.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace faceid {

class SqliteDb {
 public:
  // Opens (creating when missing) the database at `path` for reading and writing.
  // Waits up to `busy_timeout` for other connections' locks before failing.
  SqliteDb(const std::string& path, std::chrono::milliseconds busy_timeout);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that return no rows.
  void exec(const std::string& sql);
  std::int64_t last_insert_id() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const;
  bool in_transaction() const;

  const std::string& path() const { return path_; }
  sqlite3* handle() const { return db_.get(); }
  // Throws the Error for result code `rc` (see the table above).
  [[noreturn]] void fail(int rc) const;
  // SQLite's message for the first damaged page this connection met, "" while none.
  const std::string& damage() const { return damage_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  std::string path_;
  std::chrono::milliseconds busy_timeout_;
  mutable std::string damage_;  // set by fail(): failing is what finds damage
  std::unique_ptr<sqlite3, Closer> db_;
};

class SqliteStatement {
 public:
  SqliteStatement(SqliteDb& db, const std::string& sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Makes the statement ready to run again with new parameters.
  SqliteStatement& reset();
  // Parameters are numbered from 1, as in SQL.
  SqliteStatement& bind_int(int index, std::int64_t value);
  SqliteStatement& bind_real(int index, double value);
  SqliteStatement& bind_text(int index, const std::string& value);
  // An empty vector binds NULL.
  SqliteStatement& bind_blob(int index, const std::vector<std::uint8_t>& value);
  // The same, for the next parameter: the first bind() after construction or reset() binds
  // parameter 1, the next 2, ... ("$N" parameters are numbered in order of first use).
  SqliteStatement& bind(std::int64_t value) { return bind_int(++bound_, value); }
  SqliteStatement& bind(double value) { return bind_real(++bound_, value); }
  SqliteStatement& bind(const std::string& value) { return bind_text(++bound_, value); }
  SqliteStatement& bind(const std::vector<std::uint8_t>& value) { return bind_blob(++bound_, value); }
  // A JSON array ("[1,2,3]"), which json_each() reads as a table of ids.
  SqliteStatement& bind(const std::vector<std::int64_t>& ids);

  // Advances to the next row: true while there is one.
  bool step();
  // Steps to the end, for statements that return no rows.
  void run();

  // Columns are numbered from 0, as in the SELECT list.
  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::string text(int column) const;
  std::vector<std::uint8_t> blob(int column) const;

 private:
  SqliteStatement& check(int rc);
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
  int bound_ = 0;  // parameters bind() has bound
};

// BEGIN ... COMMIT that rolls back unless commit() was reached, exceptions included.
class SqliteTransaction {
 public:
  // kWrite takes the write lock up front (BEGIN IMMEDIATE), so a write never fails half-way
  // through for a lock another writer holds; kRead only pins one consistent snapshot.
  enum class Kind { kRead, kWrite };
  SqliteTransaction(SqliteDb& db, Kind kind);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  void commit();

 private:
  SqliteDb& db_;
  bool open_ = true;
};

}  // namespace faceid
