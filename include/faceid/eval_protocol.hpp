#pragma once
// The evaluation protocols end to end, as `faceid eval verify|identify` and `faceid calibrate`
// run them and as Python's faceid.eval calls them: protocol files in, figures out. Each result
// has one JSON view (to_json), the objects the CLI prints with --format json.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceid/engine.hpp"
#include "faceid/eval.hpp"
#include "faceid/eval_cohort.hpp"

namespace faceid::eval {

// One way of computing embeddings: everything that changes the vectors.
struct EmbedSetting {
  std::string detector, embedder;
  bool align = true, flip = false;
  std::string label() const;  // "detector/embedder[ noalign][ flip]"
};

// Every combination of the listed values; an empty list means all the manifest holds (detectors,
// embedders), the three metrics, the three policies, or both on and off (align, flip).
struct Grid {
  bool enabled = false;
  std::vector<std::string> detectors, embedders;
  std::vector<Metric> metrics;
  std::vector<MatchPolicy> policies;
  std::vector<bool> align, flip;
};

// What every protocol shares. `base` gives the models and the embedding settings of a run
// without a grid; its gallery is never opened (evaluation uses an in-memory one).
struct ProtocolOptions {
  EngineConfig base;
  std::string root;                       // image paths are relative to it ("" = the protocol file's folder)
  int limit = 0;                          // > 0: an evenly spread subset of pairs / probes
  int threads = 0;                        // 0 = every core
  std::optional<std::string> cache_path;  // embedding cache; unset = default_cache_path(), "" = none
  bool progress = true;                   // progress bar on stderr
  std::string group_manifest;             // dataset manifest: every figure by its ethnicity column
  NormOptions norm;                       // cohort score normalisation
  std::string cohort_dir;                 // other people's faces for `norm` (searched recursively)
  Grid grid;
};

// An image that gave no usable face, under one setting: every pair or search using it is an error.
struct FailedImage {
  std::string image, status, setting;
};

// ---------------------------------------------------------------- 1:1 verification

struct VerificationRequest : ProtocolOptions {
  std::vector<std::string> pair_files;  // several: one group each (unless group_manifest)
  int folds = 10;                       // for files that give none (contiguous blocks)
  std::vector<double> fars = {1e-1, 1e-2, 1e-3, 1e-4};
};

struct GroupVerification {
  std::string group;
  int pairs = 0;
  std::optional<VerificationSummary> summary;  // absent when one class is missing
  VerificationRates at_operating;              // at the overall operating point's threshold
};

struct VerificationRow {
  EmbedSetting setting;
  Metric metric = Metric::kCosine;
  ScoreNorm norm = ScoreNorm::kNone;
  VerificationSummary summary;
  std::vector<ScoredPair> scored;
  // The strictest resolvable FAR >= 1e-3 (the team's operating point): the threshold groups are
  // compared at.
  std::optional<OperatingPoint> operating_point;
  // With groups: each group, at operating_point and at the thresholds the manifest ships (1:1, 1:N).
  std::vector<GroupVerification> groups;
  std::vector<ThresholdByGroup> shipped;
  std::vector<NamedRoc> group_curves;  // one ROC per group with both classes
};

struct VerificationReport {
  std::vector<VerificationRow> rows;  // one per setting x metric
  std::vector<FailedImage> failures;
  std::vector<std::string> notes;     // settings of a grid that could not be opened here
};

// Error(kBadRequest) for bad options or files, kNotFound when no image exists, kModelInvalid
// when no setting of the grid can be opened.
VerificationReport run_verification(const VerificationRequest& request);

// ---------------------------------------------------------------- 1:N open-set identification

struct IdentificationRequest : ProtocolOptions {
  std::string protocol_file;         // identification_protocol.tsv
  std::string unknown_dir;           // extra never-enrolled faces; the folder name is their group
  std::vector<int> gallery_sizes = {1, 5, 20, 0};  // photos enrolled per person, 0 = all
};

struct IdentificationRow {
  EmbedSetting setting;
  Metric metric = Metric::kCosine;
  ScoreNorm norm = ScoreNorm::kNone;
  MatchPolicy policy = MatchPolicy::kMax;
  int gallery_size = 0;  // 0 = all
  int enrolled_people = 0, enrolled_faces = 0;
  IdentificationSummary summary;
  std::vector<std::pair<std::string, IdentificationSummary>> groups;  // groups with known probes
  std::vector<std::pair<std::string, OpenSetRates>> group_rates;      // at the overall FPIR=1e-2 threshold
  std::vector<std::pair<std::string, double>> stranger_fpir;          // groups of strangers only: FPIR there
};

struct IdentificationReport {
  std::vector<IdentificationRow> rows;  // one per setting x gallery size x metric x policy
  std::vector<FailedImage> failures;
  std::vector<std::string> notes;
};

IdentificationReport run_identification(const IdentificationRequest& request);

// ---------------------------------------------------------------- calibration

struct CalibrationRequest : ProtocolOptions {
  std::vector<std::string> pair_files;
  double far = 1e-3;
  std::string manifest_out;  // "" = <model_dir>/manifest.json
};

struct Calibration {
  std::string embedder, detector, threshold_key, manifest;
  Metric metric = Metric::kCosine;
  ScoreNorm norm = ScoreNorm::kNone;
  double far = 0, threshold = 0, expected_tar = 0, achieved_far = 0;
  int pairs = 0, failed_pairs = 0;
};

// The threshold (inclusive, as the product applies it) of the base setting's embedder, metric and
// normalisation at `far` on the pairs, written into the manifest. Error(kBadRequest) when the
// pairs hold too few impostors for that FAR.
Calibration calibrate_threshold(const CalibrationRequest& request);

// ---------------------------------------------------------------- JSON views

nlohmann::json to_json(const VerificationRow& row);
nlohmann::json to_json(const IdentificationRow& row);
nlohmann::json to_json(const Calibration& calibration);
nlohmann::json to_json(const FailedImage& failure);

}  // namespace faceid::eval
