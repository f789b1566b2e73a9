#pragma once
// Comparison metrics and the direction each one points.
#include <optional>
#include <string>

#include "faceid/types.hpp"

namespace faceid {

enum class Metric { kCosine, kEuclidean, kEuclideanL2 };

const char* metric_name(Metric metric);         // "cosine", "euclidean", "euclidean_l2"
std::optional<Metric> parse_metric(const std::string& name);

// True when a higher score means "more alike" (cosine); false for distances.
bool higher_is_better(Metric metric);

// Score of two embeddings under `metric`: cosine similarity of the unit vectors,
// euclidean distance of the raw vectors, or euclidean distance of the unit vectors.
float compare(const Embedding& a, const Embedding& b, Metric metric);

// The same, from the cosine of the unit vectors and the two raw norms (what an index returns).
float score_from_cosine(Metric metric, float cosine, float norm_a, float norm_b);

// Whether a score passes the decision threshold (>= for similarity, <= for distance).
bool accepts(Metric metric, float score, float threshold);

// Whether score `a` is a better match than `b`.
bool better(Metric metric, float a, float b);

}  // namespace faceid
