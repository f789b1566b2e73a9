#pragma once
// What an encoded image is, read before any pixel buffer is allocated: FaceID decodes only
// the formats listed here, and only after their size is known and their data is whole.
#include <cstdint>
#include <string>
#include <vector>

namespace faceid {

enum class ImageFormat { kJpeg, kPng, kBmp, kWebp };

struct CheckedImage {
  ImageFormat format = ImageFormat::kJpeg;
  int width = 0;
  int height = 0;
};

// Identifies the format from its signature, reads the declared size and refuses with
// Error(kBadImage): any other format (TIFF, PNM, GIF, ...), a size above `max_pixels`, and
// data that is truncated or corrupt (JPEG: every libjpeg warning; PNG: chunk structure and
// CRCs; BMP: pixel data shorter than declared; WebP: RIFF size past the end, animation).
CheckedImage check_encoded_image(const std::vector<std::uint8_t>& bytes, std::int64_t max_pixels);

}  // namespace faceid
