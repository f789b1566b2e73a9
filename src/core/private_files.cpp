#include "core/private_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "faceid/error.hpp"

namespace faceid {

void create_private_directories(const std::string& folder) {
  std::filesystem::path partial;
  for (const auto& part : std::filesystem::path(folder)) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      throw Error(ErrorCode::kIo, "cannot create the folder " + partial.string() + ": " + std::strerror(errno));
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    throw Error(ErrorCode::kIo, "cannot create the folder " + folder + ": a file of that name is in the way");
}

void create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot create " + path + ": " + std::strerror(errno));
  // An existing file keeps its mode through O_CREAT: set it, whatever the umask was.
  const bool ok = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!ok) throw Error(ErrorCode::kIo, "cannot make " + path + " private: " + std::strerror(errno));
}

}  // namespace faceid
