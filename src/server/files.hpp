#pragma once
// Small helpers the collection catalog and the key file share.
#include <cstdint>
#include <string>

namespace faceid::server_detail {

// Replaces `path` with `content` via a temporary file and rename, so a crash
// leaves either the old or the new file. `private_file`: mode 0600.
void write_file_atomically(const std::string& path, const std::string& content, bool private_file);

// The file's modification time in nanoseconds, 0 when it does not exist: files replaced by
// write_file_atomically are re-read when this changes.
std::int64_t file_mtime_ns(const std::string& path);

// The whole file; "" when it does not exist. Error(kIo) when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace faceid::server_detail
