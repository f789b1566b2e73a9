#pragma once
// Persistent gallery storage: people, their faces, embeddings and aligned crops.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceid/types.hpp"

namespace faceid {

struct PersonInfo {
  std::string name;
  int face_count = 0;
  std::string created_at;  // ISO-8601 UTC
};

// What writes after some version did to a gallery: enough for a reader (another process's
// in-memory index) to catch up without reloading everything.
struct GalleryChanges {
  std::int64_t version = 0;  // the store's version these changes bring the reader to
  std::string model_id;      // the gallery's model at `version`
  // True when the log no longer reaches back to the reader's version: `current` then holds
  // every face and the reader replaces its whole view with it.
  bool reset = false;
  std::vector<std::int64_t> removed;  // faces removed or changed: drop these first,
  std::vector<FaceRecord> current;    // then add these (added or changed faces, no crops)
};

// One row of a store's append-only audit log: a write, who made it and when. Fields that do
// not apply to an action are empty (0 for face_count).
struct AuditEntry {
  std::int64_t id = 0;       // assigned by the log, increasing in the order of the writes
  std::string at;            // ISO-8601 UTC, to the second
  std::string actor;         // "key:ID" (REST; the key id, never its secret), "cli:USER" (CLI), local_audit_actor()
  // enroll, import, remove_person, remove_face, rename, reindex; the server's own log adds
  // key_create, key_rotate, key_revoke, collection_create, collection_delete.
  std::string action;
  std::string collection;    // the collection (server); "" for a gallery's own writes
  std::string person;        // the person written (for rename: the old name)
  std::string new_name;      // rename: the new name
  std::string key_id;        // key actions: the key
  std::vector<std::int64_t> face_ids;  // faces added, removed or re-embedded
  int face_count = 0;                  // faces the write touched
};

// Which audit rows to read: those at or after `since` (an ISO-8601 UTC date or time prefix,
// "" = all), newest first, at most `limit` (1..kAuditMaxLimit).
struct AuditQuery {
  static constexpr int kMaxLimit = 1000;
  std::string since;
  int limit = 100;
};

// Error(kBadRequest) unless `query` is within the bounds above.
void validate_audit_query(const AuditQuery& query);

// "PROGRAM:USER" with the OS user running this process ("cli:alice"). A store's writes are
// recorded as local_audit_actor() until set_audit_actor() says otherwise.
std::string local_audit_actor(const std::string& program = "local");

// Storage backend. Every mutating call is one transaction: it fully happens or not at all.
class GalleryStore {
 public:
  virtual ~GalleryStore() = default;

  // The embedding model this gallery holds vectors of ("" while empty).
  virtual std::string model_id() = 0;
  // Binds an empty gallery to a model; Error(kModelMismatch) if bound to another.
  virtual void bind_model(const std::string& model_id) = 0;

  virtual std::vector<PersonInfo> people() = 0;
  virtual bool has_person(const std::string& name) = 0;
  // Adds faces to `person` (created if needed). Returns the new face ids in order.
  // A face whose content_sha256 is already stored throws Error(kConflict) and adds nothing.
  virtual std::vector<std::int64_t> add_faces(const std::string& person,
                                              const std::vector<FaceRecord>& faces) = 0;
  // add_faces() recorded in the audit log as an import (faces from `faceid export`).
  virtual std::vector<std::int64_t> import_faces(const std::string& person,
                                                 const std::vector<FaceRecord>& faces) = 0;
  // Which person (if any) already holds a face made from these image bytes.
  virtual std::optional<std::string> find_content(const std::string& content_sha256) = 0;
  virtual void remove_person(const std::string& name) = 0;   // Error(kNotFound)
  virtual void rename_person(const std::string& from, const std::string& to) = 0;  // kNotFound / kConflict
  virtual bool remove_face(std::int64_t face_id) = 0;
  virtual std::vector<FaceRecord> faces(bool with_crops) = 0;
  virtual std::vector<FaceRecord> faces_of(const std::string& person, bool with_crops) = 0;
  // Replaces every embedding (reindex with a new model) in one transaction.
  virtual void replace_embeddings(const std::string& model_id,
                                  const std::vector<std::pair<std::int64_t, Embedding>>& embeddings) = 0;
  // Who the following writes of this store are recorded as in its audit log (AuditEntry::actor).
  // Every write that changes something appends its audit row in its own transaction: no write
  // without its row, no row for a write that rolled back. The log has no update or delete.
  virtual void set_audit_actor(const std::string& actor) = 0;
  virtual std::vector<AuditEntry> audit(const AuditQuery& query) = 0;
  // Monotonic counter bumped by every write; lets a reader see that it is stale.
  virtual std::int64_t version() = 0;
  // The changes of every write after `version`, read in one snapshot.
  virtual GalleryChanges changes_since(std::int64_t version) = 0;
  // Asks the store to call `notify` (from a thread of its own) soon after another connection
  // commits a write, where the backend can push that news; calls may also be spurious. An
  // empty function stops them. By default nothing is pushed: readers poll version().
  virtual void on_external_change(std::function<void()> notify) { (void)notify; }
};

// Opens a store by URI: a file path or "sqlite:PATH" (SQLite; the file and its folder are
// created when missing; ":memory:" keeps everything in memory). Error(kCorruptStore) for a
// damaged or newer-schema file, Error(kUnavailable) when another process keeps it locked.
// "postgresql://..." or "postgres://..." (a libpq connection URI) opens a gallery in a
// PostgreSQL database; the extra query parameter "gallery=NAME" picks one of several
// galleries there ("default" when absent). Error(kUnavailable) when the server cannot be
// reached, after retrying with back-off for a while.
std::unique_ptr<GalleryStore> open_store(const std::string& uri);

// Whether `uri` names a PostgreSQL gallery ("postgresql://..." or "postgres://...").
bool is_postgres_uri(const std::string& uri);

// $FACEID_GALLERY, else $XDG_DATA_HOME/faceid/gallery.db, else ~/.local/share/faceid/gallery.db.
std::string default_gallery_path();

}  // namespace faceid
