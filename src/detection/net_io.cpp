#include "detection/net_io.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "core/dnn_net.hpp"
#include "faceid/error.hpp"

namespace faceid::detection {

GuardedNet::GuardedNet(const ModelSpec& spec, const std::string& model_file)
    : nets_(spec, model_file), output_names_(nets_.first().getUnconnectedOutLayersNames()) {}

std::vector<cv::Mat> GuardedNet::forward(const cv::Mat& blob) const {
  return nets_.run([&](cv::dnn::Net& net) {
    std::vector<cv::Mat> outputs;
    try {
      net.setInput(blob);
      net.forward(outputs, output_names_);
    } catch (const cv::Exception& e) {
      // A network that cannot run on a well-formed blob does not fit its manifest entry.
      throw Error(ErrorCode::kModelInvalid, std::string("network failed: ") + e.what());
    }
    for (auto& output : outputs) output = output.clone();
    return outputs;
  });
}

cv::Mat resize_image(const cv::Mat& image, cv::Size size) {
  if (image.size() == size) return image;
  const bool shrinking = size.width <= image.cols && size.height <= image.rows;
  cv::Mat resized;
  cv::resize(image, resized, size, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return resized;
}

cv::Mat make_blob(const cv::Mat& image, const ModelSpec& spec) {
  return cv::dnn::blobFromImage(image, 1.0 / spec.std, cv::Size(), cv::Scalar::all(spec.mean), spec.rgb,
                                false, CV_32F);
}

NetworkInput stretch_to(const cv::Mat& bgr, cv::Size size, const ModelSpec& spec) {
  const cv::Point2f scale(static_cast<float>(size.width) / bgr.cols,
                          static_cast<float>(size.height) / bgr.rows);
  return {make_blob(resize_image(bgr, size), spec), scale};
}

FittedImage fit_within(const cv::Mat& bgr, cv::Size bounds) {
  const double fit =
      std::min(static_cast<double>(bounds.width) / bgr.cols, static_cast<double>(bounds.height) / bgr.rows);
  const cv::Size fitted(std::clamp(static_cast<int>(std::lround(bgr.cols * fit)), 1, bounds.width),
                        std::clamp(static_cast<int>(std::lround(bgr.rows * fit)), 1, bounds.height));
  // Per-axis factors of the rounded size, so mapping back is exact to the pixel.
  return {resize_image(bgr, fitted), cv::Point2f(static_cast<float>(fitted.width) / bgr.cols,
                                                 static_cast<float>(fitted.height) / bgr.rows)};
}

NetworkInput letterbox_to(const cv::Mat& bgr, cv::Size size, const ModelSpec& spec) {
  const bool fits = bgr.cols <= size.width && bgr.rows <= size.height;
  const FittedImage fitted = fits ? FittedImage{bgr, cv::Point2f(1.f, 1.f)} : fit_within(bgr, size);
  cv::Mat padded;
  cv::copyMakeBorder(fitted.image, padded, 0, size.height - fitted.image.rows, 0,
                     size.width - fitted.image.cols, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return {make_blob(padded, spec), fitted.scale};
}

cv::Size network_size(cv::Size size, cv::Size image, int stride) {
  if (!size.empty()) return size;
  const auto round_up = [stride](int v) { return (v + stride - 1) / stride * stride; };
  return {round_up(image.width), round_up(image.height)};
}

cv::Mat output_rows(const cv::Mat& output) {
  if (output.type() == CV_32F && output.isContinuous()) {
    if (output.dims == 3 && output.size[0] == 1)
      return output.reshape(1, std::vector<int>{output.size[1], output.size[2]});
    if (output.dims == 2) return output;
  }
  throw Error(ErrorCode::kModelInvalid,
              "unexpected detector output layout (" + std::to_string(output.dims) + " dimensions)");
}

cv::Mat output_with_columns(const std::vector<cv::Mat>& outputs, int columns, const std::string& model) {
  cv::Mat found;
  for (const auto& output : outputs) {
    const cv::Mat rows = output_rows(output);
    if (rows.cols != columns) continue;
    if (!found.empty())
      throw Error(ErrorCode::kModelInvalid,
                  model + " has several outputs of " + std::to_string(columns) + " columns");
    found = rows;
  }
  if (found.empty())
    throw Error(ErrorCode::kModelInvalid,
                model + " has no output of " + std::to_string(columns) + " columns");
  return found;
}

}  // namespace faceid::detection
