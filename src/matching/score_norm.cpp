// Cohort score normalisation: the statistics, the formulas and the gallery's cached cohort.
#include "faceid/score_norm.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "faceid/error.hpp"
#include "faceid/store.hpp"

namespace faceid {

namespace {

constexpr float kMinSpread = 1e-6f;
// Cached statistics are recomputed once the cohort has changed by this share of its size:
// one face more or less barely moves the statistics of a cohort of hundreds, and
// recomputing every face's statistics at each enrolment would cost gallery x cohort.
constexpr double kRefreshDrift = 0.05;
// Raw candidates re-scored per search: enough for the normalised best to be among them.
constexpr int kRerankPool = 10;

}  // namespace

const char* score_norm_name(ScoreNorm norm) {
  switch (norm) {
    case ScoreNorm::kNone: return "none";
    case ScoreNorm::kZNorm: return "znorm";
    case ScoreNorm::kTNorm: return "tnorm";
    case ScoreNorm::kSNorm: return "snorm";
    case ScoreNorm::kAdaptiveSNorm: return "asnorm";
  }
  return "none";
}

std::optional<ScoreNorm> parse_score_norm(const std::string& name) {
  for (ScoreNorm norm : {ScoreNorm::kNone, ScoreNorm::kZNorm, ScoreNorm::kTNorm, ScoreNorm::kSNorm,
                         ScoreNorm::kAdaptiveSNorm})
    if (name == score_norm_name(norm)) return norm;
  return std::nullopt;
}

std::string threshold_key(Metric metric, ScoreNorm norm) {
  const std::string name = metric_name(metric);
  return norm == ScoreNorm::kNone ? name : name + "/" + score_norm_name(norm);
}

NormOptions default_norm_options() {
  NormOptions options;
  options.norm = ScoreNorm::kAdaptiveSNorm;
  return options;
}

CohortStats cohort_stats(std::vector<float> scores, Metric metric, int top_k) {
  CohortStats stats;
  if (scores.empty()) return stats;
  if (top_k > 0 && static_cast<std::size_t>(top_k) < scores.size()) {
    const auto cut = scores.begin() + top_k;
    if (higher_is_better(metric)) std::nth_element(scores.begin(), cut, scores.end(), std::greater<float>());
    else std::nth_element(scores.begin(), cut, scores.end());
    scores.erase(cut, scores.end());
  }
  double sum = 0;
  for (float s : scores) sum += s;
  const double mean = sum / double(scores.size());
  double squares = 0;
  for (float s : scores) squares += (s - mean) * (s - mean);
  stats.mean = static_cast<float>(mean);
  stats.std = std::max(kMinSpread, static_cast<float>(std::sqrt(squares / double(scores.size()))));
  return stats;
}

float normalize_score(float raw, ScoreNorm norm, const CohortStats& enrolled, const CohortStats& probe) {
  const float z = (raw - enrolled.mean) / enrolled.std;
  const float t = (raw - probe.mean) / probe.std;
  switch (norm) {
    case ScoreNorm::kNone: return raw;
    case ScoreNorm::kZNorm: return z;
    case ScoreNorm::kTNorm: return t;
    case ScoreNorm::kSNorm:
    case ScoreNorm::kAdaptiveSNorm: return 0.5f * (z + t);
  }
  return raw;
}

// ---------------------------------------------------------------- Cohort

void Cohort::add(std::int64_t id, const std::string& person, const Embedding& embedding) {
  entries_[id] = {person, embedding};
}

bool Cohort::remove(std::int64_t id) { return entries_.erase(id) > 0; }

void Cohort::remove_person(const std::string& person) {
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.person == person ? entries_.erase(it) : std::next(it);
}

void Cohort::rename_person(const std::string& from, const std::string& to) {
  for (auto& [id, entry] : entries_)
    if (entry.person == from) entry.person = to;
}

void Cohort::clear() { entries_.clear(); }

namespace {

// Inner product in float with independent partial sums, so the compiler can vectorise it:
// a search pays this once per cohort face.
float dot(const std::vector<float>& a, const std::vector<float>& b) {
  constexpr std::size_t kLanes = 8;
  float partial[kLanes] = {};
  const std::size_t n = a.size(), whole = n - n % kLanes;
  for (std::size_t i = 0; i < whole; i += kLanes)
    for (std::size_t lane = 0; lane < kLanes; ++lane) partial[lane] += a[i + lane] * b[i + lane];
  float sum = 0.f;
  for (float p : partial) sum += p;
  for (std::size_t i = whole; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

std::vector<CohortScore> Cohort::scores(const Embedding& embedding, Metric metric) const {
  std::vector<CohortScore> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) {
    if (entry.embedding.unit.size() != embedding.unit.size())
      throw Error(ErrorCode::kModelMismatch, "cohort embeddings have " + std::to_string(entry.embedding.unit.size()) +
                                                 " values, the face " + std::to_string(embedding.unit.size()));
    const float cosine = dot(embedding.unit, entry.embedding.unit);
    out.push_back({score_from_cosine(metric, cosine, embedding.norm, entry.embedding.norm), &entry.person});
  }
  return out;
}

CohortStats stats_excluding(const std::vector<CohortScore>& scores, const std::string& exclude_person,
                            Metric metric, const NormOptions& options) {
  std::vector<float> kept;
  kept.reserve(scores.size());
  for (const auto& s : scores)
    if (exclude_person.empty() || *s.person != exclude_person) kept.push_back(s.score);
  return cohort_stats(std::move(kept), metric,
                      options.norm == ScoreNorm::kAdaptiveSNorm ? options.top_k : 0);
}

// ---------------------------------------------------------------- GalleryNormalizer

GalleryNormalizer::GalleryNormalizer(Metric metric, const NormOptions& options)
    : metric_(metric), options_(options) {}

CohortStats GalleryNormalizer::face_stats(const std::string& person, const Embedding& embedding) const {
  return stats_excluding(cohort_.scores(embedding, metric_), person, metric_, options_);
}

void GalleryNormalizer::load(const std::vector<FaceRecord>& faces) {
  clear();
  if (options_.norm == ScoreNorm::kNone) return;
  for (const auto& face : faces) {
    faces_[face.id] = {face.person, face.embedding};
    faces_of_[face.person].push_back(face.id);
    if (gallery_in_cohort_ < options_.max_gallery_cohort) {
      cohort_.add(face.id, face.person, face.embedding);
      ++gallery_in_cohort_;
    }
  }
  refresh_all_stats();
}

void GalleryNormalizer::add_face(std::int64_t face_id, const std::string& person, const Embedding& embedding) {
  if (options_.norm == ScoreNorm::kNone) return;
  faces_[face_id] = {person, embedding};
  faces_of_[person].push_back(face_id);
  if (gallery_in_cohort_ < options_.max_gallery_cohort) {
    cohort_.add(face_id, person, embedding);
    ++gallery_in_cohort_;
    cohort_changed();
  }
  const CohortStats stats = face_stats(person, embedding);
  std::lock_guard lock(*stats_mutex_);
  stats_[face_id] = stats;
}

void GalleryNormalizer::remove_face(std::int64_t face_id) {
  const auto it = faces_.find(face_id);
  if (it == faces_.end()) return;
  auto& ids = faces_of_[it->second.person];
  ids.erase(std::remove(ids.begin(), ids.end(), face_id), ids.end());
  if (ids.empty()) faces_of_.erase(it->second.person);
  faces_.erase(it);
  {
    std::lock_guard lock(*stats_mutex_);
    stats_.erase(face_id);
  }
  if (cohort_.remove(face_id)) {
    --gallery_in_cohort_;
    cohort_changed();
  }
}

void GalleryNormalizer::remove_person(const std::string& person) {
  const auto it = faces_of_.find(person);
  if (it == faces_of_.end()) return;
  const std::vector<std::int64_t> ids = it->second;
  for (std::int64_t id : ids) remove_face(id);
}

void GalleryNormalizer::rename_person(const std::string& from, const std::string& to) {
  const auto it = faces_of_.find(from);
  if (it == faces_of_.end()) return;
  for (std::int64_t id : it->second) faces_[id].person = to;
  auto& target = faces_of_[to];
  target.insert(target.end(), it->second.begin(), it->second.end());
  faces_of_.erase(from);
  cohort_.rename_person(from, to);
}

void GalleryNormalizer::clear() {
  // Extra faces (a cohort folder) stay: they do not belong to the gallery's contents.
  for (const auto& [id, face] : faces_) cohort_.remove(id);
  faces_.clear();
  faces_of_.clear();
  {
    std::lock_guard lock(*stats_mutex_);
    stats_.clear();
  }
  gallery_in_cohort_ = 0;
  changes_since_refresh_ = 0;
  size_at_refresh_ = cohort_.size();
}

void GalleryNormalizer::add_extra(const std::vector<Embedding>& embeddings) {
  if (options_.norm == ScoreNorm::kNone) return;
  static const std::string kAnonymous;
  for (const auto& embedding : embeddings) cohort_.add(next_extra_id_--, kAnonymous, embedding);
  refresh_all_stats();
}

void GalleryNormalizer::cohort_changed() {
  ++changes_since_refresh_;
  const bool small_before = size_at_refresh_ < options_.min_cohort;
  if (small_before || double(changes_since_refresh_) > kRefreshDrift * double(size_at_refresh_))
    refresh_all_stats();
}

void GalleryNormalizer::refresh_all_stats() {
  {
    std::lock_guard lock(*stats_mutex_);
    stats_.clear();  // recomputed face by face at their next search
  }
  changes_since_refresh_ = 0;
  size_at_refresh_ = cohort_.size();
}

bool GalleryNormalizer::active() const {
  if (options_.norm == ScoreNorm::kNone || cohort_.size() < options_.min_cohort) return false;
  // Every person is scored against the cohort without their own faces: it must still hold
  // min_cohort faces for the one with the most, or a gallery of one person would be
  // "normalised" against nobody and never recognised.
  std::size_t largest = 0;
  for (const auto& [person, ids] : faces_of_) largest = std::max(largest, ids.size());
  return cohort_.size() - std::min(largest, cohort_.size()) >= options_.min_cohort;
}

CohortStats GalleryNormalizer::person_stats(const std::string& person) const {
  // A person's template statistics: the mean of their faces' statistics.
  CohortStats stats{0.f, 0.f};
  const auto it = faces_of_.find(person);
  if (it == faces_of_.end() || it->second.empty()) return CohortStats{};
  for (std::int64_t id : it->second) {
    std::lock_guard lock(*stats_mutex_);
    auto cached = stats_.find(id);
    if (cached == stats_.end()) {
      const Face& face = faces_.at(id);
      cached = stats_.emplace(id, face_stats(face.person, face.embedding)).first;
    }
    const CohortStats& face = cached->second;
    stats.mean += face.mean;
    stats.std += face.std;
  }
  const float n = static_cast<float>(it->second.size());
  return {stats.mean / n, stats.std / n};
}

std::vector<MatchCandidate> GalleryNormalizer::normalize(const Embedding& probe,
                                                         std::vector<MatchCandidate> raw) const {
  if (!active() || raw.empty()) return raw;
  const auto scores = cohort_.scores(probe, metric_);
  for (auto& candidate : raw) {
    const CohortStats probe_stats = stats_excluding(scores, candidate.person, metric_, options_);
    candidate.score = normalize_score(candidate.score, options_.norm, person_stats(candidate.person), probe_stats);
  }
  std::stable_sort(raw.begin(), raw.end(), [this](const MatchCandidate& a, const MatchCandidate& b) {
    return better(metric_, a.score, b.score);
  });
  return raw;
}

float GalleryNormalizer::normalize_pair(const Embedding& a, const Embedding& b, float raw) const {
  if (!active()) return raw;
  const CohortStats stats_a = stats_excluding(cohort_.scores(a, metric_), "", metric_, options_);
  const CohortStats stats_b = stats_excluding(cohort_.scores(b, metric_), "", metric_, options_);
  return normalize_score(raw, options_.norm, stats_a, stats_b);
}

std::vector<Embedding> load_cohort_gallery(const std::string& uri, const std::string& model_id) {
  const auto store = open_store(uri);
  const std::string stored = store->model_id();
  if (!stored.empty() && stored != model_id)
    throw Error(ErrorCode::kModelMismatch, "the cohort gallery " + uri + " holds embeddings of model " + stored +
                                               " but the engine uses " + model_id);
  std::vector<Embedding> embeddings;
  for (const auto& face : store->faces(false)) embeddings.push_back(face.embedding);
  return embeddings;
}

std::vector<MatchCandidate> rank_normalized(const PersonIndex& index, const GalleryNormalizer& normalizer,
                                            const Embedding& query, const MatchOptions& options, int limit) {
  if (!normalizer.active()) return index.rank(query, options, limit);
  auto ranked = normalizer.normalize(query, index.rank(query, options, std::max(limit, kRerankPool)));
  if (ranked.size() > static_cast<std::size_t>(limit)) ranked.resize(static_cast<std::size_t>(limit));
  return ranked;
}

}  // namespace faceid
