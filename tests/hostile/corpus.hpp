#pragma once
// Hostile images, built in memory: decompression bombs in every format OpenCV can decode,
// and the pieces to cut and damage real photos. Nothing here needs a file from elsewhere.
#include <cstdint>
#include <string>
#include <vector>

namespace faceid::hostile {

using Bytes = std::vector<std::uint8_t>;

// A valid baseline grey JPEG of width x height whose every 8x8 block is flat: 2 bits per
// block, so 20000 x 20000 pixels take 1.5 MB. `fill_before_sof` puts a padding 0xFF before
// the SOF marker (legal, and once enough to hide the size from a header parser).
Bytes jpeg_bomb(int width, int height, bool fill_before_sof = false);
// A valid grey PNG of zeros (deflate-compressed IDAT).
Bytes png_bomb(int width, int height);
// A TIFF of zeros, deflate-compressed, with `pages` identical pages (multi-frame).
Bytes tiff_bomb(int width, int height, int pages = 1);
// An RLE8 BMP whose data is only "end of bitmap".
Bytes bmp_rle_bomb(int width, int height);
// A WebP VP8X header declaring the canvas; `animated` sets the animation flag.
Bytes webp_header(int width, int height, bool animated = false);
// PNM (P5), PFM and Radiance HDR headers declaring the size, followed by a little data.
Bytes pgm_bomb(int width, int height);
Bytes pfm_bomb(int width, int height);
Bytes hdr_bomb(int width, int height);

struct NamedBomb {
  std::string name;  // also the file extension
  Bytes bytes;
};
// One bomb of every kind above at 20000 x 20000 (WebP: 16384 x 16384, its largest canvas).
std::vector<NamedBomb> every_bomb();

}  // namespace faceid::hostile
