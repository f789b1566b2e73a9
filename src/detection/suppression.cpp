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

const Detection& subject_face(const std::vector<Detection>& faces) {
  if (faces.empty()) throw Error(ErrorCode::kNoFace, "no face found");
  // Real faces score near 1 with every detector we ship; false detections big enough to
  // win on size alone scored 0.72-0.87 in LFW photos.
  constexpr float kConfidenceMargin = 0.1f;
  float best_score = 0.f;
  for (const auto& face : faces) best_score = std::max(best_score, face.score);
  const Detection* subject = nullptr;
  for (const auto& face : faces)
    if (face.score >= best_score - kConfidenceMargin && (!subject || face.box.area() > subject->box.area()))
      subject = &face;
  return *subject;
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
