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
// A zero-byte file is refused (kCorruptStore): it is far more often a gallery that lost its
// content than a wish for a new one. A file up to 64 MiB gets PRAGMA quick_check at every
// open, and a damaged one is refused (kCorruptStore) before anything is read or written.
// New galleries and their folders are created private (0600 / 0700).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "faceid/store.hpp"
#include "faceid/store_check.hpp"

namespace faceid {

// Schema version this build writes. Files with a higher one are refused, lower ones migrated.
inline constexpr int kSqliteSchemaVersion = 3;

struct SqliteStoreOptions {
  // How long a call waits for another connection's lock before failing with kUnavailable.
  std::chrono::milliseconds busy_timeout{5000};
  // Files up to this size get PRAGMA quick_check at every open (it reads every page: well
  // under a second at this size). Damage found later, while reading a larger file, stops
  // every write of that connection all the same.
  std::uintmax_t quick_check_max_bytes = 64u << 20;
};

// Opens or creates the gallery file at `path`, creating its folder when missing.
std::unique_ptr<GalleryStore> open_sqlite_store(const std::string& path, const SqliteStoreOptions& options = {});

// check_store() for an SQLite file: never refuses to look at a damaged one.
StoreCheck check_sqlite_gallery(const std::string& path);

}  // namespace faceid
