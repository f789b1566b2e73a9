#pragma once
// Persistent gallery storage: people, their faces, embeddings and aligned crops.
#include <cstdint>
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

struct FaceRecord {
  std::int64_t id = 0;          // assigned by the store
  std::string person;
  std::string model_id;         // model that produced `embedding`
  Embedding embedding;
  std::string content_sha256;   // hash of the source image bytes (idempotent enrollment)
  std::string source;           // where the image came from (file name, "upload", ...)
  Detection detection;          // in the source image
  std::vector<std::uint8_t> crop_jpeg;  // aligned crop; empty when not kept
  std::string created_at;
};

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
  // Monotonic counter bumped by every write; lets a reader see that it is stale.
  virtual std::int64_t version() = 0;
};

// Opens a store by URI: a file path or "sqlite:PATH" (SQLite; the file and its folder are
// created when missing; ":memory:" keeps everything in memory). Error(kCorruptStore) for a
// damaged or newer-schema file, Error(kUnavailable) when another process keeps it locked.
std::unique_ptr<GalleryStore> open_store(const std::string& uri);

// $FACEID_GALLERY, else $XDG_DATA_HOME/faceid/gallery.db, else ~/.local/share/faceid/gallery.db.
std::string default_gallery_path();

}  // namespace faceid
