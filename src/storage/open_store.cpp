// Choosing a gallery backend from its URI, and where the gallery lives by default.
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "faceid/error.hpp"
#include "faceid/store.hpp"
#include "faceid/store_check.hpp"
#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

// The scheme of "scheme://...", or "" when `uri` is a plain path.
std::string uri_scheme(const std::string& uri) {
  const auto end = uri.find("://");
  if (end == std::string::npos || end == 0) return {};
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(uri[i]);
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.')) return {};
  }
  return uri.substr(0, end);
}

std::string home_folder() {
  if (const char* home = std::getenv("HOME"); home && *home) return home;
  if (const passwd* user = getpwuid(getuid()); user && user->pw_dir) return user->pw_dir;
  return ".";
}

constexpr const char* kSqlitePrefix = "sqlite:";

// The file of "sqlite:PATH" or "sqlite:///abs/path.db".
std::string sqlite_path_of(const std::string& uri) {
  std::string path = uri.substr(std::strlen(kSqlitePrefix));
  if (path.rfind("//", 0) == 0) path.erase(0, 2);
  if (path.empty()) throw Error(ErrorCode::kBadRequest, "gallery URI '" + uri + "' names no file");
  return path;
}

}  // namespace

bool is_postgres_uri(const std::string& uri) {
  const std::string scheme = uri_scheme(uri);
  return scheme == "postgresql" || scheme == "postgres";
}

std::unique_ptr<GalleryStore> open_store(const std::string& uri) {
  if (uri.rfind(kSqlitePrefix, 0) == 0) return open_sqlite_store(sqlite_path_of(uri));
  if (is_postgres_uri(uri)) return open_postgres_store(uri);
  if (const std::string scheme = uri_scheme(uri); !scheme.empty())
    throw Error(ErrorCode::kBadRequest,
                "gallery URI '" + uri + "': " + scheme + " galleries are not supported by this build");
  if (uri.empty()) throw Error(ErrorCode::kBadRequest, "the gallery path is empty");
  return open_sqlite_store(uri);
}

StoreCheck check_store(const std::string& uri) {
  if (is_postgres_uri(uri)) {
    open_postgres_store(uri);
    return {true, "PostgreSQL gallery: connection and schema (page checks are PostgreSQL's own, e.g. amcheck)", {}};
  }
  return check_sqlite_gallery(uri.rfind(kSqlitePrefix, 0) == 0 ? sqlite_path_of(uri) : uri);
}

std::string damaged_store_advice() {
  return "Restore it from your last `faceid export` file into a new gallery "
         "(`faceid --gallery NEW.db import FILE`); `faceid check` lists the damage.";
}

std::string default_gallery_path() {
  if (const char* gallery = std::getenv("FACEID_GALLERY"); gallery && *gallery) return gallery;
  // The XDG spec ignores relative values.
  if (const char* data = std::getenv("XDG_DATA_HOME"); data && fs::path(data).is_absolute())
    return (fs::path(data) / "faceid" / "gallery.db").string();
  return (fs::path(home_folder()) / ".local" / "share" / "faceid" / "gallery.db").string();
}

}  // namespace faceid
