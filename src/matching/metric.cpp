#include "faceid/metric.hpp"

#include <algorithm>
#include <cmath>

#include "faceid/error.hpp"

namespace faceid {

const char* metric_name(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kEuclidean: return "euclidean";
    case Metric::kEuclideanL2: return "euclidean_l2";
  }
  return "unknown";
}

std::optional<Metric> parse_metric(const std::string& name) {
  for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2})
    if (name == metric_name(m)) return m;
  return std::nullopt;
}

bool higher_is_better(Metric metric) { return metric == Metric::kCosine; }

float score_from_cosine(Metric metric, float cosine, float norm_a, float norm_b) {
  switch (metric) {
    case Metric::kCosine: return cosine;
    case Metric::kEuclideanL2: return std::sqrt(std::max(0.f, 2.f - 2.f * cosine));
    case Metric::kEuclidean:
      return std::sqrt(std::max(0.f, norm_a * norm_a + norm_b * norm_b - 2.f * norm_a * norm_b * cosine));
  }
  return cosine;
}

float compare(const Embedding& a, const Embedding& b, Metric metric) {
  if (a.unit.size() != b.unit.size())
    throw Error(ErrorCode::kModelMismatch, "cannot compare embeddings of length " +
                                               std::to_string(a.unit.size()) + " and " +
                                               std::to_string(b.unit.size()));
  double dot = 0;
  for (std::size_t i = 0; i < a.unit.size(); ++i) dot += double(a.unit[i]) * b.unit[i];
  return score_from_cosine(metric, static_cast<float>(dot), a.norm, b.norm);
}

bool accepts(Metric metric, float score, float threshold) {
  return higher_is_better(metric) ? score >= threshold : score <= threshold;
}

bool better(Metric metric, float a, float b) { return higher_is_better(metric) ? a > b : a < b; }

}  // namespace faceid
