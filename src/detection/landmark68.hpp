#pragma once
// The 68-point landmark network (format landmark68) that completes detectors
// without landmarks of their own.
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detection/net_io.hpp"
#include "faceid/models.hpp"

namespace faceid::detection {

class Landmark68Model {
 public:
  Landmark68Model(const ModelSpec& spec, const std::string& model_file);

  // The 68 iBUG points of the face a detector boxed, in image pixels.
  std::vector<cv::Point2f> predict(const cv::Mat& bgr, const cv::Rect2f& face_box) const;

  // The same for an explicit crop: the region the network sees, stretched to its input.
  std::vector<cv::Point2f> predict_in_crop(const cv::Mat& bgr, const cv::Rect& crop) const;

  // The crop that gives the most accurate points for a detector box.
  static cv::Rect crop_for(const cv::Rect2f& face_box);

 private:
  ModelSpec spec_;
  GuardedNet net_;
};

}  // namespace faceid::detection
