#include "sample_people.hpp"

#include <algorithm>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "faceid/image.hpp"

#include "test_support.hpp"

namespace faceid::test {

std::string sample_photo(int i) { return model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

std::size_t largest_face(const std::vector<Detection>& faces) {
  const auto it = std::max_element(faces.begin(), faces.end(), [](const Detection& a, const Detection& b) {
    return a.box.area() < b.box.area();
  });
  return static_cast<std::size_t>(it - faces.begin());
}

std::size_t leftmost_face(const std::vector<Detection>& faces) {
  const auto it = std::min_element(faces.begin(), faces.end(),
                                   [](const Detection& a, const Detection& b) { return a.box.x < b.box.x; });
  return static_cast<std::size_t>(it - faces.begin());
}

cv::Mat face_cut(const cv::Mat& photo, const Detection& face) {
  const cv::Rect box(face.box);
  const cv::Rect margin(box.x - box.width / 2, box.y - box.height / 2, box.width * 2, box.height * 2);
  return photo(margin & cv::Rect(0, 0, photo.cols, photo.rows)).clone();
}

void write_clip(const std::string& path, const std::vector<ClipScene>& scenes) {
  const cv::Size size(640, 360);
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 25., size);
  ASSERT_TRUE(writer.isOpened()) << "cannot write " << path;
  for (const auto& scene : scenes) {
    const cv::Mat grey(size, CV_8UC3, cv::Scalar::all(128));
    const cv::Mat& image = scene.image.empty() ? grey : scene.image;
    const double scale = std::min(double(size.width) / image.cols, double(size.height) / image.rows) * 1.1;
    for (int i = 0; i < scene.frames; ++i) {
      const cv::Mat warp = (cv::Mat_<double>(2, 3) << scale, 0, -0.5 * i, 0, scale, -0.2 * i);
      cv::Mat frame;
      cv::warpAffine(image, frame, warp, size, cv::INTER_AREA, cv::BORDER_REPLICATE);
      writer.write(frame);
    }
  }
}

void write_clip(const std::string& path, const cv::Mat& image, int frames) { write_clip(path, {{image, frames}}); }

}  // namespace faceid::test
