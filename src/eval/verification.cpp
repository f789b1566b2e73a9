// Verification (1:1) protocol math: ROC, AUC, EER, TAR@FAR and LFW k-fold accuracy.
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "eval/similarity.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {

using detail::from_similarity;
using detail::share;
using detail::to_similarity;

namespace {

struct Counts {
  long long genuine = 0, impostor = 0;
};

Counts count_classes(const std::vector<ScoredPair>& pairs) {
  Counts counts;
  for (const auto& pair : pairs) (pair.genuine ? counts.genuine : counts.impostor)++;
  return counts;
}

void require_both_classes(const std::vector<ScoredPair>& pairs) {
  const Counts counts = count_classes(pairs);
  if (counts.genuine == 0 || counts.impostor == 0)
    throw Error(ErrorCode::kBadRequest, "verification needs both genuine and impostor pairs (got " +
                                            std::to_string(counts.genuine) + " genuine, " +
                                            std::to_string(counts.impostor) + " impostor)");
}

std::vector<double> impostor_similarities(const std::vector<ScoredPair>& pairs, bool higher_is_better) {
  std::vector<double> values;
  for (const auto& pair : pairs)
    if (!pair.genuine) values.push_back(to_similarity(pair.score, higher_is_better, pair.failed));
  return detail::sorted_descending(std::move(values));
}

}  // namespace

std::vector<RocPoint> roc_curve(const std::vector<ScoredPair>& pairs, bool higher_is_better) {
  require_both_classes(pairs);
  const Counts counts = count_classes(pairs);
  // Similarity -> (genuine, impostor) counts, best first; failed pairs are never accepted.
  std::map<double, std::pair<long long, long long>, std::greater<double>> by_score;
  for (const auto& pair : pairs) {
    if (pair.failed) continue;
    auto& cell = by_score[to_similarity(pair.score, higher_is_better, false)];
    (pair.genuine ? cell.first : cell.second)++;
  }
  std::vector<RocPoint> roc;
  roc.push_back({from_similarity(std::numeric_limits<double>::infinity(), higher_is_better), 0.0, 0.0});
  long long accepted_genuine = 0, accepted_impostor = 0;
  for (const auto& [similarity, cell] : by_score) {
    accepted_genuine += cell.first;
    accepted_impostor += cell.second;
    roc.push_back({from_similarity(similarity, higher_is_better), share(accepted_impostor, counts.impostor),
                   share(accepted_genuine, counts.genuine)});
  }
  // Failed impostors are rejected at every threshold: close the curve flat to FAR = 1.
  if (roc.back().far < 1.0) roc.push_back({roc.back().threshold, 1.0, roc.back().tar});
  return roc;
}

double roc_auc(const std::vector<RocPoint>& roc) {
  double area = 0;
  for (std::size_t i = 1; i < roc.size(); ++i)
    area += (roc[i].far - roc[i - 1].far) * (roc[i].tar + roc[i - 1].tar) / 2.0;
  return area;
}

EqualErrorRate equal_error_rate(const std::vector<RocPoint>& roc) {
  // FAR - FRR rises from -1 at the strictest point to >= 0 at FAR = 1; find the crossing.
  auto gap = [](const RocPoint& p) { return p.far - (1.0 - p.tar); };
  for (std::size_t i = 1; i < roc.size(); ++i) {
    if (gap(roc[i]) < 0) continue;
    const RocPoint& a = roc[i - 1];
    const RocPoint& b = roc[i];
    const double t = -gap(a) / (gap(b) - gap(a));
    EqualErrorRate eer;
    eer.rate = a.far + t * (b.far - a.far);
    if (std::isfinite(a.threshold) && std::isfinite(b.threshold))
      eer.threshold = a.threshold + t * (b.threshold - a.threshold);
    else
      eer.threshold = std::isfinite(b.threshold) ? b.threshold : a.threshold;
    return eer;
  }
  throw Error(ErrorCode::kBadRequest, "an ROC curve must end at FAR = 1");
}

VerificationRates verification_rates(const std::vector<ScoredPair>& pairs, bool higher_is_better,
                                     double threshold) {
  require_both_classes(pairs);
  const Counts counts = count_classes(pairs);
  const double cut = higher_is_better ? threshold : -threshold;
  long long accepted_genuine = 0, accepted_impostor = 0;
  for (const auto& pair : pairs) {
    if (to_similarity(pair.score, higher_is_better, pair.failed) <= cut) continue;
    (pair.genuine ? accepted_genuine : accepted_impostor)++;
  }
  return {share(accepted_genuine, counts.genuine), share(accepted_impostor, counts.impostor)};
}

OperatingPoint tar_at_far(const std::vector<ScoredPair>& pairs, bool higher_is_better, double far) {
  require_both_classes(pairs);
  const double cut = detail::cut_for_rate(impostor_similarities(pairs, higher_is_better), far);
  OperatingPoint point;
  point.target = far;
  point.threshold = from_similarity(cut, higher_is_better);
  const VerificationRates rates = verification_rates(pairs, higher_is_better, point.threshold);
  point.rate = rates.tar;
  point.achieved = rates.far;
  point.resolvable = double(count_classes(pairs).impostor) * far >= 1.0 - 1e-9;
  return point;
}

double accuracy_at(const std::vector<ScoredPair>& pairs, bool higher_is_better, double threshold) {
  const double cut = higher_is_better ? threshold : -threshold;
  long long correct = 0;
  for (const auto& pair : pairs) {
    if (pair.failed) continue;
    const bool accepted = to_similarity(pair.score, higher_is_better, false) >= cut;
    if (accepted == pair.genuine) ++correct;
  }
  return share(correct, static_cast<long long>(pairs.size()));
}

double best_accuracy_threshold(const std::vector<ScoredPair>& pairs, bool higher_is_better) {
  // Similarity -> (genuine, impostor) counts, lowest first.
  std::map<double, std::pair<long long, long long>> by_score;
  for (const auto& pair : pairs) {
    if (pair.failed) continue;
    auto& cell = by_score[to_similarity(pair.score, higher_is_better, false)];
    (pair.genuine ? cell.first : cell.second)++;
  }
  if (by_score.empty())
    throw Error(ErrorCode::kBadRequest, "no scored pairs to choose a threshold on");
  // Sweep from "accept everything" upwards: passing a score rejects its pairs, which
  // turns its genuine pairs wrong and its impostors right.
  long long correct = 0;
  for (const auto& [similarity, cell] : by_score) correct += cell.first;
  double best_cut = by_score.begin()->first - 1.0;
  long long best_correct = correct;
  for (auto it = by_score.begin(); it != by_score.end(); ++it) {
    correct += it->second.second - it->second.first;
    const auto next = std::next(it);
    const double cut = next == by_score.end() ? it->first + 1.0 : (it->first + next->first) / 2.0;
    if (correct >= best_correct) {
      best_correct = correct;
      best_cut = cut;
    }
  }
  return from_similarity(best_cut, higher_is_better);
}

KFoldAccuracy kfold_accuracy(const std::vector<ScoredPair>& pairs, bool higher_is_better) {
  std::set<int> fold_ids;
  for (const auto& pair : pairs) fold_ids.insert(pair.fold);
  if (fold_ids.size() < 2)
    throw Error(ErrorCode::kBadRequest, "k-fold accuracy needs at least two folds");
  KFoldAccuracy result;
  for (int fold : fold_ids) {
    std::vector<ScoredPair> train, test;
    for (const auto& pair : pairs) (pair.fold == fold ? test : train).push_back(pair);
    FoldResult fold_result;
    fold_result.fold = fold;
    fold_result.pairs = static_cast<int>(test.size());
    fold_result.threshold = best_accuracy_threshold(train, higher_is_better);
    fold_result.accuracy = accuracy_at(test, higher_is_better, fold_result.threshold);
    result.folds.push_back(fold_result);
  }
  double sum = 0;
  for (const auto& fold : result.folds) sum += fold.accuracy;
  result.mean = sum / double(result.folds.size());
  double squares = 0;
  for (const auto& fold : result.folds) squares += (fold.accuracy - result.mean) * (fold.accuracy - result.mean);
  result.std = std::sqrt(squares / double(result.folds.size() - 1));
  return result;
}

void check_fold_count(int folds) {
  if (folds < 1) throw Error(ErrorCode::kBadRequest, "the number of folds must be at least 1");
}

VerificationSummary summarize_verification(const std::vector<ScoredPair>& pairs, bool higher_is_better,
                                           const std::vector<double>& fars) {
  VerificationSummary summary;
  summary.pairs = static_cast<int>(pairs.size());
  for (const auto& pair : pairs) {
    (pair.genuine ? summary.genuine : summary.impostor)++;
    if (pair.failed) (pair.genuine ? summary.failed_genuine : summary.failed_impostor)++;
  }
  summary.roc = roc_curve(pairs, higher_is_better);
  summary.auc = roc_auc(summary.roc);
  summary.eer = equal_error_rate(summary.roc);
  for (double far : fars) summary.tar_at_far.push_back(tar_at_far(pairs, higher_is_better, far));
  std::set<int> fold_ids;
  for (const auto& pair : pairs) fold_ids.insert(pair.fold);
  if (fold_ids.size() >= 2) summary.accuracy = kfold_accuracy(pairs, higher_is_better);
  return summary;
}

double max_min_gap(const std::vector<double>& values) {
  if (values.empty()) return 0;
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  return *hi - *lo;
}

}  // namespace faceid::eval
