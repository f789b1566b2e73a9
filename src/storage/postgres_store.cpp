// The PostgreSQL gallery store: many processes (server replicas) share one database. Writers
// of a gallery are serialised by a lock on its row, every write is one transaction that also
// logs the faces it touched and sends a NOTIFY, and a LISTEN connection per store tells its
// owner when another process wrote. What the writes do is sql_gallery_store.hpp's; this file
// holds what only PostgreSQL has.
#include "storage/postgres_store.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "storage/audit_log.hpp"
#include "storage/pg_db.hpp"
#include "storage/sql_gallery_store.hpp"

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

// The PostgreSQL side of the shared gallery store: one gallery of a database, scoped by its
// row of faceid.galleries. A write locks that row, so that writers of the gallery in every
// process take turns (each reads what the one before committed, checks and counters cannot
// race, and versions commit in order: a reader that saw version v has seen every change up to
// v), and sends a NOTIFY on commit. A lost connection is replaced at the next call.
class PgGallery {
 public:
  static constexpr GallerySqlDialect kDialect{
      "faceid.",                                  // table_prefix
      "gallery_id",                               // scope_column
      {"galleries", "embedding_model", "id = $1"},  // model
      {"galleries", "version", "id = $1"},          // version
      {"to_char(", " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},  // iso_time
      {"unnest(", "::bigint[]) AS ids(value)"},   // id_table
      "\"C\"",  // bytewise_collation, as SQLite sorts, whatever the database's locale
  };
  using Query = PgQuery;

  PgGallery(Target target, std::chrono::milliseconds connect_retry)
      : target_(std::move(target)), db_(target_.uri, connect_retry) {}

  PgConnection& connection() { return db_; }
  const Target& target() const { return target_; }
  void set_gallery_id(std::int64_t id) { gallery_id_ = id; }

  PgQuery query(const std::string& sql) { return PgQuery(db_, sql); }
  PgQuery scoped(const std::string& sql) { return PgQuery(db_, sql, PgParams().integer(gallery_id_)); }
  void reconnect_if_lost() { db_.ensure_connected(); }
  void queue_change_notice() {
    db_.exec("SELECT pg_notify($1, $2)", PgParams().text(kChannel).text(target_.gallery));  // sent on commit
  }

  class WriteTransaction {
   public:
    explicit WriteTransaction(PgGallery& gallery) : transaction_(gallery.db_) {
      gallery.scoped("SELECT 1 FROM faceid.galleries WHERE id = $1 FOR UPDATE").run();
    }
    void commit() { transaction_.commit(); }

   private:
    PgTransaction transaction_;
  };

  class Snapshot {
   public:
    explicit Snapshot(PgGallery& gallery) : transaction_(gallery.db_, "ISOLATION LEVEL REPEATABLE READ READ ONLY") {}
    void commit() { transaction_.commit(); }

   private:
    PgTransaction transaction_;
  };

 private:
  const Target target_;
  PgConnection db_;
  std::int64_t gallery_id_ = 0;
};

// The schema, its migrations, the gallery's row and the LISTEN thread around the shared store.
class PostgresStore final : public SqlGalleryStore<PgGallery> {
 public:
  PostgresStore(Target target, const PostgresStoreOptions& options)
      : SqlGalleryStore(std::move(target), options.connect_retry) {
    migrate();
    const std::string& gallery = db_.target().gallery;
    PgTransaction transaction(db());
    db().exec("INSERT INTO faceid.galleries(name) VALUES ($1) ON CONFLICT (name) DO NOTHING", PgParams().text(gallery));
    db_.set_gallery_id(
        db().exec("SELECT id FROM faceid.galleries WHERE name = $1", PgParams().text(gallery)).integer(0, 0));
    transaction.commit();
  }

  ~PostgresStore() override {
    // The listener calls back into its owner: it stops before anything else goes.
    std::lock_guard lock(listener_mutex_);
    listener_.reset();
  }

  void on_external_change(std::function<void()> notify) override {
    std::lock_guard lock(listener_mutex_);
    listener_.reset();
    if (notify) listener_ = std::make_unique<ChangeListener>(db_.target().uri, db_.target().gallery, std::move(notify));
  }

 private:
  PgConnection& db() { return db_.connection(); }

  // 0 for a database FaceID never used. Needs no write privilege, so a database migrated by
  // its administrator can be used by a role that may only read and write rows.
  int schema_version() {
    if (db().exec("SELECT to_regclass('faceid.schema_migrations') IS NOT NULL").text(0, 0) != "t") return 0;
    const std::int64_t version =
        db().exec("SELECT COALESCE(MAX(version), 0) FROM faceid.schema_migrations").integer(0, 0);
    if (version > kPostgresSchemaVersion)
      throw Error(ErrorCode::kCorruptStore, "the FaceID schema in the database at " + db().where() +
                                                " was written by a newer FaceID (schema " + std::to_string(version) +
                                                "; this build reads up to schema " +
                                                std::to_string(kPostgresSchemaVersion) + "): upgrade FaceID");
    return static_cast<int>(version);
  }

  // Applies the missing migrations in one transaction, one process at a time.
  void migrate() {
    if (schema_version() == kPostgresSchemaVersion) return;
    PgTransaction transaction(db());
    db().exec("SELECT pg_advisory_xact_lock($1)", PgParams().integer(kMigrationLock));
    db().exec_script(
        "CREATE SCHEMA IF NOT EXISTS faceid;"
        "CREATE TABLE IF NOT EXISTS faceid.schema_migrations ("
        "  version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())");
    for (int version = schema_version(); version < kPostgresSchemaVersion; ++version) {
      db().exec_script(kMigrations[version]);
      db().exec("INSERT INTO faceid.schema_migrations(version) VALUES ($1)", PgParams().integer(version + 1));
    }
    transaction.commit();
  }

  std::mutex listener_mutex_;
  std::unique_ptr<ChangeListener> listener_;
};

}  // namespace

std::unique_ptr<GalleryStore> open_postgres_store(const std::string& uri, const PostgresStoreOptions& options) {
  return std::make_unique<PostgresStore>(split_gallery(uri), options);
}

}  // namespace faceid
