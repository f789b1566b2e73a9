#pragma once
// Serving many galleries from one process: named collections that share one
// pipeline's models (faceid/pipeline.hpp), per-collection API keys, and the REST front-end
// over both.
//
//   auto models = faceid::Pipeline::open(config);           // models load once
//   faceid::CollectionSet collections(*models, {data_dir});
//   faceid::ApiKeyStore keys(data_dir + "/keys.json");
//   faceid::RestServer server(*models, collections, keys, options);
//   server.bind(); server.run();                            // stop() from another thread
//
// An Engine over the same models (Engine::open(models)) loads nothing again.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/pipeline.hpp"
#include "faceid/gallery.hpp"
#include "faceid/index.hpp"
#include "faceid/store.hpp"
#include "faceid/types.hpp"

namespace faceid {

// ------------------------------------------------------------------ collections

struct RecognizeOptions {
  int top_k = 1;                    // candidates reported per face
  std::optional<float> threshold;   // overrides the gallery's decision threshold
  int max_faces = 0;                // 0 = every face; otherwise the largest ones
  bool liveness = false;            // check each face; one not judged live is never named
  DetectionFilter detection;        // per-request detection threshold and minimum face size
};

struct Recognition {
  Detection detection;
  std::optional<std::string> person;        // empty = unknown
  std::vector<MatchCandidate> candidates;   // best first
  float threshold = 0.f;
  std::optional<LivenessResult> liveness;   // set when checked
};

// A probe compared with one enrolled person (Collection::verify_person).
struct PersonMatch {
  std::string person;
  float score = 0.f;
  float threshold = 0.f;
  bool same_person = false;
  Detection detection;  // the probe's subject face (subject_face())
  int faces_in_image = 0;
  std::optional<LivenessResult> liveness;  // set when checked
};

// A named gallery (faceid/gallery.hpp) of a server, searched with the models of the process's
// shared pipeline: its people and faces are gallery(); recognition and verification of images
// run the pipeline against it. Thread-safe.
class Collection {
 public:
  static constexpr std::chrono::milliseconds kSyncInterval = Gallery::kSyncInterval;
  // `index_snapshot`: where an HNSW face index is kept between runs (IndexOptions::snapshot_file).
  Collection(std::string name, const Pipeline& models, std::unique_ptr<GalleryStore> store,
             std::string index_snapshot = {});
  Collection(const Collection&) = delete;
  Collection& operator=(const Collection&) = delete;

  const std::string& name() const { return name_; }
  Gallery& gallery() { return *gallery_; }
  const Gallery& gallery() const { return *gallery_; }

  // Enrolls the subject face of each image under `person` (created when new), in one
  // transaction; images that fail are reported, not enrolled. `actor`: who the store's audit
  // log records it as (AuditEntry::actor).
  std::vector<EnrollOutcome> add_faces(const std::string& person, const std::vector<EnrollImage>& images,
                                       const ImageLimits& limits, const std::string& actor);
  // The store's audit log, each entry tagged with this collection's name.
  std::vector<AuditEntry> audit(const AuditQuery& query) const;

  std::vector<Recognition> recognize(const cv::Mat& bgr, const RecognizeOptions& options) const;
  Recognition recognize_embedding(const Embedding& embedding, const RecognizeOptions& options) const;
  // Compares the subject face of `bgr` with the stored faces of `person` only.
  // With `liveness`, a probe face not judged live is never the same person.
  PersonMatch verify_person(const cv::Mat& bgr, const std::string& person,
                              std::optional<float> threshold, bool liveness = false,
                              const DetectionFilter& detection = {}) const;

  // The collection's liveness default: recognition and verification requests that do not say
  // otherwise check liveness, and enrollment refuses faces not judged live.
  bool liveness_default() const { return liveness_default_; }
  void set_liveness_default(bool on) { liveness_default_ = on; }

 private:
  std::string name_;
  const Pipeline& models_;
  std::unique_ptr<Gallery> gallery_;
  std::atomic<bool> liveness_default_{false};
};

// ------------------------------------------------------------------ audit log

// The server's own append-only audit log, in an SQLite file of the data folder
// (server_audit_log_path()): API key and collection changes, which live in files rather than in
// a gallery store (whose writes each gallery's own log records). Same rows, table and triggers
// as a gallery's log. Thread-safe; shared by several processes (the server, `faceid keys`).
class ServerAuditLog {
 public:
  explicit ServerAuditLog(const std::string& path);  // created (0600) when missing
  ~ServerAuditLog();
  ServerAuditLog(const ServerAuditLog&) = delete;
  ServerAuditLog& operator=(const ServerAuditLog&) = delete;

  // Runs `change` inside the transaction that appends `entries`: a change that throws leaves
  // no row. (Only a failed commit after a completed change could leave the change unlogged.)
  void record(std::vector<AuditEntry> entries, const std::function<void()>& change);
  std::vector<AuditEntry> read(const AuditQuery& query);  // newest first

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// <data_dir>/audit.db
std::string server_audit_log_path(const std::string& data_dir);

struct CollectionSetOptions {
  std::string data_dir;  // holds collections.json and, by default, one SQLite file per collection
  // Store URI of a collection; "{name}" is replaced by the collection name. A PostgreSQL
  // URI without "{name}" gets "gallery={name}": every collection in the one database.
  // Default: <data_dir>/collections/{name}.db
  std::string store_uri_template;
};

struct CollectionInfo {
  std::string name;
  std::string created_at;
  std::size_t people = 0;
  std::size_t faces = 0;
  bool liveness = false;  // Collection::liveness_default()
};

// The named collections of a data folder, opened lazily and kept open. Thread-safe.
class CollectionSet {
 public:
  CollectionSet(const Pipeline& models, CollectionSetOptions options);
  ~CollectionSet();
  CollectionSet(const CollectionSet&) = delete;
  CollectionSet& operator=(const CollectionSet&) = delete;

  // Names: 1-64 characters of [A-Za-z0-9_-]. Error(kBadRequest) / Error(kConflict).
  // `actor`: who the server audit log records a create or remove as.
  std::shared_ptr<Collection> create(const std::string& name, bool liveness = false,
                                     const std::string& actor = local_audit_actor());
  std::shared_ptr<Collection> get(const std::string& name);  // Error(kNotFound)
  void remove(const std::string& name, const std::string& actor = local_audit_actor());  // Error(kNotFound)
  CollectionInfo info(const std::string& name);             // Error(kNotFound)
  std::vector<CollectionInfo> list();
  bool contains(const std::string& name);
  std::string store_uri(const std::string& name) const;
  // The open collections whose store does not answer, with the reason; empty = all ready.
  std::map<std::string, std::string> unready_stores();
  // The server's log (collection and key changes) and every collection's, newest first:
  // at most query.limit entries in all.
  std::vector<AuditEntry> audit(const AuditQuery& query);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// $FACEID_DATA_DIR, else a "server" folder next to default_gallery_path().
std::string default_server_data_dir();

// Validates a collection or subject name for use in URLs and file names.
void require_valid_name(const std::string& name, const char* what);

// ------------------------------------------------------------------ API keys

struct ApiKeyInfo {
  std::string id;          // public part, shown in listings
  std::string collection;  // "" = admin key (every collection and collection management)
  std::string created_at;
  bool admin() const { return collection.empty(); }
};

// API keys kept in a JSON file as salted SHA-256 hashes; the secret itself is
// shown once, when created or rotated. Picks up changes other processes make to
// the file (e.g. `faceid keys revoke` while the server runs). Thread-safe.
class ApiKeyStore {
 public:
  explicit ApiKeyStore(std::string path);
  ~ApiKeyStore();
  ApiKeyStore(const ApiKeyStore&) = delete;
  ApiKeyStore& operator=(const ApiKeyStore&) = delete;

  struct Created {
    ApiKeyInfo info;
    std::string secret;  // "fid_<id>_<random>"
  };
  // Every change is recorded, as made by `actor`, in the server audit log next to the key
  // file (server_audit_log_path() of its folder), in the transaction that saves the file.
  Created create(const std::string& collection, const std::string& actor = local_audit_actor());
  Created rotate(const std::string& id, const std::string& actor = local_audit_actor());  // Error(kNotFound)
  void revoke(const std::string& id, const std::string& actor = local_audit_actor());     // Error(kNotFound)
  // Revokes every key of `collection` (when it is deleted, so that a namesake created later
  // is not opened by them); returns how many.
  int revoke_collection(const std::string& collection, const std::string& actor = local_audit_actor());
  std::vector<ApiKeyInfo> list();
  // The key a presented secret belongs to; compared in constant time.
  std::optional<ApiKeyInfo> authenticate(const std::string& secret);
  bool has_admin_key();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The JSON view of a key shown by `faceid keys` and the REST API; with `secret` when one
// was just issued (it is never stored).
std::string api_key_json(const ApiKeyInfo& info, const std::string& secret = {});

// ------------------------------------------------------------------ REST server

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                          // 0 = any free port (see RestServer::bind)
  int threads = 256;                        // connections served at once (one thread each)
  int max_connections_per_client = 64;      // per client address; more get 503 at once
  int workers = 1;                          // requests doing image work at once (each already uses every core)
  int max_waiting = -1;                     // requests waiting for a worker; -1 = 1 per worker; more get 503
  std::size_t max_body_bytes = 32u << 20;   // larger requests get 413 too_large
  int max_faces_per_image = 32;             // faces detected, embedded and reported per image, largest first
  // A request that waited longer than this for a worker is answered 503 (Retry-After) rather
  // than processed late, when its client has most likely given up.
  int max_queue_wait_ms = 10000;
  int max_images_per_request = 32;          // face uploads
  int read_timeout_seconds = 30;            // to read one whole request, head and body
  int write_timeout_seconds = 30;
  ImageLimits image_limits;
  std::string tls_cert_file;                // both set = HTTPS
  std::string tls_key_file;
  bool require_auth = true;                 // false = no API keys (local development only)
  bool allow_public_without_auth = false;   // true = accept !require_auth on a non-loopback host
};


class RestServer {
 public:
  RestServer(const Pipeline& models, CollectionSet& collections, ApiKeyStore& keys, ServerOptions options);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  // Binds the listening socket; returns the port (useful with port 0). Error(kIo) on failure.
  int bind();
  // Serves until stop(); requests in flight are finished before it returns.
  void run();
  void stop();
  bool tls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceid
