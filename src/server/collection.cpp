// A named gallery (store + in-memory index) served with the models of a shared engine.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "faceid/metric.hpp"
#include "faceid/models.hpp"
#include "faceid/server.hpp"
#include "storage/add_new_faces.hpp"

namespace faceid {

void require_valid_name(const std::string& name, const char* what) {
  const bool valid = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                     });
  if (!valid)
    throw Error(ErrorCode::kBadRequest, std::string("invalid ") + what + " name '" + name +
                                            "': use 1-64 letters, digits, '_' or '-'");
}

Collection::Collection(std::string name, const Engine& models, std::unique_ptr<GalleryStore> store,
                       std::string index_snapshot)
    : name_(std::move(name)), models_(models), store_(std::move(store)), index_options_(models.config().index),
      index_(1) {
  index_options_.snapshot_file = std::move(index_snapshot);
  // Normalised when the engine is (it has the thresholds); the same cohort sources.
  if (models_.normalized_threshold()) {
    normalizer_ = GalleryNormalizer(models_.metric(), models_.config().normalization);
    if (!models_.config().cohort_gallery.empty())
      normalizer_.add_extra(load_cohort_gallery(models_.config().cohort_gallery, models_.embedder_model_id()));
  }
  apply_locked(store_->changes_since(-1));  // every face, read in one snapshot
  store_->on_external_change([this] {
    {
      std::lock_guard lock(sync_mutex_);
      sync_requested_ = true;
    }
    sync_wake_.notify_one();
  });
  sync_thread_ = std::thread([this] { sync_loop(); });
}

Collection::~Collection() {
  store_->on_external_change({});  // no more calls into a collection being destroyed
  {
    std::lock_guard lock(sync_mutex_);
    stopping_ = true;
  }
  sync_wake_.notify_one();
  sync_thread_.join();
  std::unique_lock index_lock(index_mutex_);
  save_snapshot_locked();
}

void Collection::save_snapshot_locked() noexcept {
  try {
    index_.save_snapshot();
  } catch (const std::exception& e) {
    spdlog::warn("collection {}: cannot save the index snapshot: {}", name_, e.what());  // next start rebuilds
  }
}

void Collection::apply_locked(const GalleryChanges& changes) {
  gallery_model_ = changes.model_id;
  synced_version_ = changes.version;
  // A gallery of another model stays listable but cannot be searched (reindex it first);
  // a reindex to this server's model then lists every face as changed.
  const bool searchable = gallery_model_.empty() || gallery_model_ == models_.embedder_model_id();
  if (changes.reset || !searchable) {
    index_ = PersonIndex(1);
    normalizer_.clear();
  }
  if (!searchable) return;
  if (changes.reset && !changes.current.empty()) {
    // The whole gallery at once: reuses a saved graph and builds the rest in one batch.
    index_ = PersonIndex(static_cast<int>(changes.current.front().embedding.unit.size()), index_options_);
    index_.load(changes.current);
    normalizer_.load(changes.current);
    save_snapshot_locked();
    return;
  }
  for (const std::int64_t id : changes.removed) {
    index_.remove_face(id);
    normalizer_.remove_face(id);
  }
  for (const auto& face : changes.current) add_to_index_locked(face.id, face.person, face.embedding);
}

void Collection::add_to_index_locked(std::int64_t face_id, const std::string& person, const Embedding& embedding) {
  // An empty index does not know the embedding length yet (it was loaded from no faces).
  const int dim = static_cast<int>(embedding.unit.size());
  if (index_.face_count() == 0 && index_.dim() != dim) index_ = PersonIndex(dim, index_options_);
  index_.add_face(face_id, person, embedding);
  normalizer_.add_face(face_id, person, embedding);
}

void Collection::sync() {
  {
    std::shared_lock index_lock(index_mutex_);
    std::lock_guard store_lock(store_mutex_);
    if (store_->version() == synced_version_) return;
  }
  // Applied under the exclusive lock: a local write cannot slip in between reading the
  // changes and applying them, and searches never see half of a change.
  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  apply_locked(store_->changes_since(synced_version_));
}

void Collection::commit_locked(const std::string& actor, const std::function<void()>& write) {
  store_->set_audit_actor(actor);
  const std::int64_t before = store_->version();
  write();
  // Every committed write bumps the store version by exactly one. When nothing else was
  // committed around this one, the index already holds it: the change feed must not replay
  // it (under HNSW each replay would leave a tombstone).
  const std::int64_t after = store_->version();
  if (before == synced_version_ && after == before + 1) synced_version_ = after;
}

void Collection::sync_loop() {
  bool failing = false;
  std::unique_lock lock(sync_mutex_);
  while (!stopping_) {
    sync_wake_.wait_for(lock, kSyncInterval, [this] { return stopping_ || sync_requested_; });
    if (stopping_) break;
    sync_requested_ = false;
    lock.unlock();
    try {
      sync();
      if (failing) spdlog::info("collection {} is in sync with its store again", name_);
      failing = false;
    } catch (const std::exception& e) {
      // Searches go on with what the index holds; the next round tries again.
      if (!failing) spdlog::warn("collection {} cannot catch up with its store: {}", name_, e.what());
      failing = true;
    }
    lock.lock();
  }
}

void Collection::require_compatible_locked() const {
  if (!gallery_model_.empty() && gallery_model_ != models_.embedder_model_id())
    throw Error(ErrorCode::kModelMismatch, "collection " + name_ + " holds embeddings of model " +
                                               gallery_model_ + " but the server uses " +
                                               models_.embedder_model_id() + "; reindex it first");
}

std::vector<PersonInfo> Collection::subjects() const {
  std::lock_guard store_lock(store_mutex_);
  return store_->people();
}

bool Collection::has_subject(const std::string& name) const {
  std::lock_guard store_lock(store_mutex_);
  return store_->has_person(name);
}

PersonInfo Collection::subject(const std::string& name) const {
  for (auto& person : subjects())
    if (person.name == name) return person;
  throw Error(ErrorCode::kNotFound, "no subject " + name + " in collection " + name_);
}

void Collection::rename_subject(const std::string& from, const std::string& to, const std::string& actor) {
  require_valid_name(to, "subject");
  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  commit_locked(actor, [&] { store_->rename_person(from, to); });
  index_.rename_person(from, to);
  normalizer_.rename_person(from, to);
}

void Collection::remove_subject(const std::string& name, const std::string& actor) {
  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  commit_locked(actor, [&] { store_->remove_person(name); });
  index_.remove_person(name);
  normalizer_.remove_person(name);
}

void Collection::clear(const std::string& actor) {
  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  for (const auto& person : store_->people()) commit_locked(actor, [&] { store_->remove_person(person.name); });
  if (!index_options_.snapshot_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(index_options_.snapshot_file, ec);
    index_options_.snapshot_file.clear();
  }
  index_ = PersonIndex(1, index_options_);
  normalizer_.clear();
}

std::vector<EnrollOutcome> Collection::add_faces(const std::string& subject,
                                                 const std::vector<EnrollImage>& images,
                                                 const ImageLimits& limits, const std::string& actor) {
  require_valid_name(subject, "subject");
  // The slow part (decode, detect, embed) runs without any lock.
  EnrollmentBatch batch = models_.prepare_enrollment(subject, images, limits,
                                                     models_.config().liveness.enabled || liveness_default_, false);
  auto& outcomes = batch.outcomes;
  auto& records = batch.records;
  const auto& outcome_of_record = batch.outcome_of_record;

  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  require_compatible_locked();
  // Duplicates are checked under the lock, so two concurrent uploads of one image cannot both land.
  std::vector<FaceRecord> fresh;
  std::vector<std::size_t> outcome_of_fresh;
  for (std::size_t i = 0; i < records.size(); ++i) {
    EnrollOutcome& outcome = outcomes[outcome_of_record[i]];
    if (const auto owner = store_->find_content(records[i].content_sha256)) {
      outcome.status = EnrollStatus::kDuplicate;
      outcome.message = "already enrolled as " + *owner;
      continue;
    }
    outcome_of_fresh.push_back(outcome_of_record[i]);
    fresh.push_back(std::move(records[i]));
  }
  if (fresh.empty()) return outcomes;
  if (gallery_model_.empty()) {
    commit_locked(actor, [&] { store_->bind_model(models_.embedder_model_id()); });
    gallery_model_ = models_.embedder_model_id();
  }
  // Another replica may commit the same image between the check above and this write.
  std::vector<std::int64_t> ids;
  commit_locked(actor, [&] { ids = add_new_faces(*store_, subject, fresh, outcomes, outcome_of_fresh); });
  for (std::size_t i = 0; i < fresh.size(); ++i)
    if (ids[i] != 0) add_to_index_locked(ids[i], subject, fresh[i].embedding);
  return outcomes;
}

std::vector<FaceRecord> Collection::faces(const std::string& subject) const {
  std::lock_guard store_lock(store_mutex_);
  if (!store_->has_person(subject))
    throw Error(ErrorCode::kNotFound, "no subject " + subject + " in collection " + name_);
  return store_->faces_of(subject, false);
}

std::vector<std::int64_t> Collection::remove_faces(const std::string& subject,
                                                   const std::vector<std::int64_t>& ids, const std::string& actor) {
  std::unique_lock index_lock(index_mutex_);
  std::lock_guard store_lock(store_mutex_);
  if (!store_->has_person(subject))
    throw Error(ErrorCode::kNotFound, "no subject " + subject + " in collection " + name_);
  std::set<std::int64_t> owned;
  for (const auto& face : store_->faces_of(subject, false)) owned.insert(face.id);
  std::vector<std::int64_t> removed;
  for (const std::int64_t id : ids) {
    bool removed_from_store = false;
    if (owned.count(id)) commit_locked(actor, [&] { removed_from_store = store_->remove_face(id); });
    if (!removed_from_store) continue;
    index_.remove_face(id);
    normalizer_.remove_face(id);
    owned.erase(id);
    removed.push_back(id);
  }
  return removed;
}

std::vector<AuditEntry> Collection::audit(const AuditQuery& query) const {
  std::lock_guard store_lock(store_mutex_);
  auto entries = store_->audit(query);
  for (auto& entry : entries) entry.collection = name_;
  return entries;
}

std::vector<std::uint8_t> Collection::face_crop(const std::string& subject, std::int64_t face_id) const {
  std::lock_guard store_lock(store_mutex_);
  if (store_->has_person(subject))
    for (auto& face : store_->faces_of(subject, true))
      if (face.id == face_id) {
        if (face.crop_jpeg.empty())
          throw Error(ErrorCode::kNotFound, "face " + std::to_string(face_id) + " was stored without its crop");
        return std::move(face.crop_jpeg);
      }
  throw Error(ErrorCode::kNotFound, "no face " + std::to_string(face_id) + " of subject " + subject);
}

Recognition Collection::match_locked(const Embedding& embedding, const RecognizeOptions& options) const {
  Recognition result;
  result.threshold = options.threshold.value_or(normalizer_.active() ? *models_.normalized_threshold()
                                                                      : models_.threshold());
  if (index_.face_count() == 0) return result;
  result.candidates =
      rank_normalized(index_, normalizer_, embedding, models_.config().matching, std::max(1, options.top_k));
  if (!result.candidates.empty() &&
      accepts(models_.metric(), result.candidates.front().score, result.threshold))
    result.person = result.candidates.front().person;
  return result;
}

std::vector<Recognition> Collection::recognize(const cv::Mat& bgr, const RecognizeOptions& options) const {
  auto faces = filter_detections(models_.detect(bgr), options.detection);
  if (options.max_faces > 0 && faces.size() > static_cast<std::size_t>(options.max_faces))
    faces.resize(options.max_faces);  // detections come largest first
  const auto embeddings = models_.embed(bgr, faces);
  const auto live = options.liveness ? models_.check_liveness(bgr, faces) : std::vector<LivenessResult>{};
  std::shared_lock index_lock(index_mutex_);
  require_compatible_locked();
  std::vector<Recognition> results;
  results.reserve(faces.size());
  for (std::size_t i = 0; i < faces.size(); ++i) {
    results.push_back(match_locked(embeddings[i], options));
    results.back().detection = faces[i];
    if (options.liveness) gate_identity(results.back().person, results.back().liveness, live[i]);
  }
  return results;
}

Recognition Collection::recognize_embedding(const Embedding& embedding, const RecognizeOptions& options) const {
  std::shared_lock index_lock(index_mutex_);
  require_compatible_locked();
  if (index_.face_count() > 0 && static_cast<int>(embedding.unit.size()) != index_.dim())
    throw Error(ErrorCode::kBadRequest, "the embedding has " + std::to_string(embedding.unit.size()) +
                                            " values; this collection holds " + std::to_string(index_.dim()) +
                                            "-d embeddings of " + gallery_model_);
  return match_locked(embedding, options);
}

SubjectMatch Collection::verify_subject(const cv::Mat& bgr, const std::string& subject,
                                        std::optional<float> threshold, bool liveness,
                                        const DetectionFilter& detection) const {
  SubjectMatch result;
  result.subject = subject;
  // Scored by a one-person index, so the collection's match policy applies unchanged.
  std::vector<FaceRecord> stored;
  {
    std::lock_guard store_lock(store_mutex_);
    if (!store_->has_person(subject))
      throw Error(ErrorCode::kNotFound, "no subject " + subject + " in collection " + name_);
    stored = store_->faces_of(subject, false);
  }
  if (stored.empty()) throw Error(ErrorCode::kNotFound, "subject " + subject + " has no faces");
  bool normalized = false;
  {
    std::shared_lock index_lock(index_mutex_);
    require_compatible_locked();
    normalized = normalizer_.active();
  }
  result.threshold = threshold.value_or(normalized ? *models_.normalized_threshold() : models_.threshold());
  const auto faces = filter_detections(models_.detect(bgr), detection);
  result.faces_in_image = static_cast<int>(faces.size());
  if (faces.empty()) throw Error(ErrorCode::kNoFace, "no face found in the image");
  result.detection = subject_face(faces);
  const Embedding probe = models_.embed(bgr, {result.detection}).front();
  PersonIndex one(static_cast<int>(stored.front().embedding.unit.size()));
  for (const auto& face : stored) one.add_face(face.id, subject, face.embedding);
  result.score = one.rank(probe, models_.config().matching, 1).front().score;
  if (normalized) {
    std::shared_lock index_lock(index_mutex_);
    result.score = normalizer_.normalize(probe, {{subject, result.score}}).front().score;
  }
  result.same_person = accepts(models_.metric(), result.score, result.threshold);
  if (liveness) {
    result.liveness = models_.check_liveness(bgr, {result.detection}).front();
    if (liveness_refusal(*result.liveness)) result.same_person = false;
  }
  return result;
}

std::size_t Collection::face_count() const {
  std::shared_lock index_lock(index_mutex_);
  return index_.face_count();
}

std::size_t Collection::index_tombstones() const {
  std::shared_lock index_lock(index_mutex_);
  return index_.tombstones();
}

std::size_t Collection::subject_count() const {
  std::lock_guard store_lock(store_mutex_);
  return store_->people().size();
}

void Collection::check_store() const {
  std::lock_guard store_lock(store_mutex_);
  store_->version();
}

}  // namespace faceid
