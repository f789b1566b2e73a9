#pragma once
// What every detector shares: the post-processing that turns raw proposals into the
// public, sorted Detection list.
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detection/landmark68.hpp"
#include "faceid/detector.hpp"
#include "faceid/models.hpp"

namespace faceid::detection {

// One face as a network proposes it, in input-image pixels; the box may reach past the border.
struct Proposal {
  cv::Rect2f box;
  float score = 0.f;
  Landmarks5 landmarks{};
};

// Base of every detector: checks the input, asks the subclass for proposals, then
// suppresses overlaps, filters by size, sorts by area and, for networks without
// landmarks of their own, runs the 68-point model on each kept face.
class DetectorBase : public FaceDetector {
 public:
  std::vector<Detection> detect(const cv::Mat& bgr) const final;
  std::string name() const override { return spec_.name; }
  bool separate_landmarks() const final { return landmarker_ != nullptr; }
  std::vector<Detection> detect_boxes(const cv::Mat& bgr) const final;
  void add_landmarks(const cv::Mat& bgr, Detection& face) const final;

 protected:
  DetectorBase(const ModelSpec& spec, const DetectorOptions& options,
               std::unique_ptr<Landmark68Model> landmarker = nullptr);

  // Faces scoring at least options().score_threshold, before suppression.
  virtual std::vector<Proposal> propose(const cv::Mat& bgr) const = 0;

  const ModelSpec& spec() const { return spec_; }
  const DetectorOptions& options() const { return options_; }

 private:
  // Proposals after suppression, size filter, area order and max_faces.
  std::vector<Proposal> kept_proposals(const cv::Mat& bgr) const;

  ModelSpec spec_;
  DetectorOptions options_;
  std::unique_ptr<Landmark68Model> landmarker_;
};

}  // namespace faceid::detection
