#include "server/files.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "faceid/error.hpp"

namespace faceid::server_detail {

void write_file_atomically(const std::string& path, const std::string& content, bool private_file) {
  const std::filesystem::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    if (!out) throw Error(ErrorCode::kIo, "cannot write " + tmp);
    if (private_file) ::chmod(tmp.c_str(), 0600);
    out << content;
    if (!out.flush()) throw Error(ErrorCode::kIo, "cannot write " + tmp);
  }
  std::filesystem::rename(tmp, target, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot replace " + path + ": " + ec.message());
}

std::int64_t file_mtime_ns(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
}

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace faceid::server_detail
