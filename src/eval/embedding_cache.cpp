#include "eval/embedding_cache.hpp"

#include <cstring>
#include <filesystem>

#include <sqlite3.h>

#include "faceid/error.hpp"

namespace faceid::eval {

namespace {

constexpr std::size_t kFlushEvery = 128;  // entries per write transaction
constexpr std::size_t kDetectionFloats = 15;  // box (4), score, 5 landmarks (10)

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw Error(ErrorCode::kIo, std::string("embedding cache: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error(ErrorCode::kIo, "embedding cache: " + text);
  }
}

std::vector<float> pack(const Detection& d) {
  std::vector<float> values = {d.box.x, d.box.y, d.box.width, d.box.height, d.score};
  for (const auto& point : d.landmarks) {
    values.push_back(point.x);
    values.push_back(point.y);
  }
  return values;
}

Detection unpack(const std::vector<float>& v) {
  Detection d;
  d.box = {v[0], v[1], v[2], v[3]};
  d.score = v[4];
  for (std::size_t i = 0; i < d.landmarks.size(); ++i) d.landmarks[i] = {v[5 + 2 * i], v[6 + 2 * i]};
  return d;
}

}  // namespace

EmbeddingCache::EmbeddingCache(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw Error(ErrorCode::kIo, "cannot open the embedding cache " + path + ": " + message);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    // A cache can always be rebuilt, so durability is traded for speed.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
              "CREATE TABLE IF NOT EXISTS detections(key TEXT PRIMARY KEY, face BLOB);"
              "CREATE TABLE IF NOT EXISTS embeddings(key TEXT PRIMARY KEY, unit BLOB, norm REAL);");
  } catch (const Error& e) {
    sqlite3_close(db_);
    throw Error(ErrorCode::kIo, path + ": " + e.what());
  }
}

EmbeddingCache::~EmbeddingCache() {
  try {
    flush();
  } catch (const Error&) {
    // Losing cache entries only costs recomputation on the next run.
  }
  sqlite3_close(db_);
}

std::optional<std::optional<std::vector<float>>> EmbeddingCache::lookup(const char* sql, const std::string& key,
                                                                        float* norm) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (it->key != key || (norm != nullptr) != (it->table == "embeddings")) continue;
    if (norm) *norm = it->norm;
    if (it->values.empty()) return std::optional<std::vector<float>>{};
    return std::optional<std::vector<float>>{it->values};
  }
  Statement stmt(db_, sql);
  sqlite3_bind_text(stmt.get(), 1, key.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return std::nullopt;
  if (norm) *norm = static_cast<float>(sqlite3_column_double(stmt.get(), 1));
  const int bytes = sqlite3_column_bytes(stmt.get(), 0);
  if (bytes == 0) return std::optional<std::vector<float>>{};
  std::vector<float> values(static_cast<std::size_t>(bytes) / sizeof(float));
  std::memcpy(values.data(), sqlite3_column_blob(stmt.get(), 0), values.size() * sizeof(float));
  return std::optional<std::vector<float>>{values};
}

std::optional<std::optional<Detection>> EmbeddingCache::detection(const std::string& key) {
  const auto found = lookup("SELECT face FROM detections WHERE key = ?", key, nullptr);
  if (!found) return std::nullopt;
  if (!*found || (*found)->size() != kDetectionFloats) return std::optional<Detection>{};
  return std::optional<Detection>{unpack(**found)};
}

std::optional<std::optional<Embedding>> EmbeddingCache::embedding(const std::string& key) {
  float norm = 0.f;
  const auto found = lookup("SELECT unit, norm FROM embeddings WHERE key = ?", key, &norm);
  if (!found) return std::nullopt;
  if (!*found) return std::optional<Embedding>{};
  return std::optional<Embedding>{Embedding{**found, norm}};
}

void EmbeddingCache::put_detection(const std::string& key, const std::optional<Detection>& detection) {
  put({"detections", key, detection ? pack(*detection) : std::vector<float>{}, 0.f});
}

void EmbeddingCache::put_embedding(const std::string& key, const std::optional<Embedding>& embedding) {
  put({"embeddings", key, embedding ? embedding->unit : std::vector<float>{}, embedding ? embedding->norm : 0.f});
}

void EmbeddingCache::put(Pending entry) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back(std::move(entry));
  if (pending_.size() >= kFlushEvery) flush_locked();
}

void EmbeddingCache::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  flush_locked();
}

void EmbeddingCache::flush_locked() {
  if (pending_.empty()) return;
  exec(db_, "BEGIN");
  try {
    Statement detections(db_, "INSERT OR REPLACE INTO detections(key, face) VALUES(?, ?)");
    Statement embeddings(db_, "INSERT OR REPLACE INTO embeddings(key, unit, norm) VALUES(?, ?, ?)");
    for (const auto& entry : pending_) {
      sqlite3_stmt* stmt = entry.table == "detections" ? detections.get() : embeddings.get();
      sqlite3_reset(stmt);
      sqlite3_bind_text(stmt, 1, entry.key.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(stmt, 2, entry.values.data(), static_cast<int>(entry.values.size() * sizeof(float)),
                        SQLITE_TRANSIENT);
      if (stmt == embeddings.get()) sqlite3_bind_double(stmt, 3, entry.norm);
      if (sqlite3_step(stmt) != SQLITE_DONE)
        throw Error(ErrorCode::kIo, std::string("embedding cache: ") + sqlite3_errmsg(db_));
    }
    exec(db_, "COMMIT");
  } catch (const Error&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    pending_.clear();
    throw;
  }
  pending_.clear();
}

}  // namespace faceid::eval
