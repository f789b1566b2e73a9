// Face quality from the detection and the pixels of the face crop.
#include "faceid/quality.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"

namespace faceid {
namespace {

// Sharpness is measured at one fixed crop size so that it does not depend on how
// large the face happens to be (size has its own part).
constexpr int kCropSize = 112;
constexpr float kRadiansToDegrees = 57.29578f;

// x^2 / (x^2 + half^2): 0 at 0, 0.5 at `half`, towards 1 for larger values.
float more_is_better(float x, float half) { return x * x / (x * x + half * half); }
// half^2 / (x^2 + half^2): 1 at 0, 0.5 at `half`, towards 0 for larger values.
float less_is_better(float x, float half) { return half * half / (x * x + half * half); }

float brightness_part(float mean, const QualityOptions& o) {
  if (mean < o.good_brightness_low) return std::clamp(mean / o.good_brightness_low, 0.f, 1.f);
  if (mean > o.good_brightness_high)
    return std::clamp((255.f - mean) / (255.f - o.good_brightness_high), 0.f, 1.f);
  return 1.f;
}

// Roll from the eye line; yaw and pitch from where the nose sits once the face is
// rotated upright: a frontal face has the nose under the eye midpoint, about half
// way between the eye line and the mouth line.
void measure_pose(const Landmarks5& p, const QualityOptions& options, FaceQuality& q) {
  const cv::Point2f eye_mid = (p[0] + p[1]) * 0.5f;
  const cv::Point2f eye_vector = p[1] - p[0];
  const float eye_distance = float(cv::norm(eye_vector));
  const cv::Point2f mouth_mid = (p[3] + p[4]) * 0.5f;
  const float angle = std::atan2(eye_vector.y, eye_vector.x);
  q.roll_degrees = angle * kRadiansToDegrees;
  const float c = std::cos(-angle), s = std::sin(-angle);
  auto upright = [&](cv::Point2f v) { return cv::Point2f(c * v.x - s * v.y, s * v.x + c * v.y); };
  const cv::Point2f nose = upright(p[2] - eye_mid);
  const cv::Point2f mouth = upright(mouth_mid - eye_mid);
  if (eye_distance < 1.f || mouth.y < 1.f) {
    // Degenerate points: such a face cannot be aligned, so it is useless for recognition.
    q.pose = 0.f;
    return;
  }
  q.yaw = nose.x / eye_distance;
  q.pitch = nose.y / mouth.y - 0.5f;
  q.pose = less_is_better(q.yaw, options.half_yaw) * less_is_better(q.roll_degrees, options.half_roll_degrees) *
           less_is_better(q.pitch, options.half_pitch);
}

}  // namespace

FaceQuality face_quality(const cv::Mat& bgr, const Detection& face, const QualityOptions& options) {
  if (bgr.empty() || (bgr.type() != CV_8UC3 && bgr.type() != CV_8UC1))
    throw Error(ErrorCode::kBadRequest, "face_quality: needs a non-empty 8-bit BGR or grayscale image");
  const cv::Rect image_rect(0, 0, bgr.cols, bgr.rows);
  const cv::Rect box = cv::Rect(face.box) & image_rect;
  if (box.width < 2 || box.height < 2)
    throw Error(ErrorCode::kBadRequest, "face_quality: the face box lies outside the image");

  FaceQuality q;
  cv::Mat gray;
  if (bgr.channels() == 3) cv::cvtColor(bgr(box), gray, cv::COLOR_BGR2GRAY);
  else gray = bgr(box);
  cv::Mat crop;
  const bool shrinking = box.width > kCropSize || box.height > kCropSize;
  cv::resize(gray, crop, {kCropSize, kCropSize}, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);

  cv::Mat laplacian;
  cv::Laplacian(crop, laplacian, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  q.laplacian_variance = float(stddev[0] * stddev[0]);
  q.mean_brightness = float(cv::mean(crop)[0]);
  q.face_pixels = std::min(face.box.width, face.box.height);

  q.detector = std::clamp(face.score, 0.f, 1.f);
  q.size = more_is_better(q.face_pixels, options.half_size_pixels);
  q.sharpness = more_is_better(q.laplacian_variance, options.half_sharpness);
  q.brightness = brightness_part(q.mean_brightness, options);
  measure_pose(face.landmarks, options, q);

  // Weighted geometric mean: one very poor part (a blurred or profile face) pulls
  // the whole score down, which a weighted sum would average away.
  const std::pair<float, float> parts[] = {{q.detector, options.weight_detector},
                                           {q.size, options.weight_size},
                                           {q.sharpness, options.weight_sharpness},
                                           {q.pose, options.weight_pose},
                                           {q.brightness, options.weight_brightness}};
  float log_sum = 0.f, weight_sum = 0.f;
  for (const auto& [value, weight] : parts) {
    log_sum += weight * std::log(std::max(value, 1e-6f));
    weight_sum += weight;
  }
  q.score = weight_sum > 0.f ? std::clamp(std::exp(log_sum / weight_sum), 0.f, 1.f) : 0.f;
  return q;
}

}  // namespace faceid
