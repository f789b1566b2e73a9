// The default gallery store: one SQLite file in WAL mode, schema migrations, one
// transaction per write, shared safely by threads (one mutex) and processes (SQLite locks).
#include "storage/sqlite_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "core/private_files.hpp"
#include "faceid/error.hpp"
#include "faceid/store_check.hpp"
#include "storage/record_codec.hpp"
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

// Columns of FaceRecord, in the order read_face_row() expects.
constexpr const char* kFaceColumns =
    "f.id, p.name, f.model_id, f.embedding, f.norm, f.content_sha256, f.source, f.box_x, f.box_y, "
    "f.box_w, f.box_h, f.det_score, f.landmarks, f.created_at";

class SqliteStore final : public GalleryStore {
 public:
  SqliteStore(const std::string& path, const SqliteStoreOptions& options)
      : quick_check_max_bytes_(options.quick_check_max_bytes), db_(path, options.busy_timeout) {
    // Reading the schema first turns a file that is not a database (or is truncated)
    // into kCorruptStore before anything is written to it.
    const int version = schema_version();
    if (version > 0) refuse_when_damaged();
    db_.exec("PRAGMA foreign_keys = ON");
    // WAL lets readers run while another process writes; FULL syncs every commit so an
    // enrolment that was reported done survives a power cut.
    db_.exec("PRAGMA journal_mode = WAL");
    db_.exec("PRAGMA synchronous = FULL");
    if (version < kSqliteSchemaVersion) migrate();
  }

  std::string model_id() override {
    std::lock_guard lock(mutex_);
    return meta_text("embedding_model");
  }

  void bind_model(const std::string& model_id) override {
    if (model_id.empty()) throw Error(ErrorCode::kBadRequest, "cannot bind a gallery to an empty model id");
    write([&] {
      const std::string bound = meta_text("embedding_model");
      if (bound == model_id) return false;
      if (!bound.empty()) throw model_mismatch(bound, model_id);
      set_meta_text("embedding_model", model_id);
      return true;
    });
  }

  std::vector<PersonInfo> people() override {
    std::lock_guard lock(mutex_);
    SqliteStatement query(db_,
                          "SELECT p.name, COUNT(f.id), p.created_at FROM people p "
                          "LEFT JOIN faces f ON f.person_id = p.id GROUP BY p.id ORDER BY p.name");
    std::vector<PersonInfo> people;
    while (query.step())
      people.push_back({query.text(0), static_cast<int>(query.integer(1)), query.text(2)});
    return people;
  }

  bool has_person(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return person_id(name).has_value();
  }

  std::vector<std::int64_t> add_faces(const std::string& person, const std::vector<FaceRecord>& faces) override {
    return add_faces_as("enroll", person, faces);
  }

  std::vector<std::int64_t> import_faces(const std::string& person, const std::vector<FaceRecord>& faces) override {
    return add_faces_as("import", person, faces);
  }

  std::optional<std::string> find_content(const std::string& content_sha256) override {
    std::lock_guard lock(mutex_);
    return content_owner(content_sha256);
  }

  void remove_person(const std::string& name) override {
    write([&] {
      const auto id = person_id(name);
      if (!id) throw person_not_found(name);
      changed_ = face_ids_of(*id);
      // Its faces, their crops and embeddings go with it (ON DELETE CASCADE).
      SqliteStatement(db_, "DELETE FROM people WHERE id = ?").bind_int(1, *id).run();
      unbind_model_when_empty();
      audit_ = face_write_entry("remove_person", name, changed_);
      return true;
    });
  }

  void rename_person(const std::string& from, const std::string& to) override {
    validate_person_name(to);
    write([&] {
      const auto id = person_id(from);
      if (!id) throw person_not_found(from);
      if (from == to) return false;
      if (person_id(to)) throw Error(ErrorCode::kConflict, "a person named '" + to + "' already exists");
      SqliteStatement(db_, "UPDATE people SET name = ? WHERE id = ?").bind_text(1, to).bind_int(2, *id).run();
      changed_ = face_ids_of(*id);
      audit_ = face_write_entry("rename", from, changed_);
      audit_->new_name = to;
      return true;
    });
  }

  bool remove_face(std::int64_t face_id) override {
    bool removed = false;
    write([&] {
      SqliteStatement owner(db_, "SELECT p.name FROM faces f JOIN people p ON p.id = f.person_id WHERE f.id = ?");
      owner.bind_int(1, face_id);
      if (!owner.step()) return false;
      audit_ = face_write_entry("remove_face", owner.text(0), {face_id});
      SqliteStatement(db_, "DELETE FROM faces WHERE id = ?").bind_int(1, face_id).run();
      removed = true;
      unbind_model_when_empty();
      changed_ = {face_id};
      return true;
    });
    return removed;
  }

  std::vector<FaceRecord> faces(bool with_crops) override {
    std::lock_guard lock(mutex_);
    return select_faces(with_crops, "", nullptr);
  }

  std::vector<FaceRecord> faces_of(const std::string& person, bool with_crops) override {
    std::lock_guard lock(mutex_);
    // One snapshot, so "unknown person" and the face list cannot disagree.
    SqliteTransaction snapshot(db_, SqliteTransaction::Kind::kRead);
    const auto id = person_id(person);
    if (!id) throw person_not_found(person);
    auto faces = select_faces(with_crops, " WHERE f.person_id = ?", &*id);
    snapshot.commit();
    return faces;
  }

  void replace_embeddings(const std::string& model_id,
                          const std::vector<std::pair<std::int64_t, Embedding>>& embeddings) override {
    validate_replacements(model_id, embeddings);
    write([&] {
      // Distinct ids, all stored, as many as stored faces: every face gets its new vector.
      require_every_face_replaced(face_count(), embeddings.size());
      SqliteStatement update(db_, "UPDATE faces SET model_id = ?, dim = ?, embedding = ?, norm = ? WHERE id = ?");
      for (const auto& [id, embedding] : embeddings) {
        const auto& unit = embedding.unit;
        update.reset()
            .bind_text(1, model_id)
            .bind_int(2, static_cast<std::int64_t>(unit.size()))
            .bind_blob(3, encode_floats(unit.data(), unit.size()))
            .bind_real(4, embedding.norm)
            .bind_int(5, id)
            .run();
        if (db_.changes() != 1)
          throw Error(ErrorCode::kNotFound, "face " + std::to_string(id) + " is not in the gallery");
        changed_.push_back(id);
      }
      set_meta_text("embedding_model", model_id);
      audit_ = AuditEntry{};
      audit_->action = "reindex";
      audit_->face_count = static_cast<int>(embeddings.size());
      return true;
    });
  }

  void set_audit_actor(const std::string& actor) override {
    std::lock_guard lock(mutex_);
    actor_ = actor;
  }

  std::vector<AuditEntry> audit(const AuditQuery& query) override {
    validate_audit_query(query);
    std::lock_guard lock(mutex_);
    return select_audit_rows(db_, query);
  }

  std::int64_t version() override {
    std::lock_guard lock(mutex_);
    return current_version();
  }

  GalleryChanges changes_since(std::int64_t since) override {
    std::lock_guard lock(mutex_);
    SqliteTransaction snapshot(db_, SqliteTransaction::Kind::kRead);
    GalleryChanges changes;
    changes.version = current_version();
    changes.model_id = meta_text("embedding_model");
    changes.reset = !change_log_covers(since, changes.version);
    if (changes.reset) {
      changes.current = select_faces(false, "", nullptr);
    } else {
      SqliteStatement touched(db_, "SELECT DISTINCT face_id FROM face_changes WHERE version > ? ORDER BY face_id");
      touched.bind_int(1, since);
      while (touched.step()) changes.removed.push_back(touched.integer(0));
      SqliteStatement query(db_, std::string("SELECT ") + kFaceColumns +
                                     " FROM faces f JOIN people p ON p.id = f.person_id WHERE f.id = ?");
      for (const std::int64_t id : changes.removed) {
        query.reset().bind_int(1, id);
        if (query.step()) changes.current.push_back(read_face_row(query, false));
      }
    }
    snapshot.commit();
    return changes;
  }

 private:
  // Runs `body` in one write transaction. It returns whether it changed anything: if so the
  // version counter is bumped and the faces it touched (changed_) are logged in the same
  // transaction, and it commits; otherwise it rolls back. An exception rolls everything back.
  template <typename Body>
  void write(Body&& body) {
    std::lock_guard lock(mutex_);
    if (!db_.damage().empty())
      throw Error(ErrorCode::kCorruptStore, "gallery " + db_.path() + " was found damaged (" + db_.damage() +
                                                "); FaceID no longer writes to it. " + damaged_store_advice());
    SqliteTransaction transaction(db_, SqliteTransaction::Kind::kWrite);
    changed_.clear();
    audit_.reset();
    if (!body()) return;
    if (audit_) {
      audit_->actor = actor_;
      insert_audit_row(db_, *audit_);
    }
    db_.exec("UPDATE meta SET value = value + 1 WHERE key = 'version'");
    const std::int64_t version = current_version();
    SqliteStatement log(db_, "INSERT OR IGNORE INTO face_changes(version, face_id) VALUES (?, ?)");
    for (const std::int64_t id : changed_) log.reset().bind_int(1, version).bind_int(2, id).run();
    SqliteStatement(db_, "DELETE FROM face_changes WHERE version <= ?")
        .bind_int(1, version - kChangeLogVersions)
        .run();
    transaction.commit();
  }

  std::vector<std::int64_t> add_faces_as(const char* action, const std::string& person,
                                         const std::vector<FaceRecord>& faces) {
    validate_person_name(person);
    const std::string batch_model = validate_face_batch(faces);
    const std::size_t dim = faces.front().embedding.unit.size();
    std::vector<std::int64_t> ids;
    write([&] {
      const std::string model = bind_for_batch(batch_model, dim);
      reject_enrolled_content(faces, [this](const std::string& sha) { return content_owner(sha); });
      const std::int64_t owner_id = find_or_create_person(person);
      for (const auto& face : faces) ids.push_back(insert_face(owner_id, model, face));
      changed_ = ids;
      audit_ = face_write_entry(action, person, ids);
      return true;
    });
    return ids;
  }

  std::int64_t current_version() {
    SqliteStatement query(db_, "SELECT value FROM meta WHERE key = 'version'");
    return query.step() ? query.integer(0) : 0;
  }

  std::vector<std::int64_t> face_ids_of(std::int64_t person_id) {
    SqliteStatement query(db_, "SELECT id FROM faces WHERE person_id = ?");
    query.bind_int(1, person_id);
    std::vector<std::int64_t> ids;
    while (query.step()) ids.push_back(query.integer(0));
    return ids;
  }

  // 0 for a new (or zero-byte) file. Read without a write lock, so opening an up-to-date
  // gallery never waits for another process's writer.
  int schema_version() {
    SqliteStatement objects(db_, "SELECT COUNT(*), COUNT(CASE WHEN type = 'table' AND name = 'meta' THEN 1 END) "
                                 "FROM sqlite_master");
    objects.step();
    if (objects.integer(1) == 0) {
      if (objects.integer(0) > 0)
        throw Error(ErrorCode::kCorruptStore,
                    "gallery " + db_.path() + " is an SQLite database of another application, not a FaceID gallery");
      return 0;
    }
    SqliteStatement query(db_, "SELECT value, typeof(value) FROM meta WHERE key = 'schema_version'");
    if (!query.step() || query.text(1) != "integer" || query.integer(0) < 1)
      throw Error(ErrorCode::kCorruptStore, "gallery " + db_.path() + " has no valid schema version");
    const std::int64_t version = query.integer(0);
    if (version > kSqliteSchemaVersion)
      throw Error(ErrorCode::kCorruptStore, "gallery " + db_.path() + " was written by a newer FaceID (schema " +
                                                std::to_string(version) + "; this build reads up to schema " +
                                                std::to_string(kSqliteSchemaVersion) + "): upgrade FaceID");
    return static_cast<int>(version);
  }

  void refuse_when_damaged() {
    std::error_code ec;
    const auto size = fs::file_size(db_.path(), ec);
    if (ec || size > quick_check_max_bytes_) return;
    const auto problems = integrity_problems(db_, "quick_check");
    if (!problems.empty())
      throw Error(ErrorCode::kCorruptStore, "gallery " + db_.path() + " is damaged (" + problems.front() +
                                                "); FaceID neither reads nor writes it. " + damaged_store_advice());
  }

  // Applies the missing migrations in order, all in one transaction. The version is read
  // again under the write lock: another process may have migrated the file meanwhile.
  void migrate() {
    write([&] {
      const int from = schema_version();
      for (int version = from; version < kSqliteSchemaVersion; ++version) db_.exec(kMigrations[version]);
      if (from == kSqliteSchemaVersion) return false;
      SqliteStatement(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
          .bind_int(1, kSqliteSchemaVersion)
          .run();
      return true;
    });
  }

  std::string meta_text(const char* key) {
    SqliteStatement query(db_, "SELECT value FROM meta WHERE key = ?");
    query.bind_text(1, key);
    return query.step() ? query.text(0) : std::string();
  }

  void set_meta_text(const char* key, const std::string& value) {
    SqliteStatement(db_, "UPDATE meta SET value = ? WHERE key = ?").bind_text(1, value).bind_text(2, key).run();
  }

  std::optional<std::int64_t> person_id(const std::string& name) {
    SqliteStatement query(db_, "SELECT id FROM people WHERE name = ?");
    query.bind_text(1, name);
    if (!query.step()) return std::nullopt;
    return query.integer(0);
  }

  std::int64_t find_or_create_person(const std::string& name) {
    if (const auto id = person_id(name)) return *id;
    SqliteStatement(db_, "INSERT INTO people(name) VALUES (?)").bind_text(1, name).run();
    return db_.last_insert_id();
  }

  std::optional<std::string> content_owner(const std::string& content_sha256) {
    SqliteStatement query(db_,
                          "SELECT p.name FROM faces f JOIN people p ON p.id = f.person_id WHERE f.content_sha256 = ?");
    query.bind_text(1, content_sha256);
    if (!query.step()) return std::nullopt;
    return query.text(0);
  }

  std::int64_t face_count() {
    SqliteStatement query(db_, "SELECT COUNT(*) FROM faces");
    query.step();
    return query.integer(0);
  }

  // The model a batch is stored under; binds an unbound gallery to it. kModelMismatch when the
  // batch's model or dimension differs from what the gallery holds.
  std::string bind_for_batch(const std::string& batch_model, std::size_t dim) {
    const std::string bound = meta_text("embedding_model");
    const std::string model = batch_model_for(batch_model, bound);
    if (bound.empty()) set_meta_text("embedding_model", model);
    SqliteStatement stored(db_, "SELECT dim FROM faces LIMIT 1");
    if (stored.step()) require_same_dim(static_cast<std::size_t>(stored.integer(0)), dim);
    return model;
  }

  // A gallery without faces holds no vectors of any model: it may be bound afresh.
  void unbind_model_when_empty() {
    if (face_count() == 0) set_meta_text("embedding_model", "");
  }

  std::int64_t insert_face(std::int64_t person_id, const std::string& model, const FaceRecord& face) {
    const auto& unit = face.embedding.unit;
    const auto& d = face.detection;
    SqliteStatement(db_,
                    "INSERT INTO faces(person_id, model_id, dim, embedding, norm, content_sha256, source, box_x, "
                    "box_y, box_w, box_h, det_score, landmarks) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_int(1, person_id)
        .bind_text(2, model)
        .bind_int(3, static_cast<std::int64_t>(unit.size()))
        .bind_blob(4, encode_floats(unit.data(), unit.size()))
        .bind_real(5, face.embedding.norm)
        .bind_text(6, face.content_sha256)
        .bind_text(7, face.source)
        .bind_real(8, d.box.x)
        .bind_real(9, d.box.y)
        .bind_real(10, d.box.width)
        .bind_real(11, d.box.height)
        .bind_real(12, d.score)
        .bind_blob(13, encode_landmarks(d.landmarks))
        .run();
    const std::int64_t id = db_.last_insert_id();
    if (!face.crop_jpeg.empty())
      SqliteStatement(db_, "INSERT INTO face_crops(face_id, jpeg) VALUES (?, ?)")
          .bind_int(1, id)
          .bind_blob(2, face.crop_jpeg)
          .run();
    return id;
  }

  std::vector<FaceRecord> select_faces(bool with_crops, const char* where, const std::int64_t* person_id) {
    SqliteStatement query(db_, std::string("SELECT ") + kFaceColumns + (with_crops ? ", c.jpeg" : "") +
                                   " FROM faces f JOIN people p ON p.id = f.person_id" +
                                   (with_crops ? " LEFT JOIN face_crops c ON c.face_id = f.id" : "") + where +
                                   " ORDER BY f.id");
    if (person_id) query.bind_int(1, *person_id);
    std::vector<FaceRecord> faces;
    while (query.step()) faces.push_back(read_face_row(query, with_crops));
    return faces;
  }

  std::mutex mutex_;  // one connection, one caller at a time
  std::uintmax_t quick_check_max_bytes_;
  SqliteDb db_;
  std::vector<std::int64_t> changed_;  // faces the running write touched, for the change log
  std::optional<AuditEntry> audit_;    // the running write's audit row (none: not logged)
  std::string actor_ = local_audit_actor();
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
