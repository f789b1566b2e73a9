#pragma once
// Writing annotated video: a file browsers play, labels that stay inside the frame.
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

namespace faceid {

struct AnnotationWriter {
  cv::VideoWriter writer;
  std::string codec;     // "h264" or "mp4v"
  std::string warning;   // set when the fallback was taken: say it once to the user
};

// Opens `path` for writing with H.264 when this machine's FFmpeg has an encoder for it (browsers
// play it), else MPEG-4 part 2 (mp4v) with a warning. Throws Error(kIo) when neither opens.
AnnotationWriter open_annotation_writer(const std::string& path, double fps, cv::Size frame_size);

// Where to put the baseline of a label of `text` size above `box` (below its top edge when
// there is no room above) so that the whole label, background included, is inside `frame`.
cv::Point label_origin(const cv::Rect& box, cv::Size text, int baseline, cv::Size frame);

}  // namespace faceid
