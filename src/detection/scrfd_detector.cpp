#include <map>

#include "detection/detector_base.hpp"
#include "detection/detectors.hpp"
#include "detection/net_io.hpp"
#include "faceid/error.hpp"

namespace faceid::detection {
namespace {

// The keypoint models (SCRFD *_kps / *_bnkps): three strides, two anchors per cell.
constexpr int kStrides[] = {8, 16, 32};
constexpr int kLargestStride = 32;
constexpr int kAnchorsPerCell = 2;

// The three outputs of one stride: scores (1 column), box distances (4), keypoint offsets (10).
struct StrideHead {
  cv::Mat scores, distances, keypoints;
};

class ScrfdDetector final : public DetectorBase {
 public:
  ScrfdDetector(const ModelSpec& spec, const std::string& model_file, const DetectorOptions& options)
      : DetectorBase(spec, options), net_(spec, model_file) {}

 private:
  std::vector<Proposal> propose(const cv::Mat& bgr) const override {
    const cv::Size size = network_size(spec().input_size, bgr.size(), kLargestStride);
    const NetworkInput input = letterbox_to(bgr, size, spec());
    std::vector<Proposal> proposals;
    for (const auto& [stride, head] : heads_by_stride(net_.forward(input.blob), size))
      decode(stride, head, size.width, input.scale, proposals);
    return proposals;
  }

  // Exports differ in output order and naming, so heads are told apart by shape:
  // the row count gives the stride, the column count the kind.
  std::map<int, StrideHead> heads_by_stride(const std::vector<cv::Mat>& outputs, cv::Size size) const {
    std::map<int, StrideHead> heads;
    for (const auto& output : outputs) {
      const cv::Mat rows = output_rows(output);
      int stride = 0;
      for (int s : kStrides)
        if (rows.rows == cells(size.width, s) * cells(size.height, s) * kAnchorsPerCell) stride = s;
      if (stride == 0 || (rows.cols != 1 && rows.cols != 4 && rows.cols != 10))
        throw Error(ErrorCode::kModelInvalid, spec().name + " does not have the SCRFD output layout");
      StrideHead& head = heads[stride];
      cv::Mat& slot = rows.cols == 1 ? head.scores : rows.cols == 4 ? head.distances : head.keypoints;
      if (!slot.empty())
        throw Error(ErrorCode::kModelInvalid,
                    spec().name + " has two outputs of one kind for stride " + std::to_string(stride));
      slot = rows;
    }
    for (const auto& [stride, head] : heads)
      if (head.scores.empty() || head.distances.empty() || head.keypoints.empty())
        throw Error(ErrorCode::kModelInvalid,
                    spec().name + " lacks an output for stride " + std::to_string(stride));
    if (heads.empty()) throw Error(ErrorCode::kModelInvalid, spec().name + " has no outputs");
    return heads;
  }

  static int cells(int pixels, int stride) { return (pixels + stride - 1) / stride; }

  // Anchors sit at the top-left corner of each cell; boxes are distances to the
  // four sides and keypoints offsets, both in units of the stride.
  void decode(int stride, const StrideHead& head, int input_width, cv::Point2f scale,
              std::vector<Proposal>& proposals) const {
    const int columns = cells(input_width, stride);
    const auto s = static_cast<float>(stride);
    for (int a = 0; a < head.scores.rows; ++a) {
      const float score = head.scores.at<float>(a, 0);
      if (score < options().score_threshold) continue;
      const int cell = a / kAnchorsPerCell;
      const cv::Point2f centre(static_cast<float>(cell % columns) * s,
                               static_cast<float>(cell / columns) * s);
      const float* d = head.distances.ptr<float>(a);
      const float* k = head.keypoints.ptr<float>(a);
      Proposal p;
      p.box = cv::Rect2f(to_image(centre - cv::Point2f(d[0], d[1]) * s, scale),
                         to_image(centre + cv::Point2f(d[2], d[3]) * s, scale));
      for (int i = 0; i < 5; ++i)
        p.landmarks[i] = to_image(centre + cv::Point2f(k[2 * i], k[2 * i + 1]) * s, scale);
      p.score = score;
      proposals.push_back(p);
    }
  }

  GuardedNet net_;
};

}  // namespace

std::unique_ptr<FaceDetector> make_scrfd_detector(const ModelSpec& spec, const std::string& model_file,
                                                  const DetectorOptions& options) {
  return std::make_unique<ScrfdDetector>(spec, model_file, options);
}

}  // namespace faceid::detection
