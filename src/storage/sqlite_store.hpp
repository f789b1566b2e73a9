#pragma once
// The SQLite gallery store. open_store() is the public way in; this header exists for the
// options tests need (a short lock timeout) and for the schema version.
//
// Error codes on opening, beyond those of the GalleryStore calls:
//   kCorruptStore  not an SQLite file, truncated or damaged, an SQLite database of another
//                  application, or a schema newer than this build knows;
//   kUnavailable   locked by another process's write for longer than the busy timeout
//                  (also from any write call);
//   kIo            the file or its folder cannot be created, opened or read.
// A zero-byte file is taken as a new, empty gallery (what `touch gallery.db` means).
#include <chrono>
#include <memory>
#include <string>

#include "faceid/store.hpp"

namespace faceid {

// Schema version this build writes. Files with a higher one are refused, lower ones migrated.
inline constexpr int kSqliteSchemaVersion = 2;

struct SqliteStoreOptions {
  // How long a call waits for another connection's lock before failing with kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
};

// Opens or creates the gallery file at `path`, creating its folder when missing.
std::unique_ptr<GalleryStore> open_sqlite_store(const std::string& path, const SqliteStoreOptions& options = {});

}  // namespace faceid
