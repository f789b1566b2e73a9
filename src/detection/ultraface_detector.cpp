#include "detection/detector_base.hpp"
#include "detection/detectors.hpp"
#include "detection/net_io.hpp"
#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

class UltraFaceDetector final : public DetectorBase {
 public:
  UltraFaceDetector(const ModelSpec& spec, const std::string& model_file, const DetectorOptions& options,
                    std::unique_ptr<Landmark68Model> landmarker)
      : DetectorBase(spec, options, std::move(landmarker)), net_(spec, model_file) {
    if (spec.input_size.empty())
      throw Error(ErrorCode::kModelInvalid, "detector " + spec.name + " has no input_size in its manifest");
  }

 private:
  std::vector<Proposal> propose(const cv::Mat& bgr) const override {
    // The network sees the whole image stretched to its input and answers with
    // corners as fractions of that input, i.e. of the image.
    const NetworkInput input = stretch_to(bgr, spec().input_size, spec());
    const std::vector<cv::Mat> outputs = net_.forward(input.blob);
    const cv::Mat scores = output_with_columns(outputs, 2, spec().name);  // background, face
    const cv::Mat corners = output_with_columns(outputs, 4, spec().name);
    if (scores.rows != corners.rows)
      throw Error(ErrorCode::kModelInvalid, spec().name + " gives scores and boxes of different lengths");

    const auto width = static_cast<float>(bgr.cols), height = static_cast<float>(bgr.rows);
    std::vector<Proposal> proposals;
    for (int i = 0; i < scores.rows; ++i) {
      const float score = scores.at<float>(i, 1);
      if (score < options().score_threshold) continue;
      const float* c = corners.ptr<float>(i);
      Proposal p;
      p.box = cv::Rect2f(cv::Point2f(c[0] * width, c[1] * height), cv::Point2f(c[2] * width, c[3] * height));
      p.score = score;
      proposals.push_back(p);
    }
    return proposals;
  }

  GuardedNet net_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_ultraface_detector(const ModelSpec& spec, const std::string& model_file,
                                                      const DetectorOptions& options,
                                                      std::unique_ptr<Landmark68Model> landmarker) {
  return std::make_unique<UltraFaceDetector>(spec, model_file, options, std::move(landmarker));
}

}  // namespace faceid::detection
