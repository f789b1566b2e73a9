#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

std::vector<std::uint8_t> encode(const cv::Mat& image, const std::string& ext) {
  std::vector<std::uint8_t> bytes;
  cv::imencode(ext, image, bytes);
  return bytes;
}

cv::Mat gradient(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) m.at<cv::Vec3b>(y, x) = cv::Vec3b(x % 256, y % 256, (x + y) % 256);
  return m;
}

ErrorCode decode_error(const std::vector<std::uint8_t>& bytes, const ImageLimits& limits = {}) {
  try {
    decode_image(bytes, limits);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "decoding succeeded";
  return ErrorCode::kIo;
}

TEST(Image, DecodesEveryFormatToBgr) {
  const cv::Mat original = gradient(64, 48);
  for (const char* ext : {".jpg", ".png", ".bmp", ".webp"}) {
    const cv::Mat decoded = decode_image(encode(original, ext));
    EXPECT_EQ(decoded.size(), original.size()) << ext;
    EXPECT_EQ(decoded.type(), CV_8UC3) << ext;
  }
}

TEST(Image, GreyAndAlphaImagesBecomeThreeChannels) {
  cv::Mat grey(30, 40, CV_8UC1, cv::Scalar(77));
  EXPECT_EQ(decode_image(encode(grey, ".png")).type(), CV_8UC3);
  cv::Mat rgba(30, 40, CV_8UC4, cv::Scalar(10, 20, 30, 128));
  const cv::Mat decoded = decode_image(encode(rgba, ".png"));
  EXPECT_EQ(decoded.type(), CV_8UC3);
  EXPECT_EQ(decoded.at<cv::Vec3b>(5, 5), cv::Vec3b(10, 20, 30));
}

TEST(Image, EmptyGarbageAndTruncatedDataAreBadImages) {
  EXPECT_EQ(decode_error({}), ErrorCode::kBadImage);
  const std::string text = "this is not an image at all";
  EXPECT_EQ(decode_error(std::vector<std::uint8_t>(text.begin(), text.end())), ErrorCode::kBadImage);
  auto png = encode(gradient(64, 64), ".png");
  png.resize(60);  // header only
  EXPECT_EQ(decode_error(png), ErrorCode::kBadImage);
}

TEST(Image, ExifOrientationIsApplied) {
  // A 60x40 JPEG carrying EXIF orientation 6 ("rotate 90 clockwise to view").
  auto jpeg = encode(gradient(60, 40), ".jpg");
  const std::vector<std::uint8_t> app1 = {
      0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,              // APP1, length 34, "Exif\0\0"
      'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,                    // big-endian TIFF, IFD at 8
      0x00, 0x01,                                                      // one entry
      0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,  // Orientation = 6
      0x00, 0x00, 0x00, 0x00};                                         // no next IFD
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  const cv::Mat decoded = decode_image(jpeg);
  EXPECT_EQ(decoded.size(), cv::Size(40, 60));
}

TEST(Image, DecompressionBombIsRefusedFromItsHeader) {
  // A PNG header claiming 100000 x 100000 pixels.
  auto png = encode(gradient(8, 8), ".png");
  const std::uint32_t big = 100000;
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<std::uint8_t>(big >> (24 - 8 * i));
    png[20 + i] = static_cast<std::uint8_t>(big >> (24 - 8 * i));
  }
  EXPECT_EQ(decode_error(png), ErrorCode::kBadImage);
}

// The cap applies to real images too, not only to headers the decoder would refuse anyway:
// a genuine 400 x 200 PNG is refused under a 100 x 100 cap, and decoded under a 400 x 200 one.
TEST(Image, RealImagesAboveThePixelCapAreRefused) {
  const auto png = encode(gradient(400, 200), ".png");
  ImageLimits limits;
  limits.max_decoded_pixels = 100 * 100;
  try {
    decode_image(png, limits);
    ADD_FAILURE() << "an image of 80000 pixels passed a cap of 10000";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadImage);
  }
  limits.max_decoded_pixels = 400 * 200;
  limits.max_working_pixels = 400 * 200;
  const cv::Mat decoded = decode_image(png, limits);
  EXPECT_EQ(decoded.size(), cv::Size(400, 200));
}

TEST(Image, LargeImagesAreDownscaledForWork) {
  ImageLimits limits;
  limits.max_working_pixels = 100 * 100;
  const cv::Mat decoded = decode_image(encode(gradient(400, 200), ".png"), limits);
  EXPECT_LE(decoded.total(), 100u * 100u);
  EXPECT_NEAR(static_cast<double>(decoded.cols) / decoded.rows, 2.0, 0.05);
}

TEST(Image, FilesTooLargeOrMissingGiveTypedErrors) {
  const std::string dir = test::temp_dir("image");
  try {
    load_image(dir + "/missing.jpg");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  const std::string empty = dir + "/empty.jpg";
  std::ofstream(empty).close();
  try {
    load_image(empty);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadImage);
    EXPECT_NE(std::string(e.what()).find("empty.jpg"), std::string::npos);
  }
  ImageLimits tiny;
  tiny.max_file_bytes = 10;
  const std::string small = dir + "/small.png";
  cv::imwrite(small, gradient(20, 20));
  try {
    load_image(small, tiny);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadImage);
  }
}

}  // namespace
}  // namespace faceid
