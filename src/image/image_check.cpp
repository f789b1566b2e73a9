// Format allow-list and integrity checks run on encoded bytes before OpenCV decodes them.
//
// Why an allow-list rather than OpenCV's own limits: OpenCV 4.6 only checks its pixel limit
// (OPENCV_IO_MAX_IMAGE_PIXELS, default 2^30) after a decoder has parsed the header, the limit
// is read once per process from the environment, and a TIFF, PNM, PFM, HDR or JPEG 2000
// decoder allocates the declared size before it reads any data. A face photo is JPEG, PNG,
// BMP or WebP; for those four the size is read here, so nothing is allocated for a bomb.
#include "image/image_check.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <zlib.h>

#include "faceid/error.hpp"

namespace faceid {
namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
std::uint32_t le16(const std::uint8_t* p) { return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8); }
std::uint32_t le24(const std::uint8_t* p) { return le16(p) | (std::uint32_t(p[2]) << 16); }

[[noreturn]] void refuse(const std::string& why) { throw Error(ErrorCode::kBadImage, why); }

bool starts_with(const std::vector<std::uint8_t>& b, const char* magic, std::size_t length, std::size_t at = 0) {
  return b.size() >= at + length && std::memcmp(b.data() + at, magic, length) == 0;
}

// Names the formats OpenCV could decode but FaceID refuses, so the message says what was sent.
const char* refused_format_name(const std::vector<std::uint8_t>& b) {
  if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4)) return "TIFF";
  if (b.size() >= 2 && (b[0] == 'P' && ((b[1] >= '1' && b[1] <= '7') || b[1] == 'F' || b[1] == 'f')))
    return "PNM/PAM/PFM";
  if (starts_with(b, "GIF8", 4)) return "GIF";
  if (starts_with(b, "#?RADIANCE", 10) || starts_with(b, "#?RGBE", 6)) return "Radiance HDR";
  if (starts_with(b, "\x76\x2f\x31\x01", 4)) return "OpenEXR";
  if (starts_with(b, "\x59\xa6\x6a\x95", 4)) return "Sun raster";
  if (starts_with(b, "\0\0\0\x0cjP  ", 8) || starts_with(b, "\xff\x4f\xff\x51", 4)) return "JPEG 2000";
  return nullptr;
}

void check_size(int width, int height, std::int64_t max_pixels, const char* format) {
  if (width <= 0 || height <= 0)
    refuse(std::string(format) + " header declares an empty or invalid size (" + std::to_string(width) + "x" +
           std::to_string(height) + ")");
  if (static_cast<std::int64_t>(width) * height > max_pixels)
    refuse("image of " + std::to_string(width) + "x" + std::to_string(height) +
           " pixels exceeds the decoding limit of " + std::to_string(max_pixels) + " pixels");
}

// libjpeg reports through these callbacks; a warning ("premature end of data", "corrupt
// data: N extraneous bytes") is as fatal as an error: the decoded image would be damaged.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  info->err->format_message(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void jpeg_message(j_common_ptr info, int level) {
  if (level < 0) jpeg_fail(info);  // level -1 is a warning; >= 0 are trace messages
}

// Reads the header (size), then, when the size is within the limit, runs the entropy decoder
// over the whole stream at 1/8 scale: every bit of the data is checked at a fraction of the
// cost and memory of a full decode. Returns the libjpeg message of a problem, or "".
std::string check_jpeg_stream(const std::vector<std::uint8_t>& bytes, std::int64_t max_pixels, int& width,
                              int& height) {
  jpeg_decompress_struct info;
  JpegErrors errors;
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fail;
  errors.manager.emit_message = jpeg_message;
  jpeg_create_decompress(&info);
  // Only C objects live in this frame between setjmp and longjmp.
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    return errors.message;
  }
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  width = static_cast<int>(info.image_width);
  height = static_cast<int>(info.image_height);
  if (width <= 0 || height <= 0 || static_cast<std::int64_t>(width) * height > max_pixels) {
    jpeg_destroy_decompress(&info);
    return "";
  }
  info.scale_num = 1;
  info.scale_denom = 8;
  info.dct_method = JDCT_IFAST;
  jpeg_start_decompress(&info);
  JSAMPARRAY row = (*info.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&info), JPOOL_IMAGE,
                                             info.output_width * info.output_components, 1);
  while (info.output_scanline < info.output_height) jpeg_read_scanlines(&info, row, 1);
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return "";
}

CheckedImage check_jpeg(const std::vector<std::uint8_t>& bytes, std::int64_t max_pixels) {
  CheckedImage image{ImageFormat::kJpeg};
  const std::string problem = check_jpeg_stream(bytes, max_pixels, image.width, image.height);
  if (!problem.empty()) refuse("truncated or corrupt JPEG: " + problem);
  check_size(image.width, image.height, max_pixels, "JPEG");
  return image;
}

// Walks every chunk to IEND, checking lengths and CRCs: a cut or a flipped byte anywhere is found.
CheckedImage check_png(const std::vector<std::uint8_t>& bytes, std::int64_t max_pixels) {
  CheckedImage image{ImageFormat::kPng};
  const std::size_t n = bytes.size();
  std::size_t at = 8;
  bool first = true;
  while (true) {
    if (at + 12 > n) refuse("truncated PNG: ends after " + std::to_string(n) + " bytes, before its IEND chunk");
    const std::uint32_t length = be32(&bytes[at]);
    const std::uint8_t* type = &bytes[at + 4];
    const std::string name(reinterpret_cast<const char*>(type), 4);
    if (length > n - at - 12) refuse("truncated PNG: chunk " + name + " runs past the end of the data");
    if (first && (name != "IHDR" || length != 13)) refuse("corrupt PNG: the first chunk is not a valid IHDR");
    const auto crc = crc32(crc32(0L, Z_NULL, 0), type, length + 4);
    if (crc != be32(type + 4 + length)) refuse("corrupt PNG: CRC mismatch in chunk " + name);
    if (first) {
      const std::uint32_t w = be32(type + 4), h = be32(type + 8);
      image.width = w > 0x7fffffff ? -1 : static_cast<int>(w);
      image.height = h > 0x7fffffff ? -1 : static_cast<int>(h);
      check_size(image.width, image.height, max_pixels, "PNG");
      first = false;
    }
    at += 12 + length;
    if (name == "IEND") return image;
  }
}

CheckedImage check_bmp(const std::vector<std::uint8_t>& b, std::int64_t max_pixels) {
  CheckedImage image{ImageFormat::kBmp};
  if (b.size() < 26) refuse("truncated BMP header");
  const std::uint32_t header = le32(&b[14]);
  std::uint32_t bits = 0, compression = 0;
  if (header == 12) {  // OS/2 core header
    image.width = static_cast<int>(le16(&b[18]));
    image.height = static_cast<int>(le16(&b[20]));
    bits = le16(&b[24]);
  } else {
    if (b.size() < 34) refuse("truncated BMP header");
    image.width = static_cast<std::int32_t>(le32(&b[18]));
    const auto h = static_cast<std::int32_t>(le32(&b[22]));
    image.height = h == INT32_MIN ? -1 : (h < 0 ? -h : h);
    bits = le16(&b[28]);
    compression = le32(&b[30]);
  }
  check_size(image.width, image.height, max_pixels, "BMP");
  // Uncompressed rows have a fixed size: data shorter than declared is a cut file.
  if (compression == 0 || compression == 3) {
    const std::uint64_t stride = (static_cast<std::uint64_t>(image.width) * bits + 31) / 32 * 4;
    if (le32(&b[10]) + stride * static_cast<std::uint64_t>(image.height) > b.size())
      refuse("truncated BMP: pixel data ends before the declared " + std::to_string(image.width) + "x" +
             std::to_string(image.height) + " pixels");
  }
  return image;
}

CheckedImage check_webp(const std::vector<std::uint8_t>& b, std::int64_t max_pixels) {
  CheckedImage image{ImageFormat::kWebp};
  const std::size_t n = b.size();
  if (n < 30) refuse("truncated WebP header");
  if (static_cast<std::uint64_t>(le32(&b[4])) + 8 > n) refuse("truncated WebP: the RIFF chunk runs past the data");
  if (starts_with(b, "VP8 ", 4, 12)) {
    image.width = static_cast<int>(le16(&b[26]) & 0x3fff);
    image.height = static_cast<int>(le16(&b[28]) & 0x3fff);
  } else if (starts_with(b, "VP8L", 4, 12)) {
    const std::uint32_t bits = le32(&b[21]);
    image.width = static_cast<int>((bits & 0x3fff) + 1);
    image.height = static_cast<int>(((bits >> 14) & 0x3fff) + 1);
  } else if (starts_with(b, "VP8X", 4, 12)) {
    if (b[20] & 0x02) refuse("animated WebP is not accepted: give one frame as a still image");
    image.width = static_cast<int>(le24(&b[24]) + 1);
    image.height = static_cast<int>(le24(&b[27]) + 1);
  } else {
    refuse("corrupt WebP: no VP8, VP8L or VP8X chunk");
  }
  check_size(image.width, image.height, max_pixels, "WebP");
  return image;
}

}  // namespace

CheckedImage check_encoded_image(const std::vector<std::uint8_t>& bytes, std::int64_t max_pixels) {
  if (starts_with(bytes, "\xff\xd8\xff", 3)) return check_jpeg(bytes, max_pixels);
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n", 8)) return check_png(bytes, max_pixels);
  if (starts_with(bytes, "BM", 2)) return check_bmp(bytes, max_pixels);
  if (starts_with(bytes, "RIFF", 4) && starts_with(bytes, "WEBP", 4, 8)) return check_webp(bytes, max_pixels);
  if (const char* format = refused_format_name(bytes))
    refuse(std::string(format) + " images are not accepted: send JPEG, PNG, BMP or WebP");
  refuse("not a JPEG, PNG, BMP or WebP image");
}

}  // namespace faceid
