#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "faceid/error.hpp"
#include "faceid/image.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace faceid::cli {

json error_json(const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}};
}

std::string format_score(float value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      std::cout << row[c];
      if (c + 1 < row.size()) std::cout << std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
  std::cout << std::flush;
}

std::vector<std::string> expand_image_paths(const std::string& path) {
  std::error_code ec;
  // Anything but a folder (a file, a FIFO, a symlink loop, a missing path) goes to
  // read_file_bytes as it is, which refuses what is not a regular file with a clear message.
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file(ec) && has_image_extension(entry.path().string())) files.push_back(entry.path().string());
  }
  if (files.empty())
    throw Error(ErrorCode::kBadRequest, "folder " + path + " has no images (.jpg, .jpeg, .png, .bmp, .webp)");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace faceid::cli
