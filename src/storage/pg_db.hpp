#pragma once
// A thin RAII layer over libpq: one connection, its results, typed parameters, and libpq
// failures turned into faceid::Error:
//   kUnavailable   the server cannot be reached, went away, or is shutting down (retry later);
//   kConflict      a unique constraint refused the row;
//   kCorruptStore  the database does not have the tables and columns FaceID expects;
//   kIo            anything else the server refused.
// None of these classes lock: the owner serialises access to one connection.
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace faceid {

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

// Parameters of one query ($1, $2, ...): text, or binary for bytea.
class PgParams {
 public:
  PgParams& text(std::string value);
  PgParams& integer(std::int64_t value);
  PgParams& real(double value);
  PgParams& bytes(const std::vector<std::uint8_t>& value);
  // A bigint[] literal, e.g. for "= ANY($1::bigint[])".
  PgParams& integers(const std::vector<std::int64_t>& values);

 private:
  friend class PgConnection;
  std::vector<std::string> values_;  // binary-safe: bytea values are kept as raw bytes
  std::vector<int> formats_;         // 0 text, 1 binary
};

// The rows of a query, read as text (PostgreSQL's default result format).
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  int rows() const;
  bool null(int row, int column) const;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  double real(int row, int column) const;
  std::vector<std::uint8_t> bytes(int row, int column) const;  // a bytea column

 private:
  std::unique_ptr<PGresult, PgResultClearer> result_;
};

class PgConnection {
 public:
  // Connects to `uri` (a libpq URI or key=value string), retrying with back-off for up to
  // `retry_for` while the server cannot be reached; Error(kUnavailable) after that.
  // Bad credentials or an unknown database are not retried.
  PgConnection(std::string uri, std::chrono::milliseconds retry_for);
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PgResult exec(const std::string& sql, const PgParams& params = {});
  // Several statements without parameters (schema migrations).
  void exec_script(const std::string& sql);
  // Makes one attempt to replace a connection that was lost; Error(kUnavailable) if it fails.
  void ensure_connected();
  bool connected() const;
  // For a LISTENing connection: the socket to wait on, and the payloads of the notifications
  // that arrived on it (Error(kUnavailable) when the connection broke).
  int socket() const { return PQsocket(conn_.get()); }
  std::vector<std::string> notifications();
  // "host:port/database", for messages: never the password.
  const std::string& where() const { return where_; }

 private:
  // One attempt: an open connection, or the reason there is none.
  std::unique_ptr<PGconn, PgConnCloser> connect(std::string& failure) const;
  PgResult check(PGresult* result, const std::string& sql) const;

  std::string uri_;
  std::string where_;
  std::unique_ptr<PGconn, PgConnCloser> conn_;
};

// One statement read row by row, as an SQLite statement is: bind() gives $1, $2, ... in
// order, the first step() or run() sends it, and the columns are read from the current row.
class PgQuery {
 public:
  // `params` are the first parameters, bound already.
  PgQuery(PgConnection& db, std::string sql, PgParams params = {});

  PgQuery& bind(std::int64_t value);
  PgQuery& bind(double value);
  PgQuery& bind(const std::string& value);
  PgQuery& bind(const std::vector<std::uint8_t>& value);  // bytea
  PgQuery& bind(const std::vector<std::int64_t>& ids);    // bigint[]

  // Advances to the next row: true while there is one.
  bool step();
  void run();

  std::int64_t integer(int column) const { return result_->integer(row_, column); }
  double real(int column) const { return result_->real(row_, column); }
  std::string text(int column) const { return result_->text(row_, column); }
  // Empty for NULL.
  std::vector<std::uint8_t> blob(int column) const;

 private:
  PgConnection& db_;
  std::string sql_;
  PgParams params_;
  std::optional<PgResult> result_;  // once sent
  int row_ = -1;
};

// BEGIN ... COMMIT that rolls back unless commit() was reached, exceptions included.
class PgTransaction {
 public:
  // `isolation` is the rest of the BEGIN statement, e.g. "ISOLATION LEVEL REPEATABLE READ".
  explicit PgTransaction(PgConnection& db, const std::string& isolation = "");
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  void commit();

 private:
  PgConnection& db_;
  bool open_ = true;
};

}  // namespace faceid
