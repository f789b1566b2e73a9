#pragma once
// What a gallery write does, in which transaction, with which change-log and audit rows and
// which errors: written once here for both SQL backends (sqlite_store.cpp, postgres_store.cpp).
//
// Why a template over a connection type, with the SQL-text differences as data: the two
// backends run the same statements but for table names ("faces" / "faceid.faces"), the
// gallery scope (a PostgreSQL database holds many galleries in shared tables, told apart by a
// gallery_id column; an SQLite file is one gallery), where the model id and version live, and
// a few spellings (timestamps, id lists, byte-order sorting). Those are a GallerySqlDialect.
// What really differs in behaviour (locking, reconnecting, NOTIFY) is the connection's, and
// the schema, migrations and file handling stay in each backend. A template keeps both
// backends' typed statement wrappers as they are, with no virtual call per bound value.
//
// Placeholders are "$N" in both (SQLite numbers "$N" parameters in order of first use). In a
// scoped statement $1 is the gallery scope: the connection binds it (PostgreSQL) or the text
// has no $1 (SQLite, where where() and the scope_* helpers leave it out), and the statement's
// own values are $2, $3, ... in the order they first appear. An unscoped statement (by a row
// id, which is unique across galleries) numbers its values from $1.
//
// The Connection concept:
//   Query                 a statement: bind(value) binds the next parameter (std::int64_t,
//                         double, std::string, a blob as std::vector<std::uint8_t>, an id list
//                         as std::vector<std::int64_t>); step() runs it and moves to the next
//                         row (false at the end); run() runs it to the end; integer(i), real(i),
//                         text(i), blob(i) (empty for NULL) read column i of the row
//   query(sql)            a Query; scoped(sql) one whose $1 is the gallery scope
//   reconnect_if_lost()   before every call that uses the connection
//   WriteTransaction(c)   begins a write holding the gallery's write lock; commit()
//   Snapshot(c)           begins a read of one consistent snapshot; commit()
//   queue_change_notice() tells other processes about this write when it commits (or nothing)
//   kDialect              the GallerySqlDialect
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faceid/error.hpp"
#include "faceid/store.hpp"
#include "storage/audit_log.hpp"
#include "storage/record_codec.hpp"

namespace faceid {

struct GallerySqlDialect {
  // Text put around an SQL expression.
  struct Wrap {
    const char* before;
    const char* after;
    std::string operator()(const std::string& inner) const { return before + inner + after; }
  };
  // One value of the gallery itself: the column of the row `row` (a condition) of `table`.
  struct Field {
    const char* table;
    const char* column;
    const char* row;
  };
  const char* table_prefix;  // put before every table name (a schema)
  const char* scope_column;  // the column that tells galleries apart; "" for one gallery a database
  Field model;               // the embedding model id ("" while unbound)
  Field version;             // the write counter
  Wrap iso_time;             // a timestamp column as ISO-8601 UTC text to the second
  Wrap id_table;             // a bound id list (its $N goes inside) read as a table ids(value)
  const char* bytewise_collation;  // sorts names by their bytes, whatever the locale
};

template <typename Connection>
class SqlGalleryStore : public GalleryStore {
 public:
  std::string model_id() override {
    const auto lock = session();
    return field_text(kSql.model);
  }

  void bind_model(const std::string& model_id) override {
    if (model_id.empty()) throw Error(ErrorCode::kBadRequest, "cannot bind a gallery to an empty model id");
    write([&] {
      const std::string bound = field_text(kSql.model);
      if (bound == model_id) return false;
      if (!bound.empty()) throw model_mismatch(bound, model_id);
      set_field(kSql.model, model_id);
      return true;
    });
  }

  std::vector<PersonInfo> people() override {
    const auto lock = session();
    auto query = db_.scoped("SELECT p.name, COUNT(f.id), " + kSql.iso_time("p.created_at") + " FROM " +
                            table("people") + " p LEFT JOIN " + table("faces") + " f ON f.person_id = p.id" +
                            where("p.", "") + " GROUP BY p.id ORDER BY p.name COLLATE " + kSql.bytewise_collation);
    std::vector<PersonInfo> people;
    while (query.step()) people.push_back({query.text(0), static_cast<int>(query.integer(1)), query.text(2)});
    return people;
  }

  bool has_person(const std::string& name) override {
    const auto lock = session();
    return person_id(name).has_value();
  }

  std::vector<std::int64_t> add_faces(const std::string& person, const std::vector<FaceRecord>& faces) override {
    return add_faces_as("enroll", person, faces);
  }

  std::vector<std::int64_t> import_faces(const std::string& person, const std::vector<FaceRecord>& faces) override {
    return add_faces_as("import", person, faces);
  }

  std::optional<std::string> find_content(const std::string& content_sha256) override {
    const auto lock = session();
    return content_owner(content_sha256);
  }

  void remove_person(const std::string& name) override {
    write([&] {
      const auto id = person_id(name);
      if (!id) throw person_not_found(name);
      changed_ = face_ids_of(*id);
      // Its faces, their crops and embeddings go with it (ON DELETE CASCADE).
      db_.query("DELETE FROM " + table("people") + " WHERE id = $1").bind(*id).run();
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
      db_.query("UPDATE " + table("people") + " SET name = $1 WHERE id = $2").bind(to).bind(*id).run();
      changed_ = face_ids_of(*id);
      audit_ = face_write_entry("rename", from, changed_);
      audit_->new_name = to;
      return true;
    });
  }

  bool remove_face(std::int64_t face_id) override {
    bool removed = false;
    write([&] {
      const auto owner = first_text(db_.scoped("SELECT p.name FROM " + table("faces") + " f JOIN " +
                                               table("people") + " p ON p.id = f.person_id" +
                                               where("f.", "f.id = $2"))
                                        .bind(face_id));
      if (!owner) return false;
      db_.query("DELETE FROM " + table("faces") + " WHERE id = $1").bind(face_id).run();
      removed = true;
      unbind_model_when_empty();
      changed_ = {face_id};
      audit_ = face_write_entry("remove_face", *owner, changed_);
      return true;
    });
    return removed;
  }

  std::vector<FaceRecord> faces(bool with_crops) override {
    const auto lock = session();
    return select_faces(with_crops, "");
  }

  std::vector<FaceRecord> faces_of(const std::string& person, bool with_crops) override {
    const auto lock = session();
    // One snapshot, so "unknown person" and the face list cannot disagree.
    typename Connection::Snapshot snapshot(db_);
    const auto id = person_id(person);
    if (!id) throw person_not_found(person);
    auto faces = select_faces(with_crops, "f.person_id = $2", *id);
    snapshot.commit();
    return faces;
  }

  void replace_embeddings(const std::string& model_id,
                          const std::vector<std::pair<std::int64_t, Embedding>>& embeddings) override {
    validate_replacements(model_id, embeddings);
    write([&] {
      // Distinct ids, all stored, as many as stored faces: every face gets its new vector.
      require_every_face_replaced(face_count(), embeddings.size());
      const std::string update = "UPDATE " + table("faces") +
                                 " SET model_id = $2, dim = $3, embedding = $4, norm = $5" + where("", "id = $6") +
                                 " RETURNING id";
      for (const auto& [id, embedding] : embeddings) {
        const auto& unit = embedding.unit;
        const auto updated = first_integer(db_.scoped(update)
                                               .bind(model_id)
                                               .bind(static_cast<std::int64_t>(unit.size()))
                                               .bind(encode_floats(unit.data(), unit.size()))
                                               .bind(embedding.norm)
                                               .bind(id));
        if (!updated) throw Error(ErrorCode::kNotFound, "face " + std::to_string(id) + " is not in the gallery");
        changed_.push_back(id);
      }
      set_field(kSql.model, model_id);
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
    const auto lock = session();
    auto select = db_.scoped(audit_select_sql(table("audit_log"), kSql.scope_column));
    select.bind(query.since).bind(static_cast<std::int64_t>(query.limit));
    std::vector<AuditEntry> entries;
    while (select.step()) entries.push_back(read_audit_row(select));
    return entries;
  }

  std::int64_t version() override {
    const auto lock = session();
    return current_version();
  }

  GalleryChanges changes_since(std::int64_t since) override {
    const auto lock = session();
    typename Connection::Snapshot snapshot(db_);
    GalleryChanges changes;
    changes.version = current_version();
    changes.model_id = field_text(kSql.model);
    changes.reset = !change_log_covers(since, changes.version);
    if (changes.reset) {
      changes.current = select_faces(false, "");
    } else {
      auto touched = db_.scoped("SELECT DISTINCT face_id FROM " + table("face_changes") + where("", "version > $2") +
                                " ORDER BY face_id");
      touched.bind(since);
      while (touched.step()) changes.removed.push_back(touched.integer(0));
      if (!changes.removed.empty())
        changes.current =
            select_faces(false, "f.id IN (SELECT ids.value FROM " + kSql.id_table("$2") + ")", changes.removed);
    }
    snapshot.commit();
    return changes;
  }

 protected:
  template <typename... ConnectionArgs>
  explicit SqlGalleryStore(ConnectionArgs&&... args) : db_(std::forward<ConnectionArgs>(args)...) {}

  // Runs `body` in one write transaction. It returns whether it changed anything: if so the
  // audit row (audit_, when set) is appended, the version bumped, the faces it touched
  // (changed_) logged and other processes told, all in the same transaction, and it commits;
  // otherwise it rolls back. An exception rolls everything back.
  template <typename Body>
  void write(Body&& body) {
    const auto lock = session();
    typename Connection::WriteTransaction transaction(db_);
    changed_.clear();
    audit_.reset();
    if (!body()) return;
    if (audit_) {
      audit_->actor = actor_;
      auto insert = db_.scoped(audit_insert_sql(table("audit_log"), kSql.scope_column));
      for_each_audit_value(*audit_, [&](const auto& value) { insert.bind(value); });
      insert.run();
    }
    const auto& counter = kSql.version;
    const std::int64_t version =
        *first_integer(db_.scoped(std::string("UPDATE ") + table(counter.table) + " SET " + counter.column + " = " +
                                  counter.column + " + 1 WHERE " + counter.row + " RETURNING " + counter.column));
    if (!changed_.empty())
      db_.scoped("INSERT INTO " + table("face_changes") + "(" + scope_columns() + "version, face_id) SELECT " +
                 scope_values() + "$2, ids.value FROM " + kSql.id_table("$3") + " WHERE true ON CONFLICT DO NOTHING")
          .bind(version)
          .bind(changed_)
          .run();
    db_.scoped("DELETE FROM " + table("face_changes") + where("", "version <= $2"))
        .bind(version - kChangeLogVersions)
        .run();
    db_.queue_change_notice();
    transaction.commit();
  }

  Connection db_;

 private:
  static constexpr const GallerySqlDialect& kSql = Connection::kDialect;

  // The connection for one call: locked against this store's other callers, and connected.
  std::unique_lock<std::mutex> session() {
    std::unique_lock lock(mutex_);
    db_.reconnect_if_lost();
    return lock;
  }

  std::string table(const char* name) const { return std::string(kSql.table_prefix) + name; }

  // " WHERE [ALIASscope = $1 AND ]condition" ("" when both are missing).
  std::string where(const std::string& alias, const std::string& condition) const {
    const std::string scope = *kSql.scope_column ? alias + kSql.scope_column + " = $1" : "";
    if (scope.empty() && condition.empty()) return "";
    return " WHERE " + scope + (scope.empty() || condition.empty() ? "" : " AND ") + condition;
  }
  // The scope column and its value at the head of an INSERT's lists.
  std::string scope_columns() const { return *kSql.scope_column ? kSql.scope_column + std::string(", ") : ""; }
  std::string scope_values() const { return *kSql.scope_column ? "$1, " : ""; }

  // Column 0 of the first row `query` returns, if any. The statement ends with the caller's
  // full expression, so it never stays open across later statements.
  template <typename Query>
  static std::optional<std::int64_t> first_integer(Query&& query) {
    if (!query.step()) return std::nullopt;
    return query.integer(0);
  }
  template <typename Query>
  static std::optional<std::string> first_text(Query&& query) {
    if (!query.step()) return std::nullopt;
    return query.text(0);
  }

  std::string field_text(const GallerySqlDialect::Field& field) {
    return first_text(db_.scoped(std::string("SELECT ") + field.column + " FROM " + table(field.table) + " WHERE " +
                                 field.row))
        .value_or("");
  }

  void set_field(const GallerySqlDialect::Field& field, const std::string& value) {
    db_.scoped("UPDATE " + table(field.table) + " SET " + field.column + " = $2 WHERE " + field.row).bind(value).run();
  }

  std::int64_t current_version() {
    const auto& counter = kSql.version;
    return first_integer(db_.scoped(std::string("SELECT ") + counter.column + " FROM " + table(counter.table) +
                                    " WHERE " + counter.row))
        .value_or(0);
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

  std::vector<std::int64_t> face_ids_of(std::int64_t person_id) {
    auto query = db_.query("SELECT id FROM " + table("faces") + " WHERE person_id = $1");
    query.bind(person_id);
    std::vector<std::int64_t> ids;
    while (query.step()) ids.push_back(query.integer(0));
    return ids;
  }

  std::optional<std::int64_t> person_id(const std::string& name) {
    return first_integer(db_.scoped("SELECT id FROM " + table("people") + where("", "name = $2")).bind(name));
  }

  // Only writers create people, and they hold the gallery's write lock: no other writer can
  // create the same person in between.
  std::int64_t find_or_create_person(const std::string& name) {
    if (const auto id = person_id(name)) return *id;
    return *first_integer(db_.scoped("INSERT INTO " + table("people") + "(" + scope_columns() + "name) VALUES (" +
                                     scope_values() + "$2) RETURNING id")
                              .bind(name));
  }

  std::optional<std::string> content_owner(const std::string& content_sha256) {
    return first_text(db_.scoped("SELECT p.name FROM " + table("faces") + " f JOIN " + table("people") +
                                 " p ON p.id = f.person_id" + where("f.", "f.content_sha256 = $2"))
                          .bind(content_sha256));
  }

  std::int64_t face_count() {
    return *first_integer(db_.scoped("SELECT COUNT(*) FROM " + table("faces") + where("", "")));
  }

  // The model a batch is stored under; binds an unbound gallery to it. kModelMismatch when the
  // batch's model or dimension differs from what the gallery holds.
  std::string bind_for_batch(const std::string& batch_model, std::size_t dim) {
    const std::string bound = field_text(kSql.model);
    const std::string model = batch_model_for(batch_model, bound);
    if (bound.empty()) set_field(kSql.model, model);
    const auto stored = first_integer(db_.scoped("SELECT dim FROM " + table("faces") + where("", "") + " LIMIT 1"));
    if (stored) require_same_dim(static_cast<std::size_t>(*stored), dim);
    return model;
  }

  // A gallery without faces holds no vectors of any model: it may be bound afresh.
  void unbind_model_when_empty() {
    if (face_count() == 0) set_field(kSql.model, "");
  }

  std::int64_t insert_face(std::int64_t person_id, const std::string& model, const FaceRecord& face) {
    const auto& unit = face.embedding.unit;
    const auto& d = face.detection;
    const std::int64_t id = *first_integer(
        db_.scoped("INSERT INTO " + table("faces") + "(" + scope_columns() +
                   "person_id, model_id, dim, embedding, norm, content_sha256, source, box_x, box_y, box_w, box_h, "
                   "det_score, landmarks) VALUES (" +
                   scope_values() + "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id")
            .bind(person_id)
            .bind(model)
            .bind(static_cast<std::int64_t>(unit.size()))
            .bind(encode_floats(unit.data(), unit.size()))
            .bind(face.embedding.norm)
            .bind(face.content_sha256)
            .bind(face.source)
            .bind(d.box.x)
            .bind(d.box.y)
            .bind(d.box.width)
            .bind(d.box.height)
            .bind(d.score)
            .bind(encode_landmarks(d.landmarks)));
    if (!face.crop_jpeg.empty())
      db_.query("INSERT INTO " + table("face_crops") + "(face_id, jpeg) VALUES ($1, $2)")
          .bind(id)
          .bind(face.crop_jpeg)
          .run();
    return id;
  }

  // The faces meeting `condition` ("" for all), its parameters `values` from $2, by id.
  template <typename... Values>
  std::vector<FaceRecord> select_faces(bool with_crops, const std::string& condition, const Values&... values) {
    auto query = db_.scoped(
        "SELECT f.id, p.name, f.model_id, f.embedding, f.norm, f.content_sha256, f.source, f.box_x, f.box_y, "
        "f.box_w, f.box_h, f.det_score, f.landmarks, " +
        kSql.iso_time("f.created_at") + (with_crops ? ", c.jpeg" : "") + " FROM " + table("faces") + " f JOIN " +
        table("people") + " p ON p.id = f.person_id" +
        (with_crops ? " LEFT JOIN " + table("face_crops") + " c ON c.face_id = f.id" : "") + where("f.", condition) +
        " ORDER BY f.id");
    (query.bind(values), ...);
    std::vector<FaceRecord> faces;
    while (query.step()) faces.push_back(read_face_row(query, with_crops));
    return faces;
  }

  std::mutex mutex_;                   // one connection, one caller at a time
  std::vector<std::int64_t> changed_;  // faces the running write touched, for the change log
  std::optional<AuditEntry> audit_;    // the running write's audit row (none: not logged)
  std::string actor_ = local_audit_actor();
};

}  // namespace faceid
