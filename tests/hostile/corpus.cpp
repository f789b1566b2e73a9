#include "corpus.hpp"

#include <zlib.h>

#include <stdexcept>

namespace faceid::hostile {
namespace {

void put16be(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32be(Bytes& b, std::uint32_t v) {
  put16be(b, v >> 16);
  put16be(b, v & 0xffff);
}
void put16le(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
void put32le(Bytes& b, std::uint32_t v) {
  put16le(b, v & 0xffff);
  put16le(b, v >> 16);
}
void put24le(Bytes& b, std::uint32_t v) {
  put16le(b, v & 0xffff);
  b.push_back(static_cast<std::uint8_t>(v >> 16));
}
void put_text(Bytes& b, const std::string& text) { b.insert(b.end(), text.begin(), text.end()); }

// Deflates `total` zero bytes, streaming, so a bomb never exists uncompressed here either;
// level 1 keeps building the corpus fast (about 1:1000 on zeros).
Bytes deflate_zeros(std::uint64_t total) {
  z_stream z{};
  if (deflateInit(&z, 1) != Z_OK) throw std::runtime_error("deflateInit");
  const Bytes zeros(1 << 20, 0);
  Bytes out;
  Bytes chunk(1 << 16);
  std::uint64_t left = total;
  int flush = Z_NO_FLUSH;
  do {
    const auto take = static_cast<uInt>(std::min<std::uint64_t>(left, zeros.size()));
    z.next_in = const_cast<Bytef*>(zeros.data());
    z.avail_in = take;
    left -= take;
    flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = chunk.data();
      z.avail_out = static_cast<uInt>(chunk.size());
      deflate(&z, flush);
      out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - z.avail_out));
    } while (z.avail_out == 0);
  } while (flush != Z_FINISH);
  deflateEnd(&z);
  return out;
}

void png_chunk(Bytes& b, const char* type, const Bytes& data) {
  put32be(b, static_cast<std::uint32_t>(data.size()));
  Bytes typed(type, type + 4);
  typed.insert(typed.end(), data.begin(), data.end());
  b.insert(b.end(), typed.begin(), typed.end());
  put32be(b, static_cast<std::uint32_t>(crc32(0L, typed.data(), static_cast<uInt>(typed.size()))));
}

void tiff_entry(Bytes& b, unsigned tag, unsigned type, std::uint32_t value) {
  put16le(b, tag);
  put16le(b, type);
  put32le(b, 1);
  if (type == 3) {  // SHORT: left-justified in the 4-byte field
    put16le(b, value);
    put16le(b, 0);
  } else {
    put32le(b, value);
  }
}

}  // namespace

Bytes jpeg_bomb(int width, int height, bool fill_before_sof) {
  Bytes b = {0xFF, 0xD8};
  b.insert(b.end(), {0xFF, 0xDB, 0x00, 0x43, 0x00});  // DQT: table 0, all ones
  b.insert(b.end(), 64, 1);
  if (fill_before_sof) b.push_back(0xFF);
  b.insert(b.end(), {0xFF, 0xC0, 0x00, 0x0B, 0x08});  // SOF0, 8-bit
  put16be(b, static_cast<unsigned>(height));
  put16be(b, static_cast<unsigned>(width));
  b.insert(b.end(), {0x01, 0x01, 0x11, 0x00});  // one component, 1x1 sampling, table 0
  // One Huffman code each, '0' of length 1: DC category 0 and AC end-of-block.
  for (const std::uint8_t table : {0x00, 0x10}) {
    b.insert(b.end(), {0xFF, 0xC4, 0x00, 0x14, table, 0x01});
    b.insert(b.end(), 15, 0);
    b.push_back(0x00);
  }
  b.insert(b.end(), {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00});  // SOS
  const std::uint64_t blocks = std::uint64_t((width + 7) / 8) * ((height + 7) / 8);
  b.insert(b.end(), (blocks * 2 + 7) / 8, 0x00);
  b.insert(b.end(), {0xFF, 0xD9});
  return b;
}

Bytes png_bomb(int width, int height) {
  Bytes b = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  Bytes header;
  put32be(header, static_cast<std::uint32_t>(width));
  put32be(header, static_cast<std::uint32_t>(height));
  header.insert(header.end(), {8, 0, 0, 0, 0});  // 8-bit grey, no interlace
  png_chunk(b, "IHDR", header);
  png_chunk(b, "IDAT", deflate_zeros(std::uint64_t(height) * (std::uint64_t(width) + 1)));
  png_chunk(b, "IEND", {});
  return b;
}

Bytes tiff_bomb(int width, int height, int pages) {
  const Bytes strip = deflate_zeros(std::uint64_t(width) * height);
  constexpr std::uint32_t kIfdBytes = 2 + 9 * 12 + 4;
  const std::uint32_t data_at = 8 + kIfdBytes * static_cast<std::uint32_t>(pages);
  Bytes b = {'I', 'I', 42, 0};
  put32le(b, 8);
  for (int page = 0; page < pages; ++page) {
    put16le(b, 9);
    tiff_entry(b, 256, 4, static_cast<std::uint32_t>(width));
    tiff_entry(b, 257, 4, static_cast<std::uint32_t>(height));
    tiff_entry(b, 258, 3, 8);
    tiff_entry(b, 259, 3, 8);  // Adobe deflate
    tiff_entry(b, 262, 3, 1);  // black is zero
    tiff_entry(b, 273, 4, data_at);
    tiff_entry(b, 277, 3, 1);
    tiff_entry(b, 278, 4, static_cast<std::uint32_t>(height));
    tiff_entry(b, 279, 4, static_cast<std::uint32_t>(strip.size()));
    put32le(b, page + 1 < pages ? 8 + kIfdBytes * static_cast<std::uint32_t>(page + 1) : 0);
  }
  b.insert(b.end(), strip.begin(), strip.end());
  return b;
}

Bytes bmp_rle_bomb(int width, int height) {
  constexpr std::uint32_t kDataAt = 14 + 40 + 256 * 4;
  Bytes b = {'B', 'M'};
  put32le(b, kDataAt + 2);
  put32le(b, 0);
  put32le(b, kDataAt);
  put32le(b, 40);
  put32le(b, static_cast<std::uint32_t>(width));
  put32le(b, static_cast<std::uint32_t>(height));
  put16le(b, 1);
  put16le(b, 8);
  put32le(b, 1);  // BI_RLE8
  put32le(b, 2);
  put32le(b, 2835);
  put32le(b, 2835);
  put32le(b, 256);
  put32le(b, 0);
  for (int i = 0; i < 256; ++i) put32le(b, static_cast<std::uint32_t>(i * 0x010101));
  b.insert(b.end(), {0x00, 0x01});  // end of bitmap
  return b;
}

Bytes webp_header(int width, int height, bool animated) {
  Bytes b;
  put_text(b, "RIFF");
  put32le(b, 4 + 8 + 10);
  put_text(b, "WEBPVP8X");
  put32le(b, 10);
  put32le(b, animated ? 0x02 : 0x00);
  put24le(b, static_cast<std::uint32_t>(width - 1));
  put24le(b, static_cast<std::uint32_t>(height - 1));
  return b;
}

Bytes pgm_bomb(int width, int height) {
  Bytes b;
  put_text(b, "P5\n" + std::to_string(width) + " " + std::to_string(height) + "\n255\n");
  b.insert(b.end(), 4096, 0);
  return b;
}

Bytes pfm_bomb(int width, int height) {
  Bytes b;
  put_text(b, "Pf\n" + std::to_string(width) + " " + std::to_string(height) + "\n-1.0\n");
  b.insert(b.end(), 4096, 0);
  return b;
}

Bytes hdr_bomb(int width, int height) {
  Bytes b;
  put_text(b, "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y " + std::to_string(height) + " +X " +
                  std::to_string(width) + "\n");
  b.insert(b.end(), 4096, 0);
  return b;
}

std::vector<NamedBomb> every_bomb() {
  constexpr int kSide = 20000;
  return {{"jpg", jpeg_bomb(kSide, kSide)},
          {"padded.jpg", jpeg_bomb(kSide, kSide, true)},
          {"png", png_bomb(kSide, kSide)},
          {"tif", tiff_bomb(kSide, kSide)},
          {"pages.tif", tiff_bomb(kSide, kSide, 3)},
          {"bmp", bmp_rle_bomb(kSide, kSide)},
          {"webp", webp_header(16384, 16384)},
          {"pgm", pgm_bomb(kSide, kSide)},
          {"pfm", pfm_bomb(kSide, kSide)},
          {"hdr", hdr_bomb(kSide, kSide)}};
}

}  // namespace faceid::hostile
