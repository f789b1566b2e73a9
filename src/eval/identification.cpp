// Open-set identification (1:N) protocol math: rank-k and FNIR at a target FPIR.
#include "eval/similarity.hpp"
#include "faceid/eval.hpp"

namespace faceid::eval {

using detail::share;
using detail::to_similarity;

namespace {

long long count_mated(const std::vector<SearchResult>& searches, bool mated) {
  long long n = 0;
  for (const auto& search : searches) n += search.mated == mated ? 1 : 0;
  return n;
}

}  // namespace

double rank_accuracy(const std::vector<SearchResult>& searches, int rank) {
  const long long mated = count_mated(searches, true);
  if (mated == 0) throw Error(ErrorCode::kBadRequest, "rank accuracy needs searches of enrolled people");
  long long hits = 0;
  for (const auto& search : searches)
    if (search.mated && !search.failed && search.mate_rank >= 1 && search.mate_rank <= rank) ++hits;
  return share(hits, mated);
}

namespace {

void require_both_kinds(long long mated, long long non_mated) {
  if (mated == 0 || non_mated == 0)
    throw Error(ErrorCode::kBadRequest,
                "open-set rates need searches of both enrolled and never-enrolled people (got " +
                    std::to_string(mated) + " and " + std::to_string(non_mated) + ")");
}

}  // namespace

OpenSetRates open_set_rates(const std::vector<SearchResult>& searches, bool higher_is_better, double threshold) {
  const long long mated = count_mated(searches, true);
  const long long non_mated = count_mated(searches, false);
  require_both_kinds(mated, non_mated);
  const double cut = higher_is_better ? threshold : -threshold;
  long long hits = 0, false_alarms = 0;
  for (const auto& search : searches) {
    const bool accepted = to_similarity(search.top_score, higher_is_better, search.failed) > cut;
    if (search.mated && accepted && search.mate_rank == 1) ++hits;
    if (!search.mated && accepted) ++false_alarms;
  }
  return {1.0 - share(hits, mated), share(false_alarms, non_mated)};
}

double fpir_at(const std::vector<SearchResult>& searches, bool higher_is_better, double threshold) {
  const long long non_mated = count_mated(searches, false);
  if (non_mated == 0) throw Error(ErrorCode::kBadRequest, "FPIR needs at least one non-mated search");
  const double cut = higher_is_better ? threshold : -threshold;
  long long false_alarms = 0;
  for (const auto& search : searches)
    if (!search.mated && to_similarity(search.top_score, higher_is_better, search.failed) > cut) ++false_alarms;
  return share(false_alarms, non_mated);
}

OperatingPoint fnir_at_fpir(const std::vector<SearchResult>& searches, bool higher_is_better, double fpir) {
  const long long non_mated = count_mated(searches, false);
  require_both_kinds(count_mated(searches, true), non_mated);
  std::vector<double> negatives;
  for (const auto& search : searches)
    if (!search.mated) negatives.push_back(to_similarity(search.top_score, higher_is_better, search.failed));
  const double cut = detail::cut_for_rate(detail::sorted_descending(std::move(negatives)), fpir);
  OperatingPoint point;
  point.target = fpir;
  point.threshold = detail::from_similarity(cut, higher_is_better);
  const OpenSetRates rates = open_set_rates(searches, higher_is_better, point.threshold);
  point.rate = rates.fnir;
  point.achieved = rates.fpir;
  point.resolvable = double(non_mated) * fpir >= 1.0 - 1e-9;
  return point;
}

IdentificationSummary summarize_identification(const std::vector<SearchResult>& searches,
                                               bool higher_is_better, const std::vector<double>& fpirs) {
  IdentificationSummary summary;
  for (const auto& search : searches) {
    (search.mated ? summary.mated : summary.non_mated)++;
    if (search.failed) (search.mated ? summary.failed_mated : summary.failed_non_mated)++;
  }
  summary.rank1 = rank_accuracy(searches, 1);
  summary.rank5 = rank_accuracy(searches, 5);
  if (summary.non_mated > 0)
    for (double fpir : fpirs) summary.fnir_at_fpir.push_back(fnir_at_fpir(searches, higher_is_better, fpir));
  return summary;
}

}  // namespace faceid::eval
