#include "detection/retry_detector.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

// Border added on every side, as a share of the longer side: a face that fills the image then
// sits well inside the frame, at about half its width, as the networks saw faces in training.
// Measured on the tight chips of the sample photos (tests/detector_test.cpp): 0.15 and 0.25
// recover 5 of the 6 the plain detector misses, 0.4 all 6.
constexpr double kBorderFraction = 0.4;
// Small images (chips) are enlarged to this shorter side first, at most kMaxEnlargement times:
// SCRFD and RetinaFace never enlarge a photo themselves, and a 50-90 px chip is too small for
// them. (On chips of that size UltraFace, which resizes every image to its input, recovers 12
// of 14 misses with the enlargement and 14 without; SCRFD 3 of 4 with it, 1 without.)
constexpr int kEnlargeBelow = 160;
constexpr double kMaxEnlargement = 2.0;
// Large images (video frames) are shrunk so that the padded copy's longer side stays within
// max(the original's, this): every network shrinks them to its input anyway, and the copy of a
// 4K frame stays as small as the frame. (Faces under the detector's min_face_size on the shrunk
// copy, 36 px of a 640x480 frame, are not looked for again.)
constexpr int kCopyLongerSide = 640;
// Only images about as wide as tall get a padded copy: a face chip or a photo is, and the border
// (a share of the longer side, on every side) of a long strip would make a copy many times the
// image's size. With this bound the copy holds at most a few times the image's pixels
// (a chip: at most 2x enlarged; a photo: its longer side stays within max(its own, 640)).
constexpr double kMaxAspectForCopy = 4.0;

// A face found only on the copy is kept when its box, cut to the original frame, covers at least
// this share of the image: the retry is for a face that fills its image, and the smaller "faces"
// of a padded copy are inventions. Measured on every face found only on the copy (default
// detector; tests/detector_test.cpp and the dev sets): the 6 sample chips 0.66-0.99, 37 UTKFace
// chips of unknown_faces_dev 0.63-0.99, casia5_003_004.png (cut by the frame at the nose) 0.50;
// the hair and forehead cut of sample2.jpg's face at x 1437: 0.21.
constexpr double kMinImageShare = 0.3;

bool worth_padding(const cv::Size& size) {
  const int shorter = std::min(size.width, size.height), longer = std::max(size.width, size.height);
  return shorter > 0 && longer <= kMaxAspectForCopy * shorter;
}

// How much to enlarge (> 1) or shrink (< 1) `size` before padding it.
double copy_factor(const cv::Size& size) {
  const int shorter = std::min(size.width, size.height), longer = std::max(size.width, size.height);
  if (shorter < kEnlargeBelow) return std::min(kMaxEnlargement, static_cast<double>(kEnlargeBelow) / shorter);
  const double padded = longer * (1 + 2 * kBorderFraction);
  const double limit = std::max(longer, kCopyLongerSide);
  return padded > limit ? limit / padded : 1.0;
}

// The retry copy of an image and how its pixels map back: original = (copy - border) / scale.
struct RetryCopy {
  cv::Mat image;
  cv::Point2f scale{1.f, 1.f};
  float border = 0.f;
  cv::Size original;
};

RetryCopy padded_copy(const cv::Mat& image) {
  RetryCopy copy;
  copy.original = image.size();
  cv::Mat scaled = image;
  const double factor = copy_factor(image.size());
  if (factor != 1.0) {
    const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * factor))),
                        std::max(1, static_cast<int>(std::lround(image.rows * factor))));
    cv::resize(image, scaled, size, 0, 0, factor > 1.0 ? cv::INTER_LINEAR : cv::INTER_AREA);
    copy.scale = {static_cast<float>(scaled.cols) / image.cols, static_cast<float>(scaled.rows) / image.rows};
  }
  const int border = static_cast<int>(std::lround(kBorderFraction * std::max(scaled.cols, scaled.rows)));
  // A plain frame in the image's mean colour: no edges or mirrored features to take for a face.
  cv::copyMakeBorder(scaled, copy.image, border, border, border, border, cv::BORDER_CONSTANT, cv::mean(scaled));
  copy.border = static_cast<float>(border);
  return copy;
}

cv::Point2f to_original(const cv::Point2f& point, const RetryCopy& copy) {
  return {(point.x - copy.border) / copy.scale.x, (point.y - copy.border) / copy.scale.y};
}

// Faces found on `copy` in original-image pixels: boxes cut to the original frame (the visible
// box, as every detector reports it), landmarks moved only where there are some; those under
// min_face_size or kMinImageShare of the image left out.
std::vector<Detection> to_original(std::vector<Detection> faces, const RetryCopy& copy, int min_face_size) {
  const cv::Rect2f frame(0.f, 0.f, static_cast<float>(copy.original.width), static_cast<float>(copy.original.height));
  std::vector<Detection> kept;
  for (Detection& face : faces) {
    face.box = cv::Rect2f(to_original(face.box.tl(), copy), to_original(face.box.br(), copy)) & frame;
    if (face.box.empty() || std::min(face.box.width, face.box.height) < static_cast<float>(min_face_size) ||
        face.box.area() < kMinImageShare * frame.area())
      continue;
    if (has_landmarks(face))
      for (cv::Point2f& point : face.landmarks) point = to_original(point, copy);
    kept.push_back(face);
  }
  // Cutting to the frame can change which box is larger.
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Detection& a, const Detection& b) { return a.box.area() > b.box.area(); });
  return kept;
}

using Pass = std::function<std::vector<Detection>(const FaceDetector&, const cv::Mat&)>;

class RetryDetector final : public FaceDetector {
 public:
  RetryDetector(std::unique_ptr<FaceDetector> primary, std::unique_ptr<FaceDetector> fallback,
                const RetryOptions& options)
      : primary_(std::move(primary)), fallback_(std::move(fallback)), options_(options) {}

  std::vector<Detection> detect(const cv::Mat& image) const override {
    const Pass full = [](const FaceDetector& d, const cv::Mat& m) { return d.detect(m); };
    return first_found(image, full, full);
  }

  std::string name() const override { return primary_->name(); }
  const FaceDetector& single_pass() const override { return *primary_; }

  // The primary decides: add_landmarks() runs its landmark model on every face, retried or not.
  bool separate_landmarks() const override { return primary_->separate_landmarks(); }

  std::vector<Detection> detect_boxes(const cv::Mat& image) const override {
    const Pass boxes = [](const FaceDetector& d, const cv::Mat& m) { return d.detect_boxes(m); };
    const Pass full = [](const FaceDetector& d, const cv::Mat& m) { return d.detect(m); };
    // When the primary gives landmarks with its boxes, callers never call add_landmarks(): the
    // fallback's faces must come with theirs too.
    return first_found(image, boxes, primary_->separate_landmarks() ? boxes : full);
  }

  // Retried faces are in original-image pixels, so the primary's landmark model crops them there.
  void add_landmarks(const cv::Mat& image, Detection& face) const override { primary_->add_landmarks(image, face); }

 private:
  // The first non-empty answer of: the primary on the image, on the padded copy, the fallback on
  // the image, on the padded copy.
  std::vector<Detection> first_found(const cv::Mat& image, const Pass& primary_pass, const Pass& fallback_pass) const {
    std::vector<Detection> faces = primary_pass(*primary_, image);
    if (!faces.empty()) return faces;
    std::optional<RetryCopy> copy;
    if (options_.padded_copy && worth_padding(image.size())) {
      copy = padded_copy(image);
      faces = to_original(primary_pass(*primary_, copy->image), *copy, options_.min_face_size);
      if (!faces.empty()) return faces;
    }
    if (!fallback_) return faces;
    faces = fallback_pass(*fallback_, image);
    if (!faces.empty() || !copy) return faces;
    return to_original(fallback_pass(*fallback_, copy->image), *copy, options_.min_face_size);
  }

  std::unique_ptr<FaceDetector> primary_;
  std::unique_ptr<FaceDetector> fallback_;
  RetryOptions options_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_retry_detector(std::unique_ptr<FaceDetector> primary,
                                                  std::unique_ptr<FaceDetector> fallback,
                                                  const RetryOptions& options) {
  if (!primary) throw Error(ErrorCode::kBadRequest, "a retrying detector needs a primary detector");
  if (!options.padded_copy && !fallback)
    throw Error(ErrorCode::kBadRequest, "a retrying detector needs a padded copy or a fallback detector to retry with");
  if (options.min_face_size < 0) throw Error(ErrorCode::kBadRequest, "min_face_size must not be negative");
  return std::make_unique<RetryDetector>(std::move(primary), std::move(fallback), options);
}

}  // namespace faceid::detection
