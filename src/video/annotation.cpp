#include "faceid/annotation.hpp"

#include <algorithm>

#include "faceid/error.hpp"

namespace faceid {

AnnotationWriter open_annotation_writer(const std::string& path, double fps, cv::Size frame_size) {
  AnnotationWriter out;
  // avc1 is how OpenCV's FFmpeg backend asks for H.264 in an .mp4; it fails to open without an encoder.
  if (out.writer.open(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('a', 'v', 'c', '1'), fps, frame_size) &&
      out.writer.isOpened()) {
    out.codec = "h264";
    return out;
  }
  if (out.writer.open(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps, frame_size) && out.writer.isOpened()) {
    out.codec = "mp4v";
    out.warning = "this machine's FFmpeg has no H.264 encoder: " + path +
                  " is written as MPEG-4 part 2 (mp4v), which browsers do not play";
    return out;
  }
  throw Error(ErrorCode::kIo, "cannot write the annotated video " + path);
}

cv::Point label_origin(const cv::Rect& box, cv::Size text, int baseline, cv::Size frame) {
  // The background spans [y - text.height - 2, y + baseline].
  int y = box.y - 4 - baseline;
  if (y - text.height - 2 < 0) y = box.y + text.height + 2;  // no room above: inside the box's top
  y = std::clamp(y, text.height + 2, std::max(text.height + 2, frame.height - baseline));
  const int x = std::clamp(box.x, 0, std::max(0, frame.width - text.width));
  return {x, y};
}

}  // namespace faceid
