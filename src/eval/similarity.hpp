#pragma once
// The protocol math works on similarities (higher = more alike); these convert both ways.
#include <algorithm>
#include <limits>
#include <vector>

#include "faceid/error.hpp"

namespace faceid::eval::detail {

// Failed comparisons sit below every real score, so no finite threshold accepts them.
inline double to_similarity(float score, bool higher_is_better, bool failed) {
  if (failed) return -std::numeric_limits<double>::infinity();
  return higher_is_better ? double(score) : -double(score);
}

inline double from_similarity(double similarity, bool higher_is_better) {
  return higher_is_better ? similarity : -similarity;
}

// Values sorted best first.
inline std::vector<double> sorted_descending(std::vector<double> values) {
  std::sort(values.begin(), values.end(), [](double a, double b) { return a > b; });
  return values;
}

inline double share(long long count, long long total) {
  return total > 0 ? double(count) / double(total) : 0.0;
}

// The strictest-to-most-lenient cut at a target false-positive rate over `negatives`
// (similarities of every negative, failed ones as -inf, best first): up to
// floor(target * n) of them may pass. Returns the similarity that must be strictly exceeded.
inline double cut_for_rate(const std::vector<double>& negatives_desc, double target) {
  const auto allowed = static_cast<std::size_t>(target * double(negatives_desc.size()) + 1e-9);
  if (allowed >= negatives_desc.size()) return -std::numeric_limits<double>::infinity();
  return negatives_desc[allowed];
}

}  // namespace faceid::eval::detail
