#include "faceid/image.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"
#include "image/image_check.hpp"

namespace faceid {
namespace {

struct FileDescriptor {
  int fd;
  ~FileDescriptor() { ::close(fd); }
};

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a plain file";
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
  // Format, size and integrity first: a bomb or a cut file never reaches the decoder.
  check_encoded_image(bytes, limits.max_decoded_pixels);
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
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the file type is then checked on
  // the open descriptor, so it cannot be swapped between the check and the read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw Error(ErrorCode::kNotFound, "no such file: " + path);
    if (error == ELOOP) throw Error(ErrorCode::kBadRequest, path + ": too many levels of symbolic links (a symlink loop)");
    throw Error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(error));
  }
  const FileDescriptor file{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    throw Error(ErrorCode::kBadRequest, path + " is " + file_type_name(info.st_mode) + ", not a regular file");
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes)
    throw Error(ErrorCode::kBadImage, path + ": file of " + std::to_string(size) +
                                          " bytes exceeds the limit of " + std::to_string(max_bytes));
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
    if (got == 0) break;  // the file shrank while being read: decode_image sees the cut
    done += static_cast<std::size_t>(got);
  }
  bytes.resize(done);
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

bool has_image_extension(const std::string& path) {
  const auto dot = path.find_last_of("./");
  if (dot == std::string::npos || path[dot] != '.') return false;
  std::string ext = path.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp";
}

}  // namespace faceid
