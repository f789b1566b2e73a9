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

void write_clip(const std::string& path, const cv::Mat& image, int frames) {
  const cv::Size size(640, 360);
  const double scale = std::min(double(size.width) / image.cols, double(size.height) / image.rows) * 1.1;
  cv::VideoWriter writer(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 25., size);
  ASSERT_TRUE(writer.isOpened()) << "cannot write " << path;
  for (int i = 0; i < frames; ++i) {
    const cv::Mat warp = (cv::Mat_<double>(2, 3) << scale, 0, -0.5 * i, 0, scale, -0.2 * i);
    cv::Mat frame;
    cv::warpAffine(image, frame, warp, size, cv::INTER_AREA, cv::BORDER_REPLICATE);
    writer.write(frame);
  }
}

}  // namespace faceid::test
