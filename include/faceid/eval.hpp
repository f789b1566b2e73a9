#pragma once
// Accuracy evaluation: standard verification (1:1) and open-set identification (1:N)
// protocols, the protocol-file parsers, and the plots that show the results.
//
// Scores keep the metric's own direction: pass higher_is_better(metric). A pair or
// search whose image had no usable face is kept as `failed`: it counts as an error
// in accuracy, as a false reject for genuine pairs and mated searches, and as a
// correct reject for impostors (it can never be accepted), so a detector that
// misses faces is never rewarded with a smaller denominator.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"

namespace faceid::eval {

// ---------------------------------------------------------------- verification math

struct ScoredPair {
  float score = 0.f;
  bool genuine = false;  // same person
  int fold = 0;          // 0-based
  bool failed = false;   // no face in one of the images: `score` is meaningless
};

// One operating point of an ROC curve: pairs with a score at or beyond `threshold` are accepted.
struct RocPoint {
  double threshold = 0;
  double far = 0;  // false accept rate: accepted impostors / all impostors
  double tar = 0;  // true accept rate: accepted genuine pairs / all genuine pairs
};

// From the strictest threshold (0, 0) to the most lenient (1, 1); one point per distinct score.
std::vector<RocPoint> roc_curve(const std::vector<ScoredPair>& pairs, bool higher_is_better);
// Area under the curve by the trapezoid rule (ties count half, as in the Mann-Whitney statistic).
double roc_auc(const std::vector<RocPoint>& roc);

struct EqualErrorRate {
  double rate = 0;       // where FAR = FRR, linearly interpolated between ROC points
  double threshold = 0;  // the score at that point, interpolated the same way
};
EqualErrorRate equal_error_rate(const std::vector<RocPoint>& roc);

struct OperatingPoint {
  double target = 0;     // the rate asked for (FAR or FPIR)
  double threshold = 0;  // accept scores strictly beyond this one
  double rate = 0;       // TAR (verification) or FNIR (identification) at that threshold
  double achieved = 0;   // the FAR / FPIR actually reached (<= target)
  // The negatives are numerous enough (>= 1/target) for the target to mean something.
  bool resolvable = false;
};

// The most lenient threshold whose FAR stays <= `far`, and the TAR it gives.
OperatingPoint tar_at_far(const std::vector<ScoredPair>& pairs, bool higher_is_better, double far);

struct VerificationRates {
  double tar = 0, far = 0;
};
// TAR and FAR when scores strictly beyond `threshold` are accepted (an OperatingPoint's threshold).
VerificationRates verification_rates(const std::vector<ScoredPair>& pairs, bool higher_is_better,
                                     double threshold);

// The threshold maximising accuracy on `pairs` (failed pairs ignored: they are wrong at any
// threshold). Candidates are midpoints between neighbouring distinct scores, plus one beyond
// each end; ties go to the strictest candidate.
double best_accuracy_threshold(const std::vector<ScoredPair>& pairs, bool higher_is_better);
// Share of pairs decided right at `threshold`; failed pairs are wrong.
double accuracy_at(const std::vector<ScoredPair>& pairs, bool higher_is_better, double threshold);

struct FoldResult {
  int fold = 0;
  int pairs = 0;
  double threshold = 0;  // chosen on the other folds
  double accuracy = 0;   // on this fold
};

struct KFoldAccuracy {
  std::vector<FoldResult> folds;
  double mean = 0;
  double std = 0;  // sample standard deviation over folds
};

// LFW protocol: for each fold, the threshold that maximises accuracy on all other folds
// is applied to it. Needs at least two folds (Error kBadRequest otherwise).
KFoldAccuracy kfold_accuracy(const std::vector<ScoredPair>& pairs, bool higher_is_better);

// Assigns folds 0..k-1 in contiguous blocks of pair order (LFW's own layout) to anything with a
// `fold` member (scored pairs, pair file entries). Error(kBadRequest) for fewer than one fold.
void check_fold_count(int folds);
template <typename Pair>
void assign_block_folds(std::vector<Pair>& pairs, int folds) {
  check_fold_count(folds);
  const std::size_t n = pairs.size();
  for (std::size_t i = 0; i < n; ++i) pairs[i].fold = static_cast<int>(i * std::size_t(folds) / n);
}

struct VerificationSummary {
  int pairs = 0, genuine = 0, impostor = 0;
  int failed_genuine = 0, failed_impostor = 0;
  std::optional<KFoldAccuracy> accuracy;  // absent with fewer than two folds
  double auc = 0;
  EqualErrorRate eer;
  std::vector<OperatingPoint> tar_at_far;  // one per requested FAR
  std::vector<RocPoint> roc;
};

// Everything above at once. `fars` defaults to 1e-1, 1e-2, 1e-3, 1e-4.
VerificationSummary summarize_verification(const std::vector<ScoredPair>& pairs, bool higher_is_better,
                                           const std::vector<double>& fars = {1e-1, 1e-2, 1e-3, 1e-4});

// ---------------------------------------------------------------- identification math

// One 1:N search of a probe against the gallery.
struct SearchResult {
  bool mated = false;     // the probe's identity is enrolled
  int mate_rank = 0;      // 1-based rank of the true identity among the candidates, 0 = not among them
  float top_score = 0.f;  // best candidate's score, whoever it is
  bool failed = false;    // no face in the probe
};

struct IdentificationSummary {
  int mated = 0, non_mated = 0;
  int failed_mated = 0, failed_non_mated = 0;
  double rank1 = 0, rank5 = 0;             // over mated searches (failed = miss)
  std::vector<OperatingPoint> fnir_at_fpir;  // rank-1 FNIR at each FPIR target
};

// Share of mated searches whose true identity is within the first `rank` candidates.
double rank_accuracy(const std::vector<SearchResult>& searches, int rank);
// Open-set FNIR at the most lenient threshold whose FPIR (non-mated searches whose best
// score is accepted) stays <= `fpir`. A mated search is a hit when its true identity is
// ranked first and accepted.
OperatingPoint fnir_at_fpir(const std::vector<SearchResult>& searches, bool higher_is_better, double fpir);
struct OpenSetRates {
  double fnir = 0, fpir = 0;
};
// FNIR and FPIR when best scores strictly beyond `threshold` are accepted.
OpenSetRates open_set_rates(const std::vector<SearchResult>& searches, bool higher_is_better, double threshold);
// FPIR alone at `threshold`, for a set of non-mated searches only (strangers of one group).
// Error(kBadRequest) without a non-mated search.
double fpir_at(const std::vector<SearchResult>& searches, bool higher_is_better, double threshold);

IdentificationSummary summarize_identification(const std::vector<SearchResult>& searches,
                                               bool higher_is_better,
                                               const std::vector<double>& fpirs = {1e-1, 1e-2});

// Largest minus smallest value: the between-group gap of a figure.
double max_min_gap(const std::vector<double>& values);

// ---------------------------------------------------------------- protocol files

struct PairEntry {
  std::string path_a, path_b;  // relative to the dataset root (or absolute)
  bool genuine = false;
  int fold = -1;               // 0-based; -1 when the file gives none
  int line = 0;                // 1-based line in the file, for messages
};

// Reads either the LFW `pairs.txt` layout (header `folds<TAB>n`, then `name n1 n2` and
// `name1 n1 name2 n2` lines, mapped to images/<name>/<name>_%04d.jpg) or the simple
// `pathA pathB 1|0 [fold]` layout. Folds are renumbered 0..k-1 in order of appearance.
// Error(kNotFound) for a missing file, Error(kBadRequest) naming file and line otherwise.
std::vector<PairEntry> parse_pairs_file(const std::string& path);

enum class ProbeRole { kGallery, kProbeKnown, kProbeUnknown };
const char* probe_role_name(ProbeRole role);  // "gallery", "probe_known", "probe_unknown"

struct ProtocolEntry {
  std::string path;
  std::string identity;
  ProbeRole role = ProbeRole::kGallery;
  int line = 0;
};

// `identification_protocol.tsv`: header `path<TAB>identity<TAB>role`. Needs at least one
// gallery image and one probe. Error(kBadRequest) naming file and line.
std::vector<ProtocolEntry> parse_identification_protocol(const std::string& path);

// A dataset manifest (TSV with a header) mapped from its key column (`identity`, else
// `path`) to its first column whose name starts with `ethnicity`.
std::map<std::string, std::string> parse_group_manifest(const std::string& path);

// The group of an image path: the manifest entry of the path itself, else of its
// identity (the parent folder name), else "unlabeled".
std::string group_of(const std::map<std::string, std::string>& groups, const std::string& image_path);

// ---------------------------------------------------------------- running the engine on images

// The embedding of the largest face of one image, or why there is none: kNoFace, kBadImage,
// or the code of why the file could not be read (kNotFound when it does not exist).
struct ImageFace {
  std::optional<ErrorCode> error;  // nullopt = embedded
  Embedding embedding;
  std::string message;
};

// The status word of an image in eval reports: "ok", "no_face", "bad_image", or "missing" (the
// file could not be read).
const char* face_status_name(const std::optional<ErrorCode>& error);

struct RunOptions {
  int threads = 0;         // 0 = every core
  std::string cache_path;  // SQLite embedding cache; "" = none
  bool progress = true;    // progress bar with ETA on stderr
  std::string label;       // shown before the progress bar
};

// Embeds the largest face of every image (paths as given: resolve them first). Images are
// processed by `threads` workers sharing the engine. With a cache, an image already seen by
// the same detector, embedder, alignment and flip setting (keyed by the SHA-256 of its bytes)
// is not recomputed, and detections are shared by every embedder run on the same detector.
std::vector<ImageFace> embed_images(const Engine& engine, const std::vector<std::string>& paths,
                                    const RunOptions& options);

// The default cache file: `eval_cache.db` in the `cache` folder next to the model folder.
std::string default_cache_path(const std::string& model_dir);

// ---------------------------------------------------------------- liveness (ISO/IEC 30107-3)

// One row of a presentation-attack manifest (TSV with a header naming the columns `path`,
// `label` = real | spoof, and optionally `attack_type` and `source`).
struct LivenessSample {
  std::string path;  // resolved against the root folder
  bool attack = false;
  std::string attack_type;
  std::string source;
};
// Error(kBadRequest) naming the line for a missing column or an unknown label.
std::vector<LivenessSample> parse_liveness_manifest(const std::string& tsv_path, const std::string& root);

struct LivenessScore {
  LivenessSample sample;
  std::optional<float> score;  // empty: no face, unreadable image or cannot judge (then rejected)
  std::string reason;
};
// The live score of each sample's subject face (subject_face()), by the engine's liveness model.
std::vector<LivenessScore> score_liveness(const Engine& engine, const std::vector<LivenessSample>& samples,
                                          bool show_progress);

// ISO/IEC 30107-3 figures of one set. Bona fide = real faces; a face is accepted as live when its
// score is >= threshold. Samples without a score are rejected at every threshold: they raise
// BPCER when real and never count as accepted attacks.
struct LivenessMetrics {
  std::size_t bona_fide = 0, attacks = 0;
  std::size_t bona_fide_not_judged = 0, attacks_not_judged = 0;
  double threshold = 0;
  double apcer = 0, bpcer = 0, acer = 0;  // at `threshold`
  double auc = 0;
  // BPCER at the most lenient threshold keeping APCER <= 10 % / 5 % (and those thresholds).
  OperatingPoint at_apcer_10, at_apcer_5;
  std::map<std::string, double> apcer_by_attack_type;  // at `threshold`
  std::vector<RocPoint> roc;                           // far = APCER, tar = 1 - BPCER
};
// Error(kBadRequest) unless both classes are present.
LivenessMetrics liveness_metrics(const std::vector<LivenessScore>& scores, double threshold);
// The inclusive threshold (score >= it accepted) of the most lenient operating point whose
// APCER stays <= `apcer`: what `faceid calibrate --liveness` writes. Error(kBadRequest) when
// there are fewer than 1/apcer attacks.
double liveness_threshold_at_apcer(const std::vector<LivenessScore>& scores, double apcer);

// ---------------------------------------------------------------- plots

struct NamedRoc {
  std::string label;
  std::vector<RocPoint> roc;
};

// ROC curves overlaid, log-scale FAR axis from 1e-4 (or the smallest resolvable FAR) to 1.
// Error(kIo) when the file cannot be written.
void write_roc_plot(const std::string& png_path, const std::string& title, const std::vector<NamedRoc>& curves);

// Genuine vs impostor score histograms, with a threshold marked (and named) when given.
void write_score_histogram(const std::string& png_path, const std::string& title,
                           const std::vector<ScoredPair>& pairs, std::optional<double> threshold,
                           const std::string& threshold_label = "threshold");

}  // namespace faceid::eval
