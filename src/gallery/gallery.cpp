// The one gallery implementation: store + person index + change feed (faceid/gallery.hpp).
#include "faceid/gallery.hpp"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "storage/add_new_faces.hpp"

namespace faceid {

const char* enroll_status_name(const std::optional<ErrorCode>& error) {
  if (!error) return "enrolled";
  return *error == ErrorCode::kConflict ? "duplicate" : error_code_name(*error);
}

namespace {

// Flip test-time augmentation is part of a model id ("+flip").
std::string without_flip(const std::string& id) {
  const std::string flip = "+flip";
  return id.size() > flip.size() && id.compare(id.size() - flip.size(), flip.size(), flip) == 0
             ? id.substr(0, id.size() - flip.size())
             : id;
}

Error model_mismatch(const std::string& what, const std::string& stored, const std::string& searched) {
  if (without_flip(stored) == without_flip(searched)) {
    // Say which way to go.
    const bool stored_flipped = stored != without_flip(stored);
    return Error(ErrorCode::kModelMismatch,
                 what + " was enrolled " + (stored_flipped ? "with" : "without") + " --flip and this command runs " +
                     (stored_flipped ? "without" : "with") + " it: " + (stored_flipped ? "add --flip" : "drop --flip") +
                     ", or run `faceid" + (stored_flipped ? "" : " --flip") +
                     " reindex` to re-embed every stored face " + (stored_flipped ? "without" : "with") + " it");
  }
  return Error(ErrorCode::kModelMismatch, what + " holds embeddings of model " + stored + " but the engine uses " +
                                              searched + "; run `faceid reindex` to recompute them from the stored face crops");
}

}  // namespace

struct Gallery::Impl {
  GalleryOptions options;
  std::string what;  // how messages name this gallery
  std::unique_ptr<GalleryStore> store;
  std::string stored_model;  // the store's model as the index last saw it ("" = empty gallery)
  PersonIndex index{1};
  GalleryNormalizer normalizer{Metric::kCosine, NormOptions{}};  // follows `index`, same lock
  // Lock order: index_mutex before store_mutex. Searches take index_mutex shared; writers take
  // both exclusively; store reads take store_mutex alone.
  mutable std::shared_mutex index_mutex;
  mutable std::mutex store_mutex;
  std::int64_t synced_version = 0;  // store version the index reflects; under index_mutex

  std::mutex follow_mutex;  // guards the two flags below
  std::condition_variable follow_wake;
  bool sync_requested = false;
  bool stopping = false;
  std::thread follower;  // runs follow_loop(); joined by the destructor

  bool searchable() const { return stored_model.empty() || stored_model == options.model_id; }

  void require_compatible_locked() const {
    if (!searchable()) throw model_mismatch(what, stored_model, options.model_id);
  }

  void save_snapshot_locked() noexcept {
    try {
      index.save_snapshot();
    } catch (const std::exception& e) {
      spdlog::warn("{}: cannot save the index snapshot: {}", what, e.what());  // the next start rebuilds
    }
  }

  void add_to_index_locked(std::int64_t face_id, const std::string& person, const Embedding& embedding) {
    // An empty index does not know the embedding length yet (it was loaded from no faces).
    const int dim = static_cast<int>(embedding.unit.size());
    if (index.face_count() == 0 && index.dim() != dim) index = PersonIndex(dim, options.index);
    index.add_face(face_id, person, embedding);
    normalizer.add_face(face_id, person, embedding);
  }

  void apply_locked(const GalleryChanges& changes) {
    stored_model = changes.model_id;
    synced_version = changes.version;
    // A reindex to this gallery's model lists every face as changed.
    if (changes.reset || !searchable()) {
      index = PersonIndex(1);  // its length is known from the first face
      normalizer.clear();
    }
    if (!searchable()) return;
    if (changes.reset && !changes.current.empty()) {
      // The whole gallery at once: reuses a saved graph and builds the rest in one batch.
      index = PersonIndex(static_cast<int>(changes.current.front().embedding.unit.size()), options.index);
      index.load(changes.current);
      normalizer.load(changes.current);
      save_snapshot_locked();  // so that the next start reuses this build, even after a crash
      return;
    }
    for (const std::int64_t id : changes.removed) {
      index.remove_face(id);
      normalizer.remove_face(id);
    }
    for (const auto& face : changes.current) add_to_index_locked(face.id, face.person, face.embedding);
  }

  // Runs one store write as `actor` and, when no other writer committed around it, marks the
  // index as in step with it. Under both locks.
  void commit_locked(const std::string& actor, const std::function<void()>& write) {
    store->set_audit_actor(actor);
    const std::int64_t before = store->version();
    write();
    // Every committed write bumps the store version by exactly one. When nothing else was
    // committed around this one, the index already holds it: the change feed must not replay
    // it (under HNSW each replay would leave a tombstone).
    const std::int64_t after = store->version();
    if (before == synced_version && after == before + 1) synced_version = after;
  }

  void bind_model_locked(const std::string& actor) {
    if (!stored_model.empty()) return;
    commit_locked(actor, [&] { store->bind_model(options.model_id); });
    stored_model = options.model_id;
  }

  void sync() {
    {
      std::shared_lock index_lock(index_mutex);
      std::lock_guard store_lock(store_mutex);
      if (store->version() == synced_version) return;
    }
    // Applied under the exclusive lock: a local write cannot slip in between reading the
    // changes and applying them, and searches never see half of a change.
    std::unique_lock index_lock(index_mutex);
    std::lock_guard store_lock(store_mutex);
    apply_locked(store->changes_since(synced_version));
  }

  void follow_loop() {
    bool failing = false;
    std::unique_lock lock(follow_mutex);
    while (!stopping) {
      follow_wake.wait_for(lock, kSyncInterval, [this] { return stopping || sync_requested; });
      if (stopping) break;
      sync_requested = false;
      lock.unlock();
      try {
        sync();
        if (failing) spdlog::info("{} is in step with its store again", what);
        failing = false;
      } catch (const std::exception& e) {
        // Searches go on with what the index holds; the next round tries again.
        if (!failing) spdlog::warn("{} cannot catch up with its store: {}", what, e.what());
        failing = true;
      }
      lock.lock();
    }
  }

  void start_following() {
    store->on_external_change([this] {
      {
        std::lock_guard lock(follow_mutex);
        sync_requested = true;
      }
      follow_wake.notify_one();
    });
    follower = std::thread([this] { follow_loop(); });
  }

  void stop_following() {
    store->on_external_change({});  // no more calls into a gallery being destroyed
    if (!follower.joinable()) return;
    {
      std::lock_guard lock(follow_mutex);
      stopping = true;
    }
    follow_wake.notify_one();
    follower.join();
  }

  void require_person_locked(const std::string& person) const {
    if (!store->has_person(person)) throw Error(ErrorCode::kNotFound, "no person " + person + " in " + what);
  }

  float threshold_locked(const std::optional<float>& override_threshold) const {
    if (override_threshold) return *override_threshold;
    return normalizer.active() ? *options.normalized_threshold : options.threshold;
  }

  FaceResult search_locked(const Embedding& embedding, const SearchOptions& search) const {
    FaceResult result;
    result.threshold = threshold_locked(search.threshold);
    if (index.face_count() == 0) return result;
    if (static_cast<int>(embedding.unit.size()) != index.dim())
      throw Error(ErrorCode::kModelMismatch, "the embedding has " + std::to_string(embedding.unit.size()) + " values; " +
                                              what + " holds " + std::to_string(index.dim()) +
                                              "-d embeddings of " + stored_model);
    const int top_k = std::max(1, search.top_k);
    // At least two, so that the runner-up is known.
    const auto ranked = rank_normalized(index, normalizer, embedding, options.matching, std::max(2, top_k));
    if (ranked.empty()) return result;
    result.best = ranked[0];
    result.score = ranked[0].score;
    if (accepts(options.matching.metric, ranked[0].score, result.threshold)) result.person = ranked[0].person;
    if (ranked.size() > 1) result.runner_up = ranked[1];
    result.candidates.assign(ranked.begin(), ranked.begin() + std::min<std::size_t>(ranked.size(), top_k));
    return result;
  }
};

Gallery::Gallery(std::unique_ptr<GalleryStore> store, GalleryOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  impl.options = std::move(options);
  impl.what = impl.options.name.empty() ? "the gallery" : impl.options.name;
  impl.store = std::move(store);
  if (impl.options.normalized_threshold) {
    impl.normalizer = GalleryNormalizer(impl.options.matching.metric, impl.options.normalization);
    if (!impl.options.cohort_gallery.empty())
      impl.normalizer.add_extra(load_cohort_gallery(impl.options.cohort_gallery, impl.options.model_id));
  }
  {
    std::unique_lock index_lock(impl.index_mutex);
    std::lock_guard store_lock(impl.store_mutex);
    impl.apply_locked(impl.store->changes_since(-1));  // every face, read in one snapshot
  }
  if (impl.options.follow_other_writers) impl.start_following();
}

Gallery::~Gallery() {
  impl_->stop_following();
  std::unique_lock index_lock(impl_->index_mutex);
  impl_->save_snapshot_locked();
}

const GalleryOptions& Gallery::options() const { return impl_->options; }

std::vector<PersonInfo> Gallery::people() const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->people();
}

bool Gallery::has_person(const std::string& person) const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->has_person(person);
}

PersonInfo Gallery::person(const std::string& person) const {
  for (auto& info : people())
    if (info.name == person) return info;
  throw Error(ErrorCode::kNotFound, "no person " + person + " in " + impl_->what);
}

std::vector<FaceRecord> Gallery::faces_of(const std::string& person, bool with_crops) const {
  std::lock_guard store_lock(impl_->store_mutex);
  impl_->require_person_locked(person);
  return impl_->store->faces_of(person, with_crops);
}

std::vector<FaceRecord> Gallery::faces(bool with_crops) const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->faces(with_crops);
}

std::vector<std::uint8_t> Gallery::face_crop(const std::string& person, std::int64_t face_id) const {
  std::lock_guard store_lock(impl_->store_mutex);
  if (impl_->store->has_person(person))
    for (auto& face : impl_->store->faces_of(person, true))
      if (face.id == face_id) {
        if (face.crop_jpeg.empty())
          throw Error(ErrorCode::kNotFound, "face " + std::to_string(face_id) + " was stored without its crop");
        return std::move(face.crop_jpeg);
      }
  throw Error(ErrorCode::kNotFound, "no face " + std::to_string(face_id) + " of person " + person);
}

std::optional<std::string> Gallery::enrolled_as(const std::string& content_sha256) const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->find_content(content_sha256);
}

std::string Gallery::stored_model() const {
  std::shared_lock index_lock(impl_->index_mutex);
  return impl_->stored_model;
}

std::vector<AuditEntry> Gallery::audit(const AuditQuery& query) const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->audit(query);
}

std::size_t Gallery::face_count() const {
  std::shared_lock index_lock(impl_->index_mutex);
  return impl_->index.face_count();
}

std::size_t Gallery::person_count() const {
  std::lock_guard store_lock(impl_->store_mutex);
  return impl_->store->people().size();
}

std::size_t Gallery::index_tombstones() const {
  std::shared_lock index_lock(impl_->index_mutex);
  return impl_->index.tombstones();
}

void Gallery::check_store() const {
  std::lock_guard store_lock(impl_->store_mutex);
  impl_->store->version();
}

FaceResult Gallery::search(const Embedding& embedding, const SearchOptions& options) const {
  std::shared_lock index_lock(impl_->index_mutex);
  impl_->require_compatible_locked();
  return impl_->search_locked(embedding, options);
}

std::vector<FaceResult> Gallery::search(const std::vector<Embedding>& embeddings,
                                        const SearchOptions& options) const {
  std::shared_lock index_lock(impl_->index_mutex);  // one view of the gallery for all faces of a frame
  impl_->require_compatible_locked();
  std::vector<FaceResult> results;
  results.reserve(embeddings.size());
  for (const auto& embedding : embeddings) results.push_back(impl_->search_locked(embedding, options));
  return results;
}

PersonScore Gallery::compare_with_person(const Embedding& probe, const std::string& person,
                                         std::optional<float> threshold) const {
  const auto stored = faces_of(person, false);
  if (stored.empty()) throw Error(ErrorCode::kNotFound, "person " + person + " has no faces");
  // Scored by a one-person index, so the gallery's match policy applies unchanged.
  PersonIndex one(static_cast<int>(stored.front().embedding.unit.size()));
  for (const auto& face : stored) one.add_face(face.id, person, face.embedding);
  std::shared_lock index_lock(impl_->index_mutex);
  impl_->require_compatible_locked();
  PersonScore result;
  result.threshold = impl_->threshold_locked(threshold);
  result.score = one.rank(probe, impl_->options.matching, 1).front().score;
  if (impl_->normalizer.active()) result.score = impl_->normalizer.normalize(probe, {{person, result.score}}).front().score;
  result.same_person = accepts(impl_->options.matching.metric, result.score, result.threshold);
  return result;
}

PairScore Gallery::score_pair(const Embedding& a, const Embedding& b) const {
  std::shared_lock index_lock(impl_->index_mutex);
  PairScore result;
  result.norm = impl_->normalizer.norm();
  result.score = impl_->normalizer.normalize_pair(a, b, compare(a, b, impl_->options.matching.metric));
  return result;
}

std::vector<EnrollOutcome> Gallery::add(const std::string& person, EnrollmentBatch batch, const std::string& actor) {
  Impl& impl = *impl_;
  auto& outcomes = batch.outcomes;
  if (batch.records.empty()) return std::move(outcomes);
  std::unique_lock index_lock(impl.index_mutex);
  std::lock_guard store_lock(impl.store_mutex);
  impl.require_compatible_locked();
  std::vector<FaceRecord> fresh;
  std::vector<std::size_t> outcome_of_fresh;
  for (std::size_t i = 0; i < batch.records.size(); ++i) {
    EnrollOutcome& outcome = outcomes[batch.outcome_of_record[i]];
    if (const auto owner = impl.store->find_content(batch.records[i].content_sha256)) {
      outcome.error = ErrorCode::kConflict;
      outcome.message = "already enrolled as " + *owner;
      continue;
    }
    outcome_of_fresh.push_back(batch.outcome_of_record[i]);
    fresh.push_back(std::move(batch.records[i]));
  }
  if (fresh.empty()) return std::move(outcomes);
  impl.bind_model_locked(actor);
  // Another process may commit the same image between the check above and this write.
  std::vector<std::int64_t> ids;
  impl.commit_locked(actor, [&] { ids = add_new_faces(*impl.store, person, fresh, outcomes, outcome_of_fresh); });
  for (std::size_t i = 0; i < fresh.size(); ++i)
    if (ids[i] != 0) impl.add_to_index_locked(ids[i], person, fresh[i].embedding);
  return std::move(outcomes);
}

int Gallery::import_faces(const std::string& model_id, const std::map<std::string, std::vector<FaceRecord>>& people,
                          const std::string& actor) {
  Impl& impl = *impl_;
  if (model_id != impl.options.model_id)
    throw Error(ErrorCode::kModelMismatch, "the file holds embeddings of model " + model_id +
                                               " but the engine uses " + impl.options.model_id);
  std::unique_lock index_lock(impl.index_mutex);
  std::lock_guard store_lock(impl.store_mutex);
  impl.require_compatible_locked();
  int imported = 0;
  for (const auto& [person, faces] : people) {
    std::vector<FaceRecord> fresh;
    for (const auto& face : faces)
      if (!impl.store->find_content(face.content_sha256)) fresh.push_back(face);
    if (fresh.empty()) continue;
    impl.bind_model_locked(actor);
    std::vector<std::int64_t> ids;
    impl.commit_locked(actor, [&] { ids = impl.store->import_faces(person, fresh); });
    for (std::size_t i = 0; i < fresh.size(); ++i) impl.add_to_index_locked(ids[i], person, fresh[i].embedding);
    imported += static_cast<int>(fresh.size());
  }
  return imported;
}

void Gallery::rename_person(const std::string& from, const std::string& to, const std::string& actor) {
  std::unique_lock index_lock(impl_->index_mutex);
  std::lock_guard store_lock(impl_->store_mutex);
  impl_->commit_locked(actor, [&] { impl_->store->rename_person(from, to); });
  impl_->index.rename_person(from, to);
  impl_->normalizer.rename_person(from, to);
}

void Gallery::remove_person(const std::string& person, const std::string& actor) {
  std::unique_lock index_lock(impl_->index_mutex);
  std::lock_guard store_lock(impl_->store_mutex);
  impl_->commit_locked(actor, [&] { impl_->store->remove_person(person); });
  impl_->index.remove_person(person);
  impl_->normalizer.remove_person(person);
}

std::vector<std::int64_t> Gallery::remove_faces(const std::string& person, const std::vector<std::int64_t>& ids,
                                                const std::string& actor) {
  Impl& impl = *impl_;
  std::unique_lock index_lock(impl.index_mutex);
  std::lock_guard store_lock(impl.store_mutex);
  impl.require_person_locked(person);
  std::set<std::int64_t> owned;
  for (const auto& face : impl.store->faces_of(person, false)) owned.insert(face.id);
  std::vector<std::int64_t> removed;
  for (const std::int64_t id : ids) {
    bool removed_from_store = false;
    if (owned.count(id)) impl.commit_locked(actor, [&] { removed_from_store = impl.store->remove_face(id); });
    if (!removed_from_store) continue;
    impl.index.remove_face(id);
    impl.normalizer.remove_face(id);
    owned.erase(id);
    removed.push_back(id);
  }
  return removed;
}

ReindexReport Gallery::reindex(const std::function<Embedding(const cv::Mat& crop)>& embed_crop,
                               const cv::Size& crop_size, const std::string& actor) {
  Impl& impl = *impl_;
  std::unique_lock index_lock(impl.index_mutex);
  std::lock_guard store_lock(impl.store_mutex);
  ReindexReport report;
  report.from_model = impl.stored_model;
  report.to_model = impl.options.model_id;
  std::vector<std::pair<std::int64_t, Embedding>> updated;
  for (const auto& face : impl.store->faces(true)) {
    if (face.crop_jpeg.empty()) {
      ++report.faces_without_crop;
      continue;
    }
    cv::Mat crop = cv::imdecode(face.crop_jpeg, cv::IMREAD_COLOR);
    if (crop.empty())
      throw Error(ErrorCode::kCorruptStore, "stored crop of face " + std::to_string(face.id) + " is unreadable");
    if (crop.size() != crop_size) cv::resize(crop, crop, crop_size);
    updated.emplace_back(face.id, embed_crop(crop));
  }
  if (report.faces_without_crop > 0)
    throw Error(ErrorCode::kConflict, std::to_string(report.faces_without_crop) +
                                          " faces were enrolled without keeping their crop and cannot be "
                                          "recomputed; remove and re-enroll those people first");
  impl.commit_locked(actor, [&] { impl.store->replace_embeddings(impl.options.model_id, updated); });
  // Every vector changed: rebuild from the store in one batch.
  impl.apply_locked(impl.store->changes_since(-1));
  report.faces_reindexed = static_cast<int>(updated.size());
  return report;
}

void Gallery::clear(const std::string& actor) {
  Impl& impl = *impl_;
  std::unique_lock index_lock(impl.index_mutex);
  std::lock_guard store_lock(impl.store_mutex);
  for (const auto& person : impl.store->people())
    impl.commit_locked(actor, [&] { impl.store->remove_person(person.name); });
  if (!impl.options.index.snapshot_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(impl.options.index.snapshot_file, ec);
    impl.options.index.snapshot_file.clear();
  }
  impl.index = PersonIndex(1, impl.options.index);
  impl.normalizer.clear();
}

void Gallery::sync() { impl_->sync(); }

}  // namespace faceid
