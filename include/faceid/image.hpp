#pragma once
// Image decoding with the checks a camera or upload path needs.
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceid {

struct ImageLimits {
  // Images above this pixel count are rejected from their header, before any
  // pixel is allocated.
  std::int64_t max_decoded_pixels = 100'000'000;
  // Larger images are downscaled to this many pixels before detection.
  std::int64_t max_working_pixels = 4'000'000;
  std::size_t max_file_bytes = 64u << 20;
};

// Decodes JPEG/PNG/BMP/WebP bytes into a 3-channel BGR image, applying EXIF
// orientation; grayscale and alpha images are converted. Throws Error(kBadImage) for any
// other format, a size above the limits, and truncated or corrupt data.
cv::Mat decode_image(const std::vector<std::uint8_t>& bytes, const ImageLimits& limits = {});

// Reads a whole regular file. Throws Error(kNotFound) / Error(kIo) / Error(kBadImage) (too
// large) / Error(kBadRequest) for a folder, FIFO, device, socket or symlink loop, checked
// without blocking (a FIFO with no writer never hangs the caller).
std::vector<std::uint8_t> read_file_bytes(const std::string& path, std::size_t max_bytes);

// read_file_bytes + decode_image, with the path in every error message.
cv::Mat load_image(const std::string& path, const ImageLimits& limits = {});

// Whether a file name has the extension of a format decode_image() reads (.jpg, .jpeg, .png,
// .bmp, .webp, any case): what a folder of photos is taken to hold.
bool has_image_extension(const std::string& path);

// Downscales so width*height <= max_pixels; returns the factor applied (<= 1).
double limit_pixels(cv::Mat& image, std::int64_t max_pixels);

}  // namespace faceid
