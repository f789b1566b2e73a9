#include <mutex>

#include <opencv2/objdetect.hpp>

#include "detection/detector_base.hpp"
#include "detection/detectors.hpp"
#include "detection/net_io.hpp"
#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

class YuNetDetector final : public DetectorBase {
 public:
  YuNetDetector(const ModelSpec& spec, const std::string& model_file, const DetectorOptions& options)
      : DetectorBase(spec, options) {
    try {
      // The input size given here is replaced before every call.
      model_ = cv::FaceDetectorYN::create(model_file, "", cv::Size(320, 320), options.score_threshold,
                                          options.nms_threshold);
    } catch (const cv::Exception& e) {
      throw Error(ErrorCode::kModelInvalid,
                  "cannot load " + spec.name + " from " + model_file + ": " + e.what());
    }
    if (!model_) throw Error(ErrorCode::kModelInvalid, "cannot load " + spec.name + " from " + model_file);
  }

 private:
  std::vector<Proposal> propose(const cv::Mat& bgr) const override {
    // Without an input_size the network runs at the image's own size.
    const FittedImage input = spec().input_size.empty() ? FittedImage{bgr, cv::Point2f(1.f, 1.f)}
                                                        : fit_within(bgr, spec().input_size);
    cv::Mat faces;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      try {
        model_->setInputSize(input.image.size());
        model_->detect(input.image, faces);
      } catch (const cv::Exception& e) {
        throw Error(ErrorCode::kModelInvalid, spec().name + " failed: " + e.what());
      }
      faces = faces.clone();  // our own copy, whatever the detector keeps between calls
    }
    // Rows: x, y, w, h, five points (eye, eye, nose, mouth corner, mouth corner, the
    // image-left one of each pair first, which is the ArcFace order), score.
    if (!faces.empty() && (faces.cols != 15 || faces.type() != CV_32F))
      throw Error(ErrorCode::kModelInvalid, spec().name + " gave an unexpected result layout");
    std::vector<Proposal> proposals;
    for (int i = 0; i < faces.rows; ++i) {
      const float* f = faces.ptr<float>(i);
      Proposal p;
      p.box =
          cv::Rect2f(to_image({f[0], f[1]}, input.scale), to_image({f[0] + f[2], f[1] + f[3]}, input.scale));
      for (int k = 0; k < 5; ++k) p.landmarks[k] = to_image({f[4 + 2 * k], f[5 + 2 * k]}, input.scale);
      p.score = f[14];
      proposals.push_back(p);
    }
    return proposals;
  }

  mutable std::mutex mutex_;  // FaceDetectorYN holds its input size and network state
  cv::Ptr<cv::FaceDetectorYN> model_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_yunet_detector(const ModelSpec& spec, const std::string& model_file,
                                                  const DetectorOptions& options) {
  return std::make_unique<YuNetDetector>(spec, model_file, options);
}

}  // namespace faceid::detection
