#include "frame_input.hpp"

#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"

namespace faceid {

cv::Mat to_bgr_frame(const cv::Mat& frame) {
  if (frame.empty()) throw Error(ErrorCode::kBadImage, "empty video frame");
  if (frame.depth() != CV_8U)
    throw Error(ErrorCode::kBadImage, "video frames must have 8-bit channels");
  cv::Mat bgr;
  switch (frame.channels()) {
    case 3: return frame;
    case 1: cv::cvtColor(frame, bgr, cv::COLOR_GRAY2BGR); return bgr;
    case 4: cv::cvtColor(frame, bgr, cv::COLOR_BGRA2BGR); return bgr;
    default: throw Error(ErrorCode::kBadImage, "video frames must have 1, 3 or 4 channels");
  }
}

}  // namespace faceid
