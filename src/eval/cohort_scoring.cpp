// Evaluation with cohort score normalisation and per-group rates at fixed thresholds.
#include <algorithm>
#include <cmath>
#include <limits>

#include "faceid/error.hpp"
#include "faceid/eval_cohort.hpp"

namespace faceid::eval {

std::vector<Embedding> usable_embeddings(const std::vector<std::string>& paths,
                                         const std::map<std::string, ImageFace>& faces) {
  std::vector<Embedding> out;
  for (const auto& path : paths) {
    const auto it = faces.find(path);
    if (it != faces.end() && !it->second.error) out.push_back(it->second.embedding);
  }
  return out;
}

std::vector<ScoredPair> score_pairs(const std::vector<PairEntry>& pairs, const std::map<std::string, ImageFace>& faces,
                                    Metric metric, const std::vector<Embedding>& cohort, const NormOptions& options) {
  Cohort members;
  for (std::size_t i = 0; i < cohort.size(); ++i) members.add(static_cast<std::int64_t>(i), "", cohort[i]);
  const bool normalise = options.norm != ScoreNorm::kNone;
  if (normalise && cohort.size() < options.min_cohort)
    throw Error(ErrorCode::kBadRequest, std::string(score_norm_name(options.norm)) + " needs a cohort of at least " +
                                            std::to_string(options.min_cohort) + " faces (got " +
                                            std::to_string(cohort.size()) + "): pass --cohort DIR");
  std::map<std::string, CohortStats> stats;
  auto stats_of = [&](const std::string& path, const Embedding& embedding) {
    auto it = stats.find(path);
    if (it == stats.end())
      it = stats.emplace(path, stats_excluding(members.scores(embedding, metric), "", metric, options)).first;
    return it->second;
  };
  std::vector<ScoredPair> scored;
  scored.reserve(pairs.size());
  for (const auto& pair : pairs) {
    const ImageFace& a = faces.at(pair.path_a);
    const ImageFace& b = faces.at(pair.path_b);
    ScoredPair s;
    s.genuine = pair.genuine;
    s.fold = pair.fold;
    s.failed = a.error || b.error;
    if (!s.failed) {
      s.score = compare(a.embedding, b.embedding, metric);
      if (normalise)
        s.score = normalize_score(s.score, options.norm, stats_of(pair.path_a, a.embedding),
                                  stats_of(pair.path_b, b.embedding));
    }
    scored.push_back(s);
  }
  return scored;
}

CohortSplit split_alternately(std::vector<std::string> paths) {
  std::sort(paths.begin(), paths.end());
  CohortSplit split;
  for (std::size_t i = 0; i < paths.size(); ++i) (i % 2 == 0 ? split.cohort : split.probes).push_back(paths[i]);
  return split;
}

ThresholdByGroup rates_by_group(const std::vector<ScoredPair>& pairs, const std::vector<std::string>& groups,
                                Metric metric, const std::string& name, double inclusive_threshold) {
  if (groups.size() != pairs.size())
    throw Error(ErrorCode::kBadRequest, "rates_by_group: one group per pair is needed");
  const bool hib = higher_is_better(metric);
  // verification_rates accepts scores strictly beyond its threshold; the product accepts the
  // threshold itself too, so step one float towards "worse".
  const double strict = std::nextafter(static_cast<float>(inclusive_threshold),
                                       hib ? -std::numeric_limits<float>::infinity()
                                           : std::numeric_limits<float>::infinity());
  ThresholdByGroup report;
  report.name = name;
  report.threshold = inclusive_threshold;
  report.overall = verification_rates(pairs, hib, strict);
  std::map<std::string, std::vector<ScoredPair>> by_group;
  for (std::size_t i = 0; i < pairs.size(); ++i) by_group[groups[i]].push_back(pairs[i]);
  for (const auto& [group, members] : by_group) {
    GroupAtThreshold row;
    row.group = group;
    for (const auto& p : members) (p.genuine ? row.genuine : row.impostor)++;
    if (row.genuine == 0 || row.impostor == 0) continue;  // a rate needs both classes
    row.rates = verification_rates(members, hib, strict);
    report.max_group_far = std::max(report.max_group_far, row.rates.far);
    report.groups.push_back(row);
  }
  report.far_ratio = report.overall.far > 0 ? report.max_group_far / report.overall.far : 0.0;
  return report;
}

}  // namespace faceid::eval
