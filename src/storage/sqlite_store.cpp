// The default gallery store: one SQLite file in WAL mode, schema migrations, one
// transaction per write, shared safely by threads (one mutex) and processes (SQLite locks).
// What the writes do is sql_gallery_store.hpp's; this file holds what only SQLite has.
#include "storage/sqlite_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/private_files.hpp"
#include "faceid/error.hpp"
#include "faceid/store_check.hpp"
#include "storage/sql_gallery_store.hpp"
#include "storage/sqlite_audit_log.hpp"
#include "storage/sqlite_db.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

// kMigrations[i] upgrades the schema from version i to i + 1; append, never edit.
const char* const kMigrations[] = {
    // 1: the first schema.
    // meta.value has no declared type so integers (schema_version, version) stay integers.
    // faces.id is AUTOINCREMENT so the id of a removed face is never handed out again: another
    // process's in-memory index may still hold it. Crops live in their own table: inline, they
    // push the embedding onto overflow pages and double the cost of loading the index.
    R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
    INSERT INTO meta(key, value) VALUES ('embedding_model', ''), ('version', 0);
    CREATE TABLE people (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
    CREATE TABLE faces (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
      model_id TEXT NOT NULL,
      dim INTEGER NOT NULL CHECK (dim > 0),
      embedding BLOB NOT NULL CHECK (length(embedding) = 4 * dim),
      norm REAL NOT NULL,
      content_sha256 TEXT NOT NULL UNIQUE,
      source TEXT NOT NULL,
      box_x REAL NOT NULL, box_y REAL NOT NULL, box_w REAL NOT NULL, box_h REAL NOT NULL,
      det_score REAL NOT NULL,
      landmarks BLOB NOT NULL CHECK (length(landmarks) = 40),
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
    CREATE INDEX faces_by_person ON faces(person_id);
    CREATE TABLE face_crops (
      face_id INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
      jpeg BLOB NOT NULL);
    )sql",
    // 2: the change log other connections catch up from (GalleryStore::changes_since): the
    // faces each version touched. Rows older than kChangeLogVersions versions are pruned.
    R"sql(
    CREATE TABLE face_changes (
      version INTEGER NOT NULL,
      face_id INTEGER NOT NULL,
      PRIMARY KEY (version, face_id)) WITHOUT ROWID;
    )sql",
    // 3: the append-only audit log (GalleryStore::audit): one row per write, in its transaction.
    kSqliteAuditSchema,
};
// The problems PRAGMA `check` (integrity_check or quick_check) reports; empty when intact.
std::vector<std::string> integrity_problems(SqliteDb& db, const char* check) {
  SqliteStatement query(db, std::string("PRAGMA ") + check + "(20)");
  std::vector<std::string> problems;
  while (query.step())
    if (query.text(0) != "ok") problems.push_back(query.text(0));
  return problems;
}

static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSqliteSchemaVersion,
              "one migration per schema version");

// The SQLite side of the shared gallery store: one gallery a file, in WAL mode; a write
// takes the file's write lock when it begins (waiting up to the busy timeout for another
// process's), and refuses to start once this connection has met a damaged page. Other
// processes are not told about writes: they poll version().
class SqliteGallery {
 public:
  static constexpr GallerySqlDialect kDialect{
      "",                                           // table_prefix
      "",                                           // scope_column: a file is one gallery
      {"meta", "value", "key = 'embedding_model'"},  // model
      {"meta", "value", "key = 'version'"},          // version
      {"", ""},                                     // iso_time: stored as ISO-8601 text already
      {"json_each(", ") AS ids"},                   // id_table: the ids bound as a JSON array
      "BINARY",                                     // bytewise_collation
  };
  using Query = SqliteStatement;

  SqliteGallery(const std::string& path, std::chrono::milliseconds busy_timeout) : db_(path, busy_timeout) {}

  SqliteDb& database() { return db_; }
  SqliteStatement query(const std::string& sql) { return SqliteStatement(db_, sql); }
  SqliteStatement scoped(const std::string& sql) { return query(sql); }
  void reconnect_if_lost() {}
  void queue_change_notice() {}

  class WriteTransaction {
   public:
    explicit WriteTransaction(SqliteGallery& gallery)
        : transaction_(refuse_when_damaged(gallery.db_), SqliteTransaction::Kind::kWrite) {}
    void commit() { transaction_.commit(); }

   private:
    static SqliteDb& refuse_when_damaged(SqliteDb& db) {
      if (!db.damage().empty())
        throw Error(ErrorCode::kCorruptStore, "gallery " + db.path() + " was found damaged (" + db.damage() +
                                                  "); FaceID no longer writes to it. " + damaged_store_advice());
      return db;
    }
    SqliteTransaction transaction_;
  };

  class Snapshot {
   public:
    explicit Snapshot(SqliteGallery& gallery) : transaction_(gallery.db_, SqliteTransaction::Kind::kRead) {}
    void commit() { transaction_.commit(); }

   private:
    SqliteTransaction transaction_;
  };

 private:
  SqliteDb db_;
};

// The schema, its migrations and the checks at opening around the shared store.
class SqliteStore final : public SqlGalleryStore<SqliteGallery> {
 public:
  SqliteStore(const std::string& path, const SqliteStoreOptions& options)
      : SqlGalleryStore(path, options.busy_timeout), quick_check_max_bytes_(options.quick_check_max_bytes) {
    // Reading the schema first turns a file that is not a database (or is truncated)
    // into kCorruptStore before anything is written to it.
    const int version = schema_version();
    if (version > 0) refuse_when_damaged();
    db().exec("PRAGMA foreign_keys = ON");
    // WAL lets readers run while another process writes; FULL syncs every commit so an
    // enrolment that was reported done survives a power cut.
    db().exec("PRAGMA journal_mode = WAL");
    db().exec("PRAGMA synchronous = FULL");
    if (version < kSqliteSchemaVersion) migrate();
  }

 private:
  SqliteDb& db() { return db_.database(); }

  // 0 for a new (or zero-byte) file. Read without a write lock, so opening an up-to-date
  // gallery never waits for another process's writer.
  int schema_version() {
    SqliteStatement objects(db(), "SELECT COUNT(*), COUNT(CASE WHEN type = 'table' AND name = 'meta' THEN 1 END) "
                                  "FROM sqlite_master");
    objects.step();
    if (objects.integer(1) == 0) {
      if (objects.integer(0) > 0)
        throw Error(ErrorCode::kCorruptStore,
                    "gallery " + db().path() + " is an SQLite database of another application, not a FaceID gallery");
      return 0;
    }
    SqliteStatement query(db(), "SELECT value, typeof(value) FROM meta WHERE key = 'schema_version'");
    if (!query.step() || query.text(1) != "integer" || query.integer(0) < 1)
      throw Error(ErrorCode::kCorruptStore, "gallery " + db().path() + " has no valid schema version");
    const std::int64_t version = query.integer(0);
    if (version > kSqliteSchemaVersion)
      throw Error(ErrorCode::kCorruptStore, "gallery " + db().path() + " was written by a newer FaceID (schema " +
                                                std::to_string(version) + "; this build reads up to schema " +
                                                std::to_string(kSqliteSchemaVersion) + "): upgrade FaceID");
    return static_cast<int>(version);
  }

  void refuse_when_damaged() {
    std::error_code ec;
    const auto size = fs::file_size(db().path(), ec);
    if (ec || size > quick_check_max_bytes_) return;
    const auto problems = integrity_problems(db(), "quick_check");
    if (!problems.empty())
      throw Error(ErrorCode::kCorruptStore, "gallery " + db().path() + " is damaged (" + problems.front() +
                                                "); FaceID neither reads nor writes it. " + damaged_store_advice());
  }

  // Applies the missing migrations in order, all in one transaction. The version is read
  // again under the write lock: another process may have migrated the file meanwhile.
  void migrate() {
    write([&] {
      const int from = schema_version();
      for (int version = from; version < kSqliteSchemaVersion; ++version) db().exec(kMigrations[version]);
      if (from == kSqliteSchemaVersion) return false;
      SqliteStatement(db(), "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
          .bind_int(1, kSqliteSchemaVersion)
          .run();
      return true;
    });
  }

  std::uintmax_t quick_check_max_bytes_;
};

}  // namespace

namespace {

// A new gallery is built under a temporary name and published with link(), which never
// replaces a file: no process ever sees a half-made gallery, and of two processes creating
// the same one, the second opens the first one's.
void create_gallery_file(const std::string& path, const SqliteStoreOptions& options) {
  const std::string staging = path + ".new-" + std::to_string(::getpid());
  create_private_file(staging);
  try {
    SqliteStore initialise(staging, options);
  } catch (...) {
    ::unlink(staging.c_str());
    throw;
  }
  const int linked = ::link(staging.c_str(), path.c_str());
  const int error = errno;
  ::unlink(staging.c_str());
  if (linked != 0 && error != EEXIST)
    throw Error(ErrorCode::kIo, "cannot create the gallery " + path + ": " + std::strerror(error));
}

}  // namespace

std::unique_ptr<GalleryStore> open_sqlite_store(const std::string& path, const SqliteStoreOptions& options) {
  if (path == ":memory:") return std::make_unique<SqliteStore>(path, options);
  std::error_code ec;
  const fs::path folder = fs::path(path).parent_path();
  if (!folder.empty() && !fs::is_directory(folder, ec)) create_private_directories(folder.string());
  const auto status = fs::status(path, ec);
  if (fs::is_directory(status)) throw Error(ErrorCode::kIo, "gallery " + path + " is a folder, not a file");
  if (!fs::exists(status)) {
    create_gallery_file(path, options);
  } else if (fs::is_regular_file(status) && fs::file_size(path, ec) == 0) {
    // An empty file is a gallery that lost its content (a full disk, a bad copy) far more
    // often than a wish for a new one: taking it as new would hide the loss.
    throw Error(ErrorCode::kCorruptStore, "gallery " + path + " is an empty (0-byte) file, not a gallery. " +
                                              damaged_store_advice() +
                                              " To start a new gallery there, delete the empty file.");
  }
  return std::make_unique<SqliteStore>(path, options);
}

StoreCheck check_sqlite_gallery(const std::string& path) {
  StoreCheck result;
  result.checked = "SQLite gallery " + path + ": every page and index (PRAGMA integrity_check), foreign keys, FaceID schema";
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) throw Error(ErrorCode::kNotFound, "no gallery at " + path);
  if (!fs::is_regular_file(status)) throw Error(ErrorCode::kIo, "gallery " + path + " is not a regular file");
  if (fs::file_size(path, ec) == 0) {
    result.problems.push_back("the file is empty (0 bytes)");
  } else {
    try {
      SqliteDb db(path, SqliteStoreOptions{}.busy_timeout);
      result.problems = integrity_problems(db, "integrity_check");
      SqliteStatement orphans(db, "PRAGMA foreign_key_check");
      while (orphans.step())
        result.problems.push_back("row " + std::to_string(orphans.integer(1)) + " of " + orphans.text(0) +
                                  " refers to a missing " + orphans.text(2) + " row");
      SqliteStatement schema(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
      if (schema.step() && schema.integer(0) == 0) result.problems.push_back("not a FaceID gallery (no meta table)");
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kCorruptStore) throw;
      result.problems.push_back(e.what());
    }
  }
  result.intact = result.problems.empty();
  return result;
}

}  // namespace faceid
