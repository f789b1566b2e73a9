// Overlap measures and greedy non-maximum suppression.
#include <algorithm>
#include <numeric>

#include "faceid/detector.hpp"
#include "faceid/error.hpp"

namespace faceid {

float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float overlap = (a & b).area();
  const float united = a.area() + b.area() - overlap;
  return united > 0.f ? overlap / united : 0.f;
}

std::vector<int> non_max_suppression(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                     float iou_threshold) {
  if (boxes.size() != scores.size())
    throw Error(ErrorCode::kBadRequest, "non_max_suppression: " + std::to_string(boxes.size()) +
                                            " boxes but " + std::to_string(scores.size()) + " scores");
  std::vector<int> order(boxes.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable, so equal scores keep their input order and results are reproducible.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });

  std::vector<int> kept;
  for (int candidate : order) {
    const bool overlaps_kept = std::any_of(kept.begin(), kept.end(), [&](int k) {
      return intersection_over_union(boxes[candidate], boxes[k]) > iou_threshold;
    });
    if (!overlaps_kept) kept.push_back(candidate);
  }
  return kept;
}

}  // namespace faceid
