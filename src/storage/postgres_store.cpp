// The PostgreSQL gallery store: many processes (server replicas) share one database. Writers
// of a gallery are serialised by a lock on its row, every write is one transaction that also
// logs the faces it touched and sends a NOTIFY, and a LISTEN connection per store tells its
// owner when another process wrote.
#include "storage/postgres_store.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "storage/audit_log.hpp"
#include "storage/pg_db.hpp"
#include "storage/record_codec.hpp"

namespace faceid {
namespace {

using namespace std::chrono_literals;

// kMigrations[i] upgrades the schema from version i to i + 1; append, never edit.
const char* const kMigrations[] = {
    // 1: the first schema. Embeddings and landmarks are bytea in the same little-endian
    // float32 layout as the SQLite backend (record_codec), next to the id of their model.
    // bigserial ids are never handed out again, so a removed face's id cannot come back
    // while another replica's index still holds it. Crops have their own table so that
    // loading the index never reads them; they are JPEG already, so not compressed again.
    R"sql(
    CREATE TABLE faceid.galleries (
      id bigserial PRIMARY KEY,
      name text NOT NULL UNIQUE,
      embedding_model text NOT NULL DEFAULT '',
      version bigint NOT NULL DEFAULT 0);
    CREATE TABLE faceid.people (
      id bigserial PRIMARY KEY,
      gallery_id bigint NOT NULL REFERENCES faceid.galleries(id) ON DELETE CASCADE,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (gallery_id, name));
    CREATE TABLE faceid.faces (
      id bigserial PRIMARY KEY,
      gallery_id bigint NOT NULL REFERENCES faceid.galleries(id) ON DELETE CASCADE,
      person_id bigint NOT NULL REFERENCES faceid.people(id) ON DELETE CASCADE,
      model_id text NOT NULL,
      dim integer NOT NULL CHECK (dim > 0),
      embedding bytea NOT NULL CHECK (length(embedding) = 4 * dim),
      norm real NOT NULL,
      content_sha256 text NOT NULL,
      source text NOT NULL,
      box_x real NOT NULL, box_y real NOT NULL, box_w real NOT NULL, box_h real NOT NULL,
      det_score real NOT NULL,
      landmarks bytea NOT NULL CHECK (length(landmarks) = 40),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (gallery_id, content_sha256));
    CREATE INDEX faces_by_person ON faceid.faces(person_id);
    CREATE TABLE faceid.face_crops (
      face_id bigint PRIMARY KEY REFERENCES faceid.faces(id) ON DELETE CASCADE,
      jpeg bytea NOT NULL);
    ALTER TABLE faceid.face_crops ALTER COLUMN jpeg SET STORAGE EXTERNAL;
    CREATE TABLE faceid.face_changes (
      gallery_id bigint NOT NULL REFERENCES faceid.galleries(id) ON DELETE CASCADE,
      version bigint NOT NULL,
      face_id bigint NOT NULL,
      PRIMARY KEY (gallery_id, version, face_id));
    )sql",
    // 2: the append-only audit log (GalleryStore::audit): one row per write, in its
    // transaction. No foreign key to galleries: a row must outlive what it describes.
    "CREATE TABLE faceid.audit_log (id bigserial PRIMARY KEY, gallery_id bigint NOT NULL, " FACEID_AUDIT_COLUMNS ");"
    R"sql(
    CREATE INDEX audit_log_by_gallery ON faceid.audit_log(gallery_id, id);
    CREATE FUNCTION faceid.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON faceid.audit_log
      FOR EACH ROW EXECUTE PROCEDURE faceid.audit_log_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON faceid.audit_log
      FOR EACH STATEMENT EXECUTE PROCEDURE faceid.audit_log_append_only();
    )sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kPostgresSchemaVersion,
              "one migration per schema version");

// Replicas that start together take turns migrating (pg_advisory_xact_lock key, "FaID").
constexpr std::int64_t kMigrationLock = 0x46614944;
// The NOTIFY channel of every gallery; the payload is the gallery's name.
constexpr const char* kChannel = "faceid_changes";

constexpr const char* kFaceColumns =
    "f.id, p.name, f.model_id, f.embedding, f.norm, f.content_sha256, f.source, f.box_x, f.box_y, f.box_w, "
    "f.box_h, f.det_score, f.landmarks, to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
constexpr const char* kIsoCreatedAt = "to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

// One row of a result, read the way read_face_row() expects.
struct PgRow {
  const PgResult& result;
  int row;
  std::int64_t integer(int column) const { return result.integer(row, column); }
  std::string text(int column) const { return result.text(row, column); }
  double real(int column) const { return result.real(row, column); }
  std::vector<std::uint8_t> blob(int column) const {
    return result.null(row, column) ? std::vector<std::uint8_t>() : result.bytes(row, column);
  }
};

struct Target {
  std::string uri;      // what libpq gets
  std::string gallery;  // which gallery of the database
};

// libpq refuses query parameters it does not know, so "gallery=NAME" is taken off the URI.
Target split_gallery(const std::string& uri) {
  Target target{uri, "default"};
  const auto query = uri.find('?');
  if (query == std::string::npos) return target;
  std::string kept;
  std::size_t start = query + 1;
  while (start <= uri.size()) {
    const auto end = std::min(uri.find('&', start), uri.size());
    const std::string parameter = uri.substr(start, end - start);
    if (parameter.rfind("gallery=", 0) == 0) target.gallery = parameter.substr(8);
    else if (!parameter.empty()) kept += (kept.empty() ? "" : "&") + parameter;
    start = end + 1;
  }
  target.uri = uri.substr(0, query) + (kept.empty() ? "" : "?" + kept);
  const bool valid = !target.gallery.empty() && target.gallery.size() <= 64 &&
                     std::all_of(target.gallery.begin(), target.gallery.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                     });
  if (!valid)
    throw Error(ErrorCode::kBadRequest, "invalid gallery name '" + target.gallery +
                                            "' in the PostgreSQL URI: use 1-64 letters, digits, '_' or '-'");
  return target;
}

// A file descriptor closed on scope exit.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  ~OwnedFd() {
    if (fd_ >= 0) close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// A thread with its own connection that LISTENs on kChannel and calls `notify` for every
// notification about `gallery`, and once after each (re)connection, since notifications sent
// while it was not listening are lost. It reconnects with back-off on its own.
class ChangeListener {
 public:
  ChangeListener(std::string uri, std::string gallery, std::function<void()> notify)
      : uri_(std::move(uri)), gallery_(std::move(gallery)), notify_(std::move(notify)), wake_(eventfd(0, EFD_CLOEXEC)) {
    if (wake_.get() < 0) throw Error(ErrorCode::kIo, "cannot create an eventfd for the change listener");
    thread_ = std::thread([this] { run(); });
  }
  ~ChangeListener() {
    stopping_ = true;
    const std::uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

 private:
  void run() {
    std::chrono::milliseconds delay = 100ms;
    while (!stopping_) {
      try {
        PgConnection connection(uri_, 0ms);
        connection.exec(std::string("LISTEN ") + kChannel);
        delay = 100ms;
        notify_();
        listen(connection);
      } catch (const Error& e) {
        if (stopping_) break;
        spdlog::warn("change notifications for gallery {} stopped ({}); reconnecting in {} ms", gallery_, e.what(),
                     delay.count());
        wait(static_cast<int>(delay.count()), -1);
        delay = std::min(delay * 2, std::chrono::milliseconds(5000));
      }
    }
  }

  // Until stopped or the connection fails (an Error).
  void listen(PgConnection& connection) {
    while (!stopping_) {
      // A quiet connection is pinged now and then: a server that vanished without closing
      // the socket would otherwise leave this thread waiting for ever.
      if (!wait(10000, connection.socket()) && !stopping_) connection.exec("SELECT 1");
      const auto payloads = connection.notifications();
      if (std::find(payloads.begin(), payloads.end(), gallery_) != payloads.end()) notify_();
    }
  }

  // Waits up to `timeout_ms` for `socket` (if >= 0) to become readable or for stop; true
  // when the socket is readable.
  bool wait(int timeout_ms, int socket) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {socket, POLLIN, 0}};
    const int ready = poll(fds, socket >= 0 ? 2 : 1, timeout_ms);
    return ready > 0 && socket >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR));
  }

  std::string uri_;
  std::string gallery_;
  std::function<void()> notify_;
  OwnedFd wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

class PostgresStore final : public GalleryStore {
 public:
  PostgresStore(Target target, const PostgresStoreOptions& options)
      : target_(std::move(target)), db_(target_.uri, options.connect_retry) {
    migrate();
    PgTransaction transaction(db_);
    db_.exec("INSERT INTO faceid.galleries(name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
             PgParams().text(target_.gallery));
    gallery_id_ = db_.exec("SELECT id FROM faceid.galleries WHERE name = $1", PgParams().text(target_.gallery))
                      .integer(0, 0);
    transaction.commit();
  }

  ~PostgresStore() override {
    // The listener calls back into its owner: it stops before anything else goes.
    std::lock_guard lock(listener_mutex_);
    listener_.reset();
  }

  std::string model_id() override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    return bound_model();
  }

  void bind_model(const std::string& model_id) override {
    if (model_id.empty()) throw Error(ErrorCode::kBadRequest, "cannot bind a gallery to an empty model id");
    write([&] {
      const std::string bound = bound_model();
      if (bound == model_id) return false;
      if (!bound.empty()) throw model_mismatch(bound, model_id);
      set_model(model_id);
      return true;
    });
  }

  std::vector<PersonInfo> people() override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    const PgResult rows = db_.exec(std::string("SELECT p.name, COUNT(f.id), ") + kIsoCreatedAt +
                                       " FROM faceid.people p LEFT JOIN faceid.faces f ON f.person_id = p.id "
                                       "WHERE p.gallery_id = $1 GROUP BY p.id ORDER BY p.name COLLATE \"C\"",
                                   gallery());
    std::vector<PersonInfo> people;
    for (int i = 0; i < rows.rows(); ++i)
      people.push_back({rows.text(i, 0), static_cast<int>(rows.integer(i, 1)), rows.text(i, 2)});
    return people;
  }

  bool has_person(const std::string& name) override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
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
    db_.ensure_connected();
    return content_owner(content_sha256);
  }

  void remove_person(const std::string& name) override {
    write([&] {
      const auto id = person_id(name);
      if (!id) throw person_not_found(name);
      changed_ = face_ids_of(*id);
      // Its faces, their crops and embeddings go with it (ON DELETE CASCADE).
      db_.exec("DELETE FROM faceid.people WHERE id = $1", PgParams().integer(*id));
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
      db_.exec("UPDATE faceid.people SET name = $1 WHERE id = $2", PgParams().text(to).integer(*id));
      changed_ = face_ids_of(*id);
      audit_ = face_write_entry("rename", from, changed_);
      audit_->new_name = to;
      return true;
    });
  }

  bool remove_face(std::int64_t face_id) override {
    bool removed = false;
    write([&] {
      // RETURNING reads the owner before the row goes (a face's person outlives it here).
      const PgResult owner = db_.exec(
          "DELETE FROM faceid.faces f USING faceid.people p "
          "WHERE f.gallery_id = $1 AND f.id = $2 AND p.id = f.person_id RETURNING p.name",
          gallery().integer(face_id));
      removed = owner.rows() > 0;
      if (!removed) return false;
      unbind_model_when_empty();
      changed_ = {face_id};
      audit_ = face_write_entry("remove_face", owner.text(0, 0), changed_);
      return true;
    });
    return removed;
  }

  std::vector<FaceRecord> faces(bool with_crops) override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    return select_faces(with_crops, "", gallery());
  }

  std::vector<FaceRecord> faces_of(const std::string& person, bool with_crops) override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    // One snapshot, so "unknown person" and the face list cannot disagree.
    PgTransaction snapshot(db_, "ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const auto id = person_id(person);
    if (!id) throw person_not_found(person);
    auto faces = select_faces(with_crops, " AND f.person_id = $2", gallery().integer(*id));
    snapshot.commit();
    return faces;
  }

  void replace_embeddings(const std::string& model_id,
                          const std::vector<std::pair<std::int64_t, Embedding>>& embeddings) override {
    validate_replacements(model_id, embeddings);
    write([&] {
      require_every_face_replaced(face_count(), embeddings.size());
      for (const auto& [id, embedding] : embeddings) {
        const auto& unit = embedding.unit;
        const PgResult updated = db_.exec(
            "UPDATE faceid.faces SET model_id = $3, dim = $4, embedding = $5, norm = $6 "
            "WHERE gallery_id = $1 AND id = $2 RETURNING id",
            gallery()
                .integer(id)
                .text(model_id)
                .integer(static_cast<std::int64_t>(unit.size()))
                .bytes(encode_floats(unit.data(), unit.size()))
                .real(embedding.norm));
        if (updated.rows() != 1)
          throw Error(ErrorCode::kNotFound, "face " + std::to_string(id) + " is not in the gallery");
        changed_.push_back(id);
      }
      set_model(model_id);
      audit_ = AuditEntry{};
      audit_->action = "reindex";
      audit_->face_count = static_cast<int>(embeddings.size());
      return true;
    });
  }

  std::int64_t version() override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    return db_.exec("SELECT version FROM faceid.galleries WHERE id = $1", gallery()).integer(0, 0);
  }

  GalleryChanges changes_since(std::int64_t since) override {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    PgTransaction snapshot(db_, "ISOLATION LEVEL REPEATABLE READ READ ONLY");
    GalleryChanges changes;
    const PgResult head = db_.exec("SELECT version, embedding_model FROM faceid.galleries WHERE id = $1", gallery());
    changes.version = head.integer(0, 0);
    changes.model_id = head.text(0, 1);
    changes.reset = !change_log_covers(since, changes.version);
    if (changes.reset) {
      changes.current = select_faces(false, "", gallery());
    } else {
      const PgResult touched = db_.exec(
          "SELECT DISTINCT face_id FROM faceid.face_changes WHERE gallery_id = $1 AND version > $2 ORDER BY face_id",
          gallery().integer(since));
      for (int i = 0; i < touched.rows(); ++i) changes.removed.push_back(touched.integer(i, 0));
      if (!changes.removed.empty())
        changes.current = select_faces(false, " AND f.id = ANY($2::bigint[])", gallery().integers(changes.removed));
    }
    snapshot.commit();
    return changes;
  }

  void set_audit_actor(const std::string& actor) override {
    std::lock_guard lock(mutex_);
    actor_ = actor;
  }

  std::vector<AuditEntry> audit(const AuditQuery& query) override {
    validate_audit_query(query);
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    const PgResult rows = db_.exec(audit_select_sql("faceid.audit_log", "gallery_id"),
                                   gallery().text(query.since).integer(query.limit));
    std::vector<AuditEntry> entries;
    for (int i = 0; i < rows.rows(); ++i) entries.push_back(read_audit_row(PgRow{rows, i}));
    return entries;
  }

  void on_external_change(std::function<void()> notify) override {
    std::lock_guard lock(listener_mutex_);
    listener_.reset();
    if (notify) listener_ = std::make_unique<ChangeListener>(target_.uri, target_.gallery, std::move(notify));
  }

 private:
  PgParams gallery() const { return PgParams().integer(gallery_id_); }

  // Runs `body` in one transaction. It returns whether it changed anything: if so the
  // version is bumped, the faces it touched (changed_) are logged and a notification is
  // queued, all in the same transaction, and it commits; otherwise it rolls back. An
  // exception rolls everything back; a connection lost on the way is Error(kUnavailable).
  template <typename Body>
  void write(Body&& body) {
    std::lock_guard lock(mutex_);
    db_.ensure_connected();
    PgTransaction transaction(db_);
    // The gallery's row lock serialises its writers across every process, so each write
    // reads what the one before committed, checks and counters cannot race, and versions
    // commit in order (a reader that saw version v has seen every change up to v).
    db_.exec("SELECT 1 FROM faceid.galleries WHERE id = $1 FOR UPDATE", gallery());
    changed_.clear();
    audit_.reset();
    if (!body()) return;
    if (audit_) {
      audit_->actor = actor_;
      PgParams row = gallery();
      for_each_audit_value(*audit_, [&](const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) row.text(value);
        else row.integer(value);
      });
      db_.exec(audit_insert_sql("faceid.audit_log", "gallery_id"), row);
    }
    const std::int64_t version =
        db_.exec("UPDATE faceid.galleries SET version = version + 1 WHERE id = $1 RETURNING version", gallery())
            .integer(0, 0);
    if (!changed_.empty())
      db_.exec("INSERT INTO faceid.face_changes(gallery_id, version, face_id) "
               "SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING",
               gallery().integer(version).integers(changed_));
    db_.exec("DELETE FROM faceid.face_changes WHERE gallery_id = $1 AND version <= $2",
             gallery().integer(version - kChangeLogVersions));
    db_.exec("SELECT pg_notify($1, $2)", PgParams().text(kChannel).text(target_.gallery));  // sent on commit
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
      db_.exec("INSERT INTO faceid.people(gallery_id, name) VALUES ($1, $2) ON CONFLICT (gallery_id, name) DO NOTHING",
               gallery().text(person));
      const std::int64_t owner_id = *person_id(person);
      for (const auto& face : faces) ids.push_back(insert_face(owner_id, model, face));
      changed_ = ids;
      audit_ = face_write_entry(action, person, ids);
      return true;
    });
    return ids;
  }

  // 0 for a database FaceID never used. Needs no write privilege, so a database migrated by
  // its administrator can be used by a role that may only read and write rows.
  int schema_version() {
    if (db_.exec("SELECT to_regclass('faceid.schema_migrations') IS NOT NULL").text(0, 0) != "t") return 0;
    const std::int64_t version =
        db_.exec("SELECT COALESCE(MAX(version), 0) FROM faceid.schema_migrations").integer(0, 0);
    if (version > kPostgresSchemaVersion)
      throw Error(ErrorCode::kCorruptStore, "the FaceID schema in the database at " + db_.where() +
                                                " was written by a newer FaceID (schema " + std::to_string(version) +
                                                "; this build reads up to schema " +
                                                std::to_string(kPostgresSchemaVersion) + "): upgrade FaceID");
    return static_cast<int>(version);
  }

  // Applies the missing migrations in one transaction, one process at a time.
  void migrate() {
    if (schema_version() == kPostgresSchemaVersion) return;
    PgTransaction transaction(db_);
    db_.exec("SELECT pg_advisory_xact_lock($1)", PgParams().integer(kMigrationLock));
    db_.exec_script(
        "CREATE SCHEMA IF NOT EXISTS faceid;"
        "CREATE TABLE IF NOT EXISTS faceid.schema_migrations ("
        "  version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    for (int version = schema_version(); version < kPostgresSchemaVersion; ++version) {
      db_.exec_script(kMigrations[version]);
      db_.exec("INSERT INTO faceid.schema_migrations(version) VALUES ($1)", PgParams().integer(version + 1));
    }
    transaction.commit();
  }

  std::string bound_model() {
    return db_.exec("SELECT embedding_model FROM faceid.galleries WHERE id = $1", gallery()).text(0, 0);
  }

  void set_model(const std::string& model) {
    db_.exec("UPDATE faceid.galleries SET embedding_model = $2 WHERE id = $1", gallery().text(model));
  }

  std::optional<std::int64_t> person_id(const std::string& name) {
    const PgResult row =
        db_.exec("SELECT id FROM faceid.people WHERE gallery_id = $1 AND name = $2", gallery().text(name));
    if (row.rows() == 0) return std::nullopt;
    return row.integer(0, 0);
  }

  std::vector<std::int64_t> face_ids_of(std::int64_t person_id) {
    const PgResult rows = db_.exec("SELECT id FROM faceid.faces WHERE person_id = $1", PgParams().integer(person_id));
    std::vector<std::int64_t> ids;
    for (int i = 0; i < rows.rows(); ++i) ids.push_back(rows.integer(i, 0));
    return ids;
  }

  std::optional<std::string> content_owner(const std::string& content_sha256) {
    const PgResult row = db_.exec(
        "SELECT p.name FROM faceid.faces f JOIN faceid.people p ON p.id = f.person_id "
        "WHERE f.gallery_id = $1 AND f.content_sha256 = $2",
        gallery().text(content_sha256));
    if (row.rows() == 0) return std::nullopt;
    return row.text(0, 0);
  }

  std::int64_t face_count() {
    return db_.exec("SELECT COUNT(*) FROM faceid.faces WHERE gallery_id = $1", gallery()).integer(0, 0);
  }

  // The model a batch is stored under; binds an unbound gallery to it.
  std::string bind_for_batch(const std::string& batch_model, std::size_t dim) {
    const std::string bound = bound_model();
    const std::string model = batch_model_for(batch_model, bound);
    if (bound.empty()) set_model(model);
    const PgResult stored = db_.exec("SELECT dim FROM faceid.faces WHERE gallery_id = $1 LIMIT 1", gallery());
    if (stored.rows() > 0) require_same_dim(static_cast<std::size_t>(stored.integer(0, 0)), dim);
    return model;
  }

  // A gallery without faces holds no vectors of any model: it may be bound afresh.
  void unbind_model_when_empty() {
    if (face_count() == 0) set_model("");
  }

  std::int64_t insert_face(std::int64_t person_id, const std::string& model, const FaceRecord& face) {
    const auto& unit = face.embedding.unit;
    const auto& d = face.detection;
    const std::int64_t id =
        db_.exec("INSERT INTO faceid.faces(gallery_id, person_id, model_id, dim, embedding, norm, content_sha256, "
                 "source, box_x, box_y, box_w, box_h, det_score, landmarks) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                 gallery()
                     .integer(person_id)
                     .text(model)
                     .integer(static_cast<std::int64_t>(unit.size()))
                     .bytes(encode_floats(unit.data(), unit.size()))
                     .real(face.embedding.norm)
                     .text(face.content_sha256)
                     .text(face.source)
                     .real(d.box.x)
                     .real(d.box.y)
                     .real(d.box.width)
                     .real(d.box.height)
                     .real(d.score)
                     .bytes(encode_landmarks(d.landmarks)))
            .integer(0, 0);
    if (!face.crop_jpeg.empty())
      db_.exec("INSERT INTO faceid.face_crops(face_id, jpeg) VALUES ($1, $2)",
               PgParams().integer(id).bytes(face.crop_jpeg));
    return id;
  }

  // `where` continues "WHERE f.gallery_id = $1"; `params` starts with the gallery id.
  std::vector<FaceRecord> select_faces(bool with_crops, const char* where, const PgParams& params) {
    const PgResult rows =
        db_.exec(std::string("SELECT ") + kFaceColumns + (with_crops ? ", c.jpeg" : "") +
                     " FROM faceid.faces f JOIN faceid.people p ON p.id = f.person_id" +
                     (with_crops ? " LEFT JOIN faceid.face_crops c ON c.face_id = f.id" : "") +
                     " WHERE f.gallery_id = $1" + where + " ORDER BY f.id",
                 params);
    std::vector<FaceRecord> faces;
    for (int i = 0; i < rows.rows(); ++i) faces.push_back(read_face_row(PgRow{rows, i}, with_crops));
    return faces;
  }

  const Target target_;
  std::mutex mutex_;  // one connection, one caller at a time
  PgConnection db_;
  std::int64_t gallery_id_ = 0;
  std::vector<std::int64_t> changed_;  // faces the running write touched, for the change log
  std::optional<AuditEntry> audit_;    // the running write's audit row (none: not logged)
  std::string actor_ = local_audit_actor();
  std::mutex listener_mutex_;
  std::unique_ptr<ChangeListener> listener_;
};

}  // namespace

std::unique_ptr<GalleryStore> open_postgres_store(const std::string& uri, const PostgresStoreOptions& options) {
  return std::make_unique<PostgresStore>(split_gallery(uri), options);
}

}  // namespace faceid
