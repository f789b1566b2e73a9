#include "core/dnn_net.hpp"

#include <filesystem>

#include "faceid/error.hpp"

namespace faceid {

cv::dnn::Net load_dnn_net(const ModelSpec& spec, const std::string& model_file) {
  cv::dnn::Net net;
  try {
    if (spec.config.empty()) {
      net = cv::dnn::readNet(model_file);
    } else {
      const auto config = std::filesystem::path(model_file).parent_path() / spec.config;
      net = cv::dnn::readNet(model_file, config.string());
    }
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kModelInvalid, "cannot load model " + spec.name + " from " + model_file + ": " +
                                              e.what());
  }
  if (net.empty()) throw Error(ErrorCode::kModelInvalid, "model " + model_file + " is empty");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

}  // namespace faceid
