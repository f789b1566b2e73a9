#pragma once
// `faceid check`: a full integrity check of a gallery, read-only, that works on a damaged one.
#include <string>
#include <vector>

namespace faceid {

struct StoreCheck {
  bool intact = true;
  std::string checked;                // what was checked, in words
  std::vector<std::string> problems;  // empty when intact
};

// SQLite: every page, index and foreign key (PRAGMA integrity_check, foreign_key_check: no
// face without a person, no crop without a face) and the FaceID schema. PostgreSQL: the
// gallery opens with a known schema (page-level checks are PostgreSQL's own, e.g. amcheck).
// Throws only when the gallery cannot be reached at all (Error(kNotFound), kIo, kUnavailable).
StoreCheck check_store(const std::string& uri);

// What to do about a damaged gallery, for error messages and `faceid check`.
std::string damaged_store_advice();

}  // namespace faceid
