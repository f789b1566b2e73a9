#pragma once
// Cohort score normalisation (Z-norm, T-norm, S-norm, adaptive S-norm).
//
// A raw score says how alike two faces are; it does not say how alike each of them is
// to everybody else. Faces of a population the embedder separates poorly (East-Asian
// faces for today's models) score high against *every* face of that population, so one
// raw threshold accepts far more of their impostors. Normalisation measures each side
// against a cohort of other people's faces and expresses the score in standard
// deviations above that side's impostor mean:
//
//   z = (s - mean_e) / std_e          enrolled side's statistics (Z-norm)
//   t = (s - mean_p) / std_p          probe side's statistics (T-norm)
//   S-norm = (z + t) / 2; adaptive S-norm = the same with statistics of the top-k
//   cohort scores only (the cohort faces most like that side).
//
// Distances keep their direction: a normalised distance is still "lower is better".
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "faceid/index.hpp"
#include "faceid/metric.hpp"
#include "faceid/types.hpp"

namespace faceid {

enum class ScoreNorm { kNone, kZNorm, kTNorm, kSNorm, kAdaptiveSNorm };

const char* score_norm_name(ScoreNorm norm);  // "none", "znorm", "tnorm", "snorm", "asnorm"
std::optional<ScoreNorm> parse_score_norm(const std::string& name);

// The manifest key of a threshold: "cosine" for raw scores, "cosine/asnorm" for normalised ones.
std::string threshold_key(Metric metric, ScoreNorm norm);

struct NormOptions {
  ScoreNorm norm = ScoreNorm::kNone;
  int top_k = 100;             // cohort scores kept by adaptive S-norm
  std::size_t min_cohort = 20;  // below this many cohort faces the raw score is used
  // Gallery faces taken into the cohort (the first enrolled, at most this many): bounds the
  // cost of one search's cohort scores, whatever the gallery size.
  std::size_t max_gallery_cohort = 2000;
};

// What the product uses unless told otherwise (docs/accuracy.md, "Cohort score normalisation").
NormOptions default_norm_options();

// Mean and standard deviation of one face's scores against a cohort.
struct CohortStats {
  float mean = 0.f;
  float std = 1.f;
};

// Statistics of `scores`: all of them when top_k <= 0, else of the top_k best under
// `metric` (highest similarities, smallest distances). A zero spread becomes 1e-6.
CohortStats cohort_stats(std::vector<float> scores, Metric metric, int top_k);

// The normalised score; `enrolled` is ignored by T-norm, `probe` by Z-norm.
float normalize_score(float raw, ScoreNorm norm, const CohortStats& enrolled, const CohortStats& probe);

// Cohort scores of one face, each tagged with the cohort face's person ("" = anonymous).
struct CohortScore {
  float score = 0.f;
  const std::string* person = nullptr;
};

// A bounded set of other people's faces. Entries are keyed by caller-chosen ids.
class Cohort {
 public:
  void add(std::int64_t id, const std::string& person, const Embedding& embedding);
  bool remove(std::int64_t id);
  void remove_person(const std::string& person);
  void rename_person(const std::string& from, const std::string& to);
  void clear();
  std::size_t size() const { return entries_.size(); }
  bool contains(std::int64_t id) const { return entries_.count(id) > 0; }

  // Scores of `embedding` against every entry (one pass, reused for every candidate).
  std::vector<CohortScore> scores(const Embedding& embedding, Metric metric) const;

 private:
  struct Entry {
    std::string person;
    Embedding embedding;
  };
  std::map<std::int64_t, Entry> entries_;
};

// Statistics of cohort scores leaving out `exclude_person`'s faces (so a person is never
// their own impostor); `exclude_person` empty = keep all. Adaptive when options ask for it.
CohortStats stats_excluding(const std::vector<CohortScore>& scores, const std::string& exclude_person,
                            Metric metric, const NormOptions& options);

// Normalisation for a gallery: the cohort is the gallery's own people (up to
// max_gallery_cohort faces) plus any extra faces (a cohort gallery), and every face's
// enrolled-side statistics are cached (at enrolment, or at its first search after a load),
// so a search costs one pass over the cohort on top of the index search.
// Not internally synchronised: the gallery that owns it guards it.
class GalleryNormalizer {
 public:
  GalleryNormalizer(Metric metric, const NormOptions& options);

  // Replaces the gallery faces (the extra faces stay); statistics are computed once for all.
  void load(const std::vector<FaceRecord>& faces);
  // Enrolled faces: they join the cohort while it has room.
  void add_face(std::int64_t face_id, const std::string& person, const Embedding& embedding);
  void remove_face(std::int64_t face_id);
  void remove_person(const std::string& person);
  void rename_person(const std::string& from, const std::string& to);
  void clear();
  // Faces of people who are not enrolled (never matched, only compared against).
  void add_extra(const std::vector<Embedding>& embeddings);

  // Whether scores are normalised now (a norm is chosen and the cohort is large enough).
  bool active() const;
  ScoreNorm norm() const { return active() ? options_.norm : ScoreNorm::kNone; }
  std::size_t cohort_size() const { return cohort_.size(); }
  const NormOptions& options() const { return options_; }

  // Re-scores raw candidates of one probe and sorts them best first (unchanged when inactive).
  std::vector<MatchCandidate> normalize(const Embedding& probe, std::vector<MatchCandidate> raw) const;
  // One 1:1 comparison of two faces neither of which needs to be enrolled.
  float normalize_pair(const Embedding& a, const Embedding& b, float raw) const;

 private:
  void cohort_changed();
  void refresh_all_stats();
  CohortStats face_stats(const std::string& person, const Embedding& embedding) const;
  CohortStats person_stats(const std::string& person) const;

  struct Face {
    std::string person;
    Embedding embedding;
  };
  Metric metric_;
  NormOptions options_;
  Cohort cohort_;
  std::map<std::int64_t, Face> faces_;
  std::map<std::string, std::vector<std::int64_t>> faces_of_;
  // Statistics per face: computed at enrolment, or at a face's first search after a load or
  // a cohort refresh, so that opening a large gallery does not cost gallery x cohort.
  // Searches run concurrently under the owner's shared lock, hence the mutex of its own.
  mutable std::map<std::int64_t, CohortStats> stats_;
  std::unique_ptr<std::mutex> stats_mutex_ = std::make_unique<std::mutex>();
  std::size_t gallery_in_cohort_ = 0;
  std::int64_t next_extra_id_ = -1;     // extra faces take negative ids
  std::size_t changes_since_refresh_ = 0;
  std::size_t size_at_refresh_ = 0;
};

// Embeddings of a cohort gallery: a store of other people's faces (e.g. built with
// `faceid --gallery cohort.db enroll ...`), so a cohort is embedded once, not at each start.
// Error(kModelMismatch) when it holds embeddings of another model.
std::vector<Embedding> load_cohort_gallery(const std::string& uri, const std::string& model_id);

// People ranked best first by the normalised score, at most `limit`: a wider raw pool from
// the index is re-scored, since normalisation can reorder candidates. Raw ranking when the
// normaliser is inactive.
std::vector<MatchCandidate> rank_normalized(const PersonIndex& index, const GalleryNormalizer& normalizer,
                                            const Embedding& query, const MatchOptions& options, int limit);

}  // namespace faceid
