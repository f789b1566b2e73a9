#include "detection/detector_base.hpp"

#include <algorithm>

#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

// Bounds the quadratic suppression on pathological inputs (textures that light up
// thousands of anchors); real images stay far below it.
constexpr std::size_t kMaxProposals = 2000;

cv::Mat as_bgr(const cv::Mat& image) {
  if (image.empty()) throw Error(ErrorCode::kBadImage, "cannot detect faces in an empty image");
  if (image.depth() != CV_8U) throw Error(ErrorCode::kBadImage, "face detection needs an 8-bit image");
  cv::Mat bgr;
  switch (image.channels()) {
    case 3: return image;
    case 1: cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR); return bgr;
    case 4: cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR); return bgr;
    default:
      throw Error(ErrorCode::kBadImage,
                  "face detection needs 1, 3 or 4 channels, got " + std::to_string(image.channels()));
  }
}

float shorter_side(const cv::Rect2f& box) { return std::min(box.width, box.height); }

cv::Rect2f visible_box(const cv::Mat& image, const Proposal& p) {
  return p.box & cv::Rect2f(0.f, 0.f, static_cast<float>(image.cols), static_cast<float>(image.rows));
}

}  // namespace

DetectorBase::DetectorBase(const ModelSpec& spec, const DetectorOptions& options,
                           std::unique_ptr<Landmark68Model> landmarker)
    : spec_(spec), options_(options), landmarker_(std::move(landmarker)) {
  if (!(options_.score_threshold >= 0.f && options_.score_threshold <= 1.f))
    throw Error(ErrorCode::kBadRequest, "detector score_threshold must lie in [0, 1]");
  if (!(options_.nms_threshold > 0.f && options_.nms_threshold <= 1.f))
    throw Error(ErrorCode::kBadRequest, "detector nms_threshold must lie in (0, 1]");
  if (options_.min_face_size < 0 || options_.max_faces < 0)
    throw Error(ErrorCode::kBadRequest, "detector min_face_size and max_faces must not be negative");
}

std::vector<Proposal> DetectorBase::kept_proposals(const cv::Mat& bgr) const {
  std::vector<Proposal> proposals = propose(bgr);
  if (proposals.size() > kMaxProposals) {
    std::partial_sort(proposals.begin(), proposals.begin() + kMaxProposals, proposals.end(),
                      [](const Proposal& a, const Proposal& b) { return a.score > b.score; });
    proposals.resize(kMaxProposals);
  }

  std::vector<cv::Rect2f> boxes;
  std::vector<float> scores;
  for (const auto& p : proposals) {
    boxes.push_back(p.box);
    scores.push_back(p.score);
  }
  const cv::Rect2f frame(0.f, 0.f, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
  std::vector<Proposal> kept;
  for (int index : non_max_suppression(boxes, scores, options_.nms_threshold)) {
    const cv::Rect2f visible = proposals[index].box & frame;
    if (visible.empty() || shorter_side(visible) < static_cast<float>(options_.min_face_size)) continue;
    kept.push_back(proposals[index]);
  }
  const auto visible_area = [&frame](const Proposal& p) { return (p.box & frame).area(); };
  std::stable_sort(kept.begin(), kept.end(),
                   [&](const Proposal& a, const Proposal& b) { return visible_area(a) > visible_area(b); });
  if (options_.max_faces > 0 && kept.size() > static_cast<std::size_t>(options_.max_faces))
    kept.resize(options_.max_faces);
  return kept;
}

std::vector<Detection> DetectorBase::detect(const cv::Mat& image) const {
  const cv::Mat bgr = as_bgr(image);
  std::vector<Detection> faces;
  for (const auto& p : kept_proposals(bgr)) {
    Detection face{visible_box(bgr, p), std::clamp(p.score, 0.f, 1.f), p.landmarks};
    // The landmark crop comes from the whole box: a face cut by the border keeps its shape.
    if (landmarker_) face.landmarks = landmarks68_to_5(landmarker_->predict(bgr, p.box));
    faces.push_back(face);
  }
  return faces;
}

std::vector<Detection> DetectorBase::detect_boxes(const cv::Mat& image) const {
  const cv::Mat bgr = as_bgr(image);
  std::vector<Detection> faces;
  for (const auto& p : kept_proposals(bgr))
    faces.push_back({visible_box(bgr, p), std::clamp(p.score, 0.f, 1.f), landmarker_ ? Landmarks5{} : p.landmarks});
  return faces;
}

void DetectorBase::add_landmarks(const cv::Mat& image, Detection& face) const {
  if (landmarker_) face.landmarks = landmarks68_to_5(landmarker_->predict(as_bgr(image), face.box));
}

}  // namespace faceid::detection
