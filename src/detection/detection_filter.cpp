#include <algorithm>
#include <cmath>

#include "faceid/detector.hpp"
#include "faceid/error.hpp"

namespace faceid {

void validate(const DetectionFilter& filter) {
  if (filter.score_threshold && !(*filter.score_threshold >= 0.f && *filter.score_threshold <= 1.f))
    throw Error(ErrorCode::kBadRequest, "the detection threshold must lie in [0, 1]");
  if (filter.min_face_size && *filter.min_face_size < 0)
    throw Error(ErrorCode::kBadRequest, "the minimum face size must not be negative");
}

std::vector<Detection> filter_detections(std::vector<Detection> faces, const DetectionFilter& filter) {
  const auto dropped = [&filter](const Detection& face) {
    if (filter.score_threshold && face.score < *filter.score_threshold) return true;
    return filter.min_face_size &&
           std::min(face.box.width, face.box.height) < static_cast<float>(*filter.min_face_size);
  };
  faces.erase(std::remove_if(faces.begin(), faces.end(), dropped), faces.end());
  return faces;
}

}  // namespace faceid
