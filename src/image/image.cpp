#include "faceid/image.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"

namespace faceid {
namespace {

// Width and height from a PNG, JPEG, BMP or WebP header, without decoding pixels,
// so a decompression bomb is refused before it allocates anything. {0,0} when unknown.
cv::Size peek_dimensions(const std::vector<std::uint8_t>& b) {
  auto be16 = [&](std::size_t i) { return (b[i] << 8) | b[i + 1]; };
  auto be32 = [&](std::size_t i) {
    return (std::uint32_t(b[i]) << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
  };
  auto le32 = [&](std::size_t i) {
    return std::uint32_t(b[i]) | (b[i + 1] << 8) | (b[i + 2] << 16) | (std::uint32_t(b[i + 3]) << 24);
  };
  const std::size_t n = b.size();
  if (n >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G')
    return {static_cast<int>(be32(16) & 0x7fffffff), static_cast<int>(be32(20) & 0x7fffffff)};
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    const auto h = static_cast<std::int32_t>(le32(22));
    return {static_cast<int>(le32(18) & 0x7fffffff), std::abs(h)};
  }
  if (n >= 30 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' &&
      b[12] == 'V' && b[13] == 'P' && b[14] == '8') {
    if (b[15] == ' ') return {(b[26] | (b[27] << 8)) & 0x3fff, (b[28] | (b[29] << 8)) & 0x3fff};
    if (b[15] == 'L' && n >= 25) {
      const std::uint32_t bits = le32(21);
      return {static_cast<int>((bits & 0x3fff) + 1), static_cast<int>(((bits >> 14) & 0x3fff) + 1)};
    }
    if (b[15] == 'X') {
      return {static_cast<int>((b[24] | (b[25] << 8) | (b[26] << 16)) + 1),
              static_cast<int>((b[27] | (b[28] << 8) | (b[29] << 16)) + 1)};
    }
  }
  if (n >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    std::size_t i = 2;
    while (i + 9 < n) {
      if (b[i] != 0xFF) return {};
      const int marker = b[i + 1];
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        i += 2;
        continue;
      }
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 &&
                                  marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) return {be16(i + 7), be16(i + 5)};
      i += 2 + be16(i + 2);
    }
  }
  return {};
}

}  // namespace

double limit_pixels(cv::Mat& image, std::int64_t max_pixels) {
  const std::int64_t pixels = static_cast<std::int64_t>(image.cols) * image.rows;
  if (max_pixels <= 0 || pixels <= max_pixels) return 1.0;
  const double factor = std::sqrt(static_cast<double>(max_pixels) / static_cast<double>(pixels));
  // Round down so the result never exceeds the budget.
  const cv::Size size(std::max(1, static_cast<int>(image.cols * factor)),
                      std::max(1, static_cast<int>(image.rows * factor)));
  cv::Mat smaller;
  cv::resize(image, smaller, size, 0, 0, cv::INTER_AREA);
  image = smaller;
  return factor;
}

cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const ImageLimits& limits) {
  if (bytes.empty()) throw Error(ErrorCode::kBadImage, "empty image data (0 bytes)");
  if (bytes.size() > limits.max_file_bytes)
    throw Error(ErrorCode::kBadImage, "image data of " + std::to_string(bytes.size()) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(limits.max_file_bytes));
  const cv::Size declared = peek_dimensions(bytes);
  if (static_cast<std::int64_t>(declared.width) * declared.height > limits.max_decoded_pixels)
    throw Error(ErrorCode::kBadImage, "image of " + std::to_string(declared.width) + "x" +
                                          std::to_string(declared.height) +
                                          " pixels exceeds the decoding limit");
  cv::Mat decoded;
  try {
    // IMREAD_COLOR applies EXIF orientation and expands grey / drops alpha to BGR.
    decoded = cv::imdecode(bytes, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kBadImage, std::string("cannot decode image: ") + e.what());
  }
  if (decoded.empty() || decoded.type() != CV_8UC3)
    throw Error(ErrorCode::kBadImage, "not a decodable JPEG, PNG, BMP or WebP image");
  limit_pixels(decoded, limits.max_working_pixels);
  return decoded;
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    std::ifstream probe(path);
    throw Error(probe ? ErrorCode::kIo : ErrorCode::kNotFound, "cannot open " + path);
  }
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(ErrorCode::kIo, "cannot read " + path);
  if (static_cast<std::uint64_t>(size) > max_bytes)
    throw Error(ErrorCode::kBadImage, path + ": file of " + std::to_string(size) +
                                          " bytes exceeds the limit of " + std::to_string(max_bytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw Error(ErrorCode::kIo, "cannot read " + path);
  return bytes;
}

cv::Mat load_image(const std::string& path, const ImageLimits& limits) {
  const auto bytes = read_file_bytes(path, limits.max_file_bytes);
  try {
    return decode_image(bytes, limits);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

}  // namespace faceid
