#pragma once
// Files that hold biometric data (galleries, collection databases and their crops) are
// readable by their owner only: folders FaceID creates are 0700, files 0600.
#include <string>

namespace faceid {

// Creates `folder` and its missing parents with mode 0700; folders that exist are left as
// they are. Throws Error(kIo).
void create_private_directories(const std::string& folder);

// Creates (or truncates) `path` as an empty file with mode 0600. Throws Error(kIo).
void create_private_file(const std::string& path);

}  // namespace faceid
