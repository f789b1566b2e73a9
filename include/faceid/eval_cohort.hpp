#pragma once
// Evaluation with cohort score normalisation, and the per-group figures read at the
// thresholds the product ships (see faceid/score_norm.hpp for the normalisation itself).
#include <map>
#include <string>
#include <vector>

#include "faceid/eval.hpp"
#include "faceid/score_norm.hpp"

namespace faceid::eval {

// Every pair scored under `metric`; with options.norm set, normalised against `cohort`
// (each image's statistics computed once). A pair with a failed side stays failed.
std::vector<ScoredPair> score_pairs(const std::vector<PairEntry>& pairs, const std::map<std::string, ImageFace>& faces,
                                    Metric metric, const std::vector<Embedding>& cohort = {},
                                    const NormOptions& options = {});

// The usable embeddings of `paths` (images without a face are left out).
std::vector<Embedding> usable_embeddings(const std::vector<std::string>& paths,
                                         const std::map<std::string, ImageFace>& faces);

// When the cohort is also a source of probes, every second image (sorted order) goes to the
// cohort and the others to the probes, so no face is both its own impostor and its cohort.
struct CohortSplit {
  std::vector<std::string> cohort, probes;
};
CohortSplit split_alternately(std::vector<std::string> paths);

// TAR and FAR of each group at one fixed threshold.
struct GroupAtThreshold {
  std::string group;
  int genuine = 0, impostor = 0;
  VerificationRates rates;
};

struct ThresholdByGroup {
  std::string name;        // what the threshold is (e.g. "1:1 shipped")
  double threshold = 0;    // inclusive, as the product applies it (accepts())
  VerificationRates overall;
  std::vector<GroupAtThreshold> groups;
  double max_group_far = 0;
  // max_group_far / overall FAR; 0 when no impostor at all is accepted overall.
  double far_ratio = 0;
};

// Reads every group (`groups[i]` is the group of `pairs[i]`) at an inclusive threshold.
ThresholdByGroup rates_by_group(const std::vector<ScoredPair>& pairs, const std::vector<std::string>& groups,
                                Metric metric, const std::string& name, double inclusive_threshold);

}  // namespace faceid::eval
