#pragma once
// Running a detection network: serialised passes and input preparation.
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "core/dnn_net.hpp"
#include "faceid/models.hpp"

namespace faceid::detection {

// A detection network whose passes may run from several threads at once (see DnnNetPool).
class GuardedNet {
 public:
  GuardedNet(const ModelSpec& spec, const std::string& model_file);

  // All unconnected outputs, in getUnconnectedOutLayersNames() order, deep-copied so
  // they outlive the lock (the network reuses its buffers on the next pass).
  std::vector<cv::Mat> forward(const cv::Mat& blob) const;

 private:
  DnnNetPool nets_;
  std::vector<std::string> output_names_;
};

// A network input and the factors that took image pixels to it (input = image * scale).
struct NetworkInput {
  cv::Mat blob;
  cv::Point2f scale;
};

// Network-input coordinates back in image pixels.
inline cv::Point2f to_image(cv::Point2f p, cv::Point2f scale) { return {p.x / scale.x, p.y / scale.y}; }

// The image scaled, aspect ratio kept, to the largest size that fits in `bounds`.
struct FittedImage {
  cv::Mat image;
  cv::Point2f scale;
};
FittedImage fit_within(const cv::Mat& bgr, cv::Size bounds);

// The whole image resized to `size`, aspect ratio not kept.
NetworkInput stretch_to(const cv::Mat& bgr, cv::Size size, const ModelSpec& spec);

// The image shrunk to fit `size` with its aspect ratio kept (never enlarged), placed
// top-left and padded with black, so network coordinates map back by scale alone.
// Enlarging a small photo to the network size made a face filling it (a tight crop,
// the usual enrollment photo) larger than the anchors reach: SCRFD then found no face
// in 196 of 988 asian_faces_dev pairs (168x193 crops scaled 3.3x).
NetworkInput letterbox_to(const cv::Mat& bgr, cv::Size size, const ModelSpec& spec);

// `size`, or when that is empty (a network that takes any size) the image size rounded
// up to a multiple of `stride`.
cv::Size network_size(cv::Size size, cv::Size image, int stride);

// Resamples with area averaging when shrinking (no aliasing) and bilinear otherwise.
cv::Mat resize_image(const cv::Mat& image, cv::Size size);

// NCHW float blob of an image already at network size: (pixel - mean) / std, channel order from spec.
cv::Mat make_blob(const cv::Mat& image, const ModelSpec& spec);

// The rows x columns matrix view of an output shaped [1, rows, cols] or [rows, cols].
cv::Mat output_rows(const cv::Mat& output);

// The one output with `columns` values per row, as output_rows; throws
// Error(kModelInvalid) naming `model` when there is none or more than one.
cv::Mat output_with_columns(const std::vector<cv::Mat>& outputs, int columns, const std::string& model);

}  // namespace faceid::detection
