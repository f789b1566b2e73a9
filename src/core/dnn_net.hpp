#pragma once
// Loading a cv::dnn network described by a manifest entry.
#include <string>

#include <opencv2/dnn.hpp>

#include "faceid/models.hpp"

namespace faceid {

// Reads an ONNX file, or a Caffe model whose prototxt is spec.config (resolved
// next to `model_file`), on the CPU backend. Throws Error(kModelInvalid).
cv::dnn::Net load_dnn_net(const ModelSpec& spec, const std::string& model_file);

}  // namespace faceid
