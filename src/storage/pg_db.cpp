#include "storage/pg_db.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "faceid/error.hpp"

namespace faceid {
namespace {

// libpq's multi-line message as one line.
std::string trimmed(const char* message) {
  std::string text;
  for (const char* c = message ? message : ""; *c; ++c) {
    const bool space = *c == '\n' || *c == '\t' || *c == ' ';
    if (!space) text += *c;
    else if (!text.empty() && text.back() != ' ') text += ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Server notices (e.g. "terminating connection") go to the log instead of stderr.
void log_notice(void*, const char* message) { spdlog::debug("PostgreSQL: {}", trimmed(message)); }

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// Failures that waiting will not fix: wrong credentials, a missing database or role.
bool permanent_failure(const std::string& message) {
  return message.find("authentication failed") != std::string::npos ||
         message.find("does not exist") != std::string::npos ||
         message.find("no password supplied") != std::string::npos;
}

// "host:port/database" of a connection string, for messages (never the password).
std::string describe(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (!options) {
    const std::string reason = trimmed(error ? error : "out of memory");
    PQfreemem(error);
    throw Error(ErrorCode::kBadRequest, "invalid PostgreSQL connection URI: " + reason);
  }
  std::string host = "localhost", port = "5432", database;
  for (auto* option = options; option->keyword; ++option) {
    if (!option->val || !*option->val) continue;
    const std::string keyword = option->keyword;
    if (keyword == "host" || keyword == "hostaddr") host = option->val;
    if (keyword == "port") port = option->val;
    if (keyword == "dbname") database = option->val;
  }
  PQconninfoFree(options);
  return host + ":" + port + "/" + database;
}

}  // namespace

PgParams& PgParams::text(std::string value) {
  values_.push_back(std::move(value));
  formats_.push_back(0);
  return *this;
}

PgParams& PgParams::integer(std::int64_t value) { return text(std::to_string(value)); }

PgParams& PgParams::real(double value) {
  // 17 significant digits name a double exactly, so a float4 column gets the float back.
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return text(buffer);
}

PgParams& PgParams::bytes(const std::vector<std::uint8_t>& value) {
  values_.emplace_back(value.begin(), value.end());
  formats_.push_back(1);
  return *this;
}

PgParams& PgParams::integers(const std::vector<std::int64_t>& values) {
  std::string array = "{";
  for (std::size_t i = 0; i < values.size(); ++i) array += (i ? "," : "") + std::to_string(values[i]);
  return text(array + "}");
}

int PgResult::rows() const { return PQntuples(result_.get()); }

bool PgResult::null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

std::int64_t PgResult::integer(int row, int column) const {
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

double PgResult::real(int row, int column) const {
  // PostgreSQL 12+ prints floats in their shortest exact form: strtof gives the same bits back.
  return std::strtof(PQgetvalue(result_.get(), row, column), nullptr);
}

std::vector<std::uint8_t> PgResult::bytes(int row, int column) const {
  std::size_t length = 0;
  std::unique_ptr<unsigned char, decltype(&PQfreemem)> raw(
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length),
      &PQfreemem);
  if (!raw) throw Error(ErrorCode::kIo, "out of memory reading a bytea column");
  return std::vector<std::uint8_t>(raw.get(), raw.get() + length);
}

PgConnection::PgConnection(std::string uri, std::chrono::milliseconds retry_for)
    : uri_(std::move(uri)), where_(describe(uri_)) {
  const auto deadline = std::chrono::steady_clock::now() + retry_for;
  std::chrono::milliseconds delay{100};
  for (int attempts = 1;; ++attempts) {
    std::string failure;
    conn_ = connect(failure);
    if (conn_) return;
    const auto now = std::chrono::steady_clock::now();
    if (permanent_failure(failure) || now + delay > deadline)
      throw Error(ErrorCode::kUnavailable,
                  "cannot connect to PostgreSQL at " + where_ + ": " + failure +
                      (attempts > 1 ? " (gave up after " + std::to_string(attempts) + " attempts)" : ""));
    spdlog::warn("PostgreSQL at {} is unavailable ({}); retrying in {} ms", where_, failure, delay.count());
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

std::unique_ptr<PGconn, PgConnCloser> PgConnection::connect(std::string& failure) const {
  // Defaults come before "dbname": the URI, expanded in its place, overrides them.
  const char* const keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* const values[] = {"5", "faceid", uri_.c_str(), nullptr};
  std::unique_ptr<PGconn, PgConnCloser> conn(PQconnectdbParams(keywords, values, 1));
  if (!conn) {
    failure = "out of memory";
    return nullptr;
  }
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    failure = trimmed(PQerrorMessage(conn.get()));
    return nullptr;
  }
  PQsetNoticeProcessor(conn.get(), log_notice, nullptr);
  // Shortest exact float output, whatever the server's default.
  std::unique_ptr<PGresult, PgResultClearer> set(PQexec(conn.get(), "SET extra_float_digits = 3"));
  if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) {
    failure = trimmed(PQerrorMessage(conn.get()));
    return nullptr;
  }
  return conn;
}

bool PgConnection::connected() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

void PgConnection::ensure_connected() {
  if (connected()) return;
  std::string failure;
  conn_ = connect(failure);
  if (!conn_) throw Error(ErrorCode::kUnavailable, "lost the connection to PostgreSQL at " + where_ + ": " + failure);
  spdlog::info("reconnected to PostgreSQL at {}", where_);
}

std::vector<std::string> PgConnection::notifications() {
  if (!PQconsumeInput(conn_.get()))
    throw Error(ErrorCode::kUnavailable,
                "lost the connection to PostgreSQL at " + where_ + ": " + trimmed(PQerrorMessage(conn_.get())));
  std::vector<std::string> payloads;
  while (PGnotify* raw = PQnotifies(conn_.get())) {
    std::unique_ptr<PGnotify, decltype(&PQfreemem)> notification(raw, &PQfreemem);
    payloads.emplace_back(notification->extra);
  }
  return payloads;
}

PgResult PgConnection::exec(const std::string& sql, const PgParams& params) {
  if (!connected()) throw Error(ErrorCode::kUnavailable, "no connection to PostgreSQL at " + where_);
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const auto& value : params.values_) {
    values.push_back(value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  return check(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                            lengths.data(), params.formats_.data(), 0),
               sql);
}

void PgConnection::exec_script(const std::string& sql) {
  if (!connected()) throw Error(ErrorCode::kUnavailable, "no connection to PostgreSQL at " + where_);
  check(PQexec(conn_.get(), sql.c_str()), sql);
}

PgResult PgConnection::check(PGresult* raw, const std::string& sql) const {
  PgResult result(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (raw && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) return result;
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state ? state : "";
  const std::string message = trimmed(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_.get()));
  // Connection failures, shutdowns, exhausted resources, serialisation failures: all pass.
  if (PQstatus(conn_.get()) != CONNECTION_OK || starts_with(code, "08") || starts_with(code, "57P") ||
      starts_with(code, "53") || starts_with(code, "40"))
    throw Error(ErrorCode::kUnavailable, "PostgreSQL at " + where_ + " is unavailable: " + message);
  if (code == "23505") throw Error(ErrorCode::kConflict, message);
  if (starts_with(code, "42"))
    throw Error(ErrorCode::kCorruptStore, "the database at " + where_ + " does not have the schema FaceID expects (" +
                                              message + ")");
  throw Error(ErrorCode::kIo, "PostgreSQL at " + where_ + " refused `" + sql.substr(0, 60) + "`: " + message);
}

PgQuery::PgQuery(PgConnection& db, std::string sql, PgParams params)
    : db_(db), sql_(std::move(sql)), params_(std::move(params)) {}

PgQuery& PgQuery::bind(std::int64_t value) {
  params_.integer(value);
  return *this;
}

PgQuery& PgQuery::bind(double value) {
  params_.real(value);
  return *this;
}

PgQuery& PgQuery::bind(const std::string& value) {
  params_.text(value);
  return *this;
}

PgQuery& PgQuery::bind(const std::vector<std::uint8_t>& value) {
  params_.bytes(value);
  return *this;
}

PgQuery& PgQuery::bind(const std::vector<std::int64_t>& ids) {
  params_.integers(ids);
  return *this;
}

bool PgQuery::step() {
  if (!result_) result_.emplace(db_.exec(sql_, params_));
  return ++row_ < result_->rows();
}

void PgQuery::run() {
  if (!result_) result_.emplace(db_.exec(sql_, params_));
}

std::vector<std::uint8_t> PgQuery::blob(int column) const {
  return result_->null(row_, column) ? std::vector<std::uint8_t>() : result_->bytes(row_, column);
}

PgTransaction::PgTransaction(PgConnection& db, const std::string& isolation) : db_(db) {
  db_.exec(isolation.empty() ? "BEGIN" : "BEGIN " + isolation);
}

PgTransaction::~PgTransaction() {
  if (!open_ || !db_.connected()) return;  // a lost connection took the transaction with it
  try {
    db_.exec("ROLLBACK");
  } catch (const Error&) {
    // The server drops the transaction itself when it cannot be told.
  }
}

void PgTransaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace faceid
