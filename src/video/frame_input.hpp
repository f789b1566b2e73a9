#pragma once
// Frames handed in by a caller: checked once and brought to 8-bit BGR.
#include <opencv2/core.hpp>

namespace faceid {

// The frame itself when it is 8-bit BGR, else a converted copy (grayscale, BGRA).
// Throws Error(kBadImage) for an empty frame or another pixel type.
cv::Mat to_bgr_frame(const cv::Mat& frame);

}  // namespace faceid
