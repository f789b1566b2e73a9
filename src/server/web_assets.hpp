#pragma once
// The text files of the source tree's web/ folder, compiled in (see CMakeLists.txt).
#include <string_view>
#include <vector>

namespace faceid::server_detail {

struct WebAsset {
  std::string_view path;  // relative to web/, e.g. "console/index.html"
  std::string_view body;
};

const std::vector<WebAsset>& web_assets();

}  // namespace faceid::server_detail
