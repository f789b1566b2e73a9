#pragma once
// A gallery: one store of enrolled faces, the in-memory person index searched over it, and
// the change feed that keeps that index in step with writes made elsewhere. The engine owns
// one; every server collection is one. Written once, used by both.
//
//   auto gallery = pipeline->open_gallery(faceid::open_store(uri));  // the pipeline's model and thresholds
//   gallery->add(person, pipeline->prepare_enrollment(...), actor);
//   FaceResult best = gallery->search(pipeline->embed(frame, faces).front(), {});
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/error.hpp"
#include "faceid/index.hpp"
#include "faceid/score_norm.hpp"
#include "faceid/store.hpp"
#include "faceid/types.hpp"

namespace faceid {

// One image to enroll: raw bytes (hashed for idempotence) and a label for messages.
struct EnrollImage {
  std::string source;
  std::vector<std::uint8_t> bytes;
};

// What became of one image: enrolled (no error), or why not: kConflict (a duplicate), kNoFace,
// kBadImage, kSpoof or kCannotJudge.
struct EnrollOutcome {
  std::string source;
  std::optional<ErrorCode> error;      // nullopt = enrolled
  int faces_found = 0;                 // > 1: subject_face() was taken
  std::optional<std::int64_t> face_id;
  std::optional<Detection> detection;
  std::string message;                 // why it was skipped, or the owner of a duplicate
  std::optional<LivenessResult> liveness;  // set when liveness was checked
};

// The status word front-ends report for an outcome's error: "enrolled", "duplicate", else the
// code's name ("no_face", "bad_image", "spoof", "cannot_judge").
const char* enroll_status_name(const std::optional<ErrorCode>& error);

// The faces of an enrollment, ready to store (Pipeline::prepare_enrollment).
struct EnrollmentBatch {
  std::vector<EnrollOutcome> outcomes;         // one per image, in order
  std::vector<FaceRecord> records;             // the faces to store, embedded
  std::vector<std::size_t> outcome_of_record;  // index into outcomes of each record
};

struct ReindexReport {
  std::string from_model, to_model;
  int faces_reindexed = 0;
  int faces_without_crop = 0;  // could not be recomputed (enrolled with keep_crops off)
};

// How a gallery is searched: by the embeddings of one model, with its thresholds.
struct GalleryOptions {
  std::string name;              // in messages and logs ("" = "the gallery")
  std::string model_id;          // the embedder whose vectors it is searched with
  MatchOptions matching;
  IndexOptions index;            // face search; snapshot_file: where an HNSW graph is kept
  float threshold = 0.f;         // the 1:N open-set decision on raw scores
  // Set = cohort normalisation (`normalization`) with this 1:N threshold for normalised scores,
  // once the cohort is large enough; the gallery's other people are the cohort, plus the faces
  // of `cohort_gallery` (a store URI; "" = none).
  std::optional<float> normalized_threshold;
  NormOptions normalization;
  std::string cohort_gallery;
  // Follow writes of other processes sharing the store (server replicas, the CLI): at once when
  // the store pushes news of them (PostgreSQL), and by a version check every kSyncInterval.
  bool follow_other_writers = true;
};

// Per-call overrides of a search.
struct SearchOptions {
  int top_k = 1;                   // people in FaceResult::candidates (ranked from at least 2)
  std::optional<float> threshold;  // instead of the gallery's (raw or normalised, as it scores)
};

// A score against one person's stored faces, on the scale the gallery decides with.
struct PersonScore {
  float score = 0.f;
  float threshold = 0.f;
  bool same_person = false;
};

// A 1:1 score of two faces, normalised by the gallery's cohort when normalisation is active.
struct PairScore {
  float score = 0.f;
  ScoreNorm norm = ScoreNorm::kNone;
};

// Writes run as one store transaction followed by the index update, under an exclusive lock,
// so searches never see a half-added face; a write reaches the index once (a change feed entry
// of this gallery's own write is not replayed). Every write names its `actor` for the store's
// audit log (AuditEntry::actor). A gallery whose store holds another model's embeddings stays
// listable, but searching or enrolling throws Error(kModelMismatch) until it is reindexed.
// Thread-safe.
class Gallery {
 public:
  static constexpr std::chrono::milliseconds kSyncInterval{2000};
  Gallery(std::unique_ptr<GalleryStore> store, GalleryOptions options);
  ~Gallery();
  Gallery(const Gallery&) = delete;
  Gallery& operator=(const Gallery&) = delete;

  const GalleryOptions& options() const;

  std::vector<PersonInfo> people() const;
  bool has_person(const std::string& person) const;
  PersonInfo person(const std::string& person) const;                                   // Error(kNotFound)
  std::vector<FaceRecord> faces_of(const std::string& person, bool with_crops) const;  // Error(kNotFound)
  std::vector<FaceRecord> faces(bool with_crops) const;
  // The stored aligned crop (JPEG). Error(kNotFound) when absent or not kept.
  std::vector<std::uint8_t> face_crop(const std::string& person, std::int64_t face_id) const;
  // Which person already holds a face made from image bytes of this SHA-256.
  std::optional<std::string> enrolled_as(const std::string& content_sha256) const;
  std::string stored_model() const;  // the store's model ("" while empty)
  std::vector<AuditEntry> audit(const AuditQuery& query) const;
  std::size_t face_count() const;
  std::size_t person_count() const;
  std::size_t index_tombstones() const;  // deleted faces the HNSW graph still holds
  // Asks the store for its version: throws (e.g. Error(kUnavailable)) when it does not answer.
  void check_store() const;

  // The best people for each embedding, with the open-set decision. Error(kModelMismatch)
  // for an embedding of another length than the gallery's (it comes from another model).
  FaceResult search(const Embedding& embedding, const SearchOptions& options = {}) const;
  std::vector<FaceResult> search(const std::vector<Embedding>& embeddings, const SearchOptions& options = {}) const;
  // `probe` against `person`'s stored faces only (the gallery's match policy and scale).
  PersonScore compare_with_person(const Embedding& probe, const std::string& person,
                                  std::optional<float> threshold = {}) const;
  PairScore score_pair(const Embedding& a, const Embedding& b) const;

  // Stores the batch's faces under `person` (created when new), except images already stored
  // (kDuplicate, checked under the write lock, so two concurrent uploads of one image cannot
  // both land); binds an empty gallery to the model. Returns the batch's outcomes.
  std::vector<EnrollOutcome> add(const std::string& person, EnrollmentBatch batch, const std::string& actor);
  // Faces exported by another gallery of `model_id` (Error(kModelMismatch) otherwise); those
  // whose image is already stored are skipped. Returns how many were added.
  int import_faces(const std::string& model_id, const std::map<std::string, std::vector<FaceRecord>>& people,
                   const std::string& actor);
  void rename_person(const std::string& from, const std::string& to, const std::string& actor);
  void remove_person(const std::string& person, const std::string& actor);
  // Removes those of `ids` that are faces of `person`; returns the ids removed.
  std::vector<std::int64_t> remove_faces(const std::string& person, const std::vector<std::int64_t>& ids,
                                         const std::string& actor);
  // Re-embeds every stored crop with `embed_crop` (the decoded crop, at the embedder's size)
  // and binds the gallery to options().model_id, in one transaction. Error(kConflict) when a
  // face was stored without its crop.
  ReindexReport reindex(const std::function<Embedding(const cv::Mat& crop)>& embed_crop,
                        const cv::Size& crop_size, const std::string& actor);
  // Removes every person and the index snapshot (before the store itself is dropped).
  void clear(const std::string& actor);
  // Applies the store's writes the index has not seen yet (what the follower thread does).
  void sync();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceid
