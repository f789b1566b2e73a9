#include <array>
#include <cmath>

#include "detection/detector_base.hpp"
#include "detection/detectors.hpp"
#include "detection/net_io.hpp"
#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

constexpr int kLargestStride = 32;

// Prior boxes of the MobileNet-0.25 RetinaFace: two square sizes per cell and stride.
struct PriorLevel {
  int stride;
  std::array<float, 2> sizes;
};
constexpr std::array<PriorLevel, 3> kPriorLevels = {
    {{8, {16.f, 32.f}}, {16, {64.f, 128.f}}, {32, {256.f, 512.f}}}};

// Regression variances the network was trained with (centre, size).
constexpr float kCentreVariance = 0.1f;
constexpr float kSizeVariance = 0.2f;

struct Prior {
  cv::Point2f centre;  // network-input pixels
  float size;
};

std::vector<Prior> priors_for(cv::Size input) {
  std::vector<Prior> priors;
  for (const auto& level : kPriorLevels) {
    const int rows = (input.height + level.stride - 1) / level.stride;
    const int columns = (input.width + level.stride - 1) / level.stride;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < columns; ++x)
        for (float size : level.sizes)
          priors.push_back({cv::Point2f((x + 0.5f) * level.stride, (y + 0.5f) * level.stride), size});
  }
  return priors;
}

class RetinaFaceDetector final : public DetectorBase {
 public:
  RetinaFaceDetector(const ModelSpec& spec, const std::string& model_file, const DetectorOptions& options)
      : DetectorBase(spec, options), net_(spec, model_file) {}

 private:
  std::vector<Proposal> propose(const cv::Mat& bgr) const override {
    const cv::Size size = network_size(spec().input_size, bgr.size(), kLargestStride);
    const NetworkInput input = letterbox_to(bgr, size, spec());
    const std::vector<cv::Mat> outputs = net_.forward(input.blob);
    const cv::Mat scores = output_with_columns(outputs, 2, spec().name);  // background, face
    const cv::Mat offsets = output_with_columns(outputs, 4, spec().name);
    const cv::Mat points = output_with_columns(outputs, 10, spec().name);
    const std::vector<Prior> priors = priors_for(size);
    if (scores.rows != static_cast<int>(priors.size()) || offsets.rows != scores.rows ||
        points.rows != scores.rows)
      throw Error(ErrorCode::kModelInvalid, spec().name + " does not have the RetinaFace prior layout");

    std::vector<Proposal> proposals;
    for (int i = 0; i < scores.rows; ++i) {
      const float score = scores.at<float>(i, 1);
      if (score < options().score_threshold) continue;
      const Prior& prior = priors[i];
      const float* o = offsets.ptr<float>(i);
      const cv::Point2f centre = prior.centre + cv::Point2f(o[0], o[1]) * (kCentreVariance * prior.size);
      const cv::Point2f half =
          cv::Point2f(std::exp(o[2] * kSizeVariance), std::exp(o[3] * kSizeVariance)) * (prior.size / 2);
      const float* l = points.ptr<float>(i);
      Proposal p;
      p.box = cv::Rect2f(to_image(centre - half, input.scale), to_image(centre + half, input.scale));
      for (int k = 0; k < 5; ++k)
        p.landmarks[k] = to_image(
            prior.centre + cv::Point2f(l[2 * k], l[2 * k + 1]) * (kCentreVariance * prior.size), input.scale);
      p.score = score;
      proposals.push_back(p);
    }
    return proposals;
  }

  GuardedNet net_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_retinaface_detector(const ModelSpec& spec, const std::string& model_file,
                                                       const DetectorOptions& options) {
  return std::make_unique<RetinaFaceDetector>(spec, model_file, options);
}

}  // namespace faceid::detection
