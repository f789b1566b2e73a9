#pragma once
// Face detection: boxes, confidences and five landmarks per face.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/models.hpp"
#include "faceid/types.hpp"

namespace faceid {

// False for a detection whose landmarks were not computed (FaceDetector::detect_boxes): all zero.
inline bool has_landmarks(const Detection& face) {
  for (const auto& point : face.landmarks)
    if (point.x != 0.f || point.y != 0.f) return true;
  return false;
}

struct DetectorOptions {
  float score_threshold = 0.6f;
  float nms_threshold = 0.4f;
  int min_face_size = 20;  // pixels, shorter box side in the input image
  int max_faces = 0;       // 0 = no limit; otherwise the largest faces are kept
};

// Per-call detection knobs (REST `det_threshold` / `min_face_size`, CLI `--det-threshold` /
// `--min-face-size`): faces scoring under `score_threshold` or smaller than `min_face_size` are
// dropped. They can only tighten what the detector was opened with (DetectorOptions), since the
// detector never reports faces below its own settings.
struct DetectionFilter {
  std::optional<float> score_threshold;  // in [0, 1]
  std::optional<int> min_face_size;      // pixels, shorter box side; >= 0
};

// Error(kBadRequest) for values out of range.
void validate(const DetectionFilter& filter);
// The faces that pass `filter`, in their order.
std::vector<Detection> filter_detections(std::vector<Detection> faces, const DetectionFilter& filter);

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // Faces sorted by decreasing box area. Thread-safe.
  virtual std::vector<Detection> detect(const cv::Mat& bgr) const = 0;
  virtual std::string name() const = 0;

  // detect() in two steps, for callers that align only some of the faces (video frames that
  // only track): detectors that need the separate landmark network give the faces with no
  // landmarks (all zero, see has_landmarks), and add_landmarks() runs it on the chosen ones.
  // For a face cut by the image border add_landmarks() crops from the visible box, detect() from
  // the whole proposed box, so the points may differ slightly there. Thread-safe.
  virtual bool separate_landmarks() const { return false; }
  virtual std::vector<Detection> detect_boxes(const cv::Mat& bgr) const { return detect(bgr); }
  virtual void add_landmarks(const cv::Mat& /*bgr*/, Detection& /*face*/) const {}

  // This detector without its retries of an empty answer (detect_retry, fallback_detector), for
  // callers that try again anyway: in live video the next frame is the next try, and an empty
  // room must not cost the retry passes on every frame. add_landmarks() works on its faces.
  virtual const FaceDetector& single_pass() const { return *this; }
};

// Builds a detector for `spec` (format ultraface, yunet, scrfd or retinaface) from
// `model_file`. Detectors that give no landmarks of their own (ultraface) need the
// landmark model named by spec.landmarks: pass its spec and file.
std::unique_ptr<FaceDetector> create_detector(const ModelSpec& spec, const std::string& model_file,
                                              const DetectorOptions& options,
                                              const ModelSpec* landmark_spec = nullptr,
                                              const std::string& landmark_file = {});

// Reduces the 68-point iBUG layout to the five ArcFace points.
Landmarks5 landmarks68_to_5(const std::vector<cv::Point2f>& points68);

// Greedy non-maximum suppression over score-sorted boxes; returns kept indices.
std::vector<int> non_max_suppression(const std::vector<cv::Rect2f>& boxes,
                                     const std::vector<float>& scores, float iou_threshold);

float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b);

// The face a photo is of: the largest face among those detected about as confidently as the
// best one, so a big, doubtful detection (a poster, a pattern) never displaces the subject.
// Error(kNoFace) when `faces` is empty.
const Detection& subject_face(const std::vector<Detection>& faces);

}  // namespace faceid
