// Choosing a gallery backend from its URI, and where the gallery lives by default.
#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "faceid/error.hpp"
#include "faceid/store.hpp"
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

}  // namespace

bool is_postgres_uri(const std::string& uri) {
  const std::string scheme = uri_scheme(uri);
  return scheme == "postgresql" || scheme == "postgres";
}

std::unique_ptr<GalleryStore> open_store(const std::string& uri) {
  const std::string sqlite_prefix = "sqlite:";
  if (uri.rfind(sqlite_prefix, 0) == 0) {
    std::string path = uri.substr(sqlite_prefix.size());
    if (path.rfind("//", 0) == 0) path.erase(0, 2);  // sqlite:///abs/path.db
    if (path.empty()) throw Error(ErrorCode::kBadRequest, "gallery URI '" + uri + "' names no file");
    return open_sqlite_store(path);
  }
  if (is_postgres_uri(uri)) return open_postgres_store(uri);
  if (const std::string scheme = uri_scheme(uri); !scheme.empty())
    throw Error(ErrorCode::kBadRequest,
                "gallery URI '" + uri + "': " + scheme + " galleries are not supported by this build");
  if (uri.empty()) throw Error(ErrorCode::kBadRequest, "the gallery path is empty");
  return open_sqlite_store(uri);
}

std::string default_gallery_path() {
  if (const char* gallery = std::getenv("FACEID_GALLERY"); gallery && *gallery) return gallery;
  // The XDG spec ignores relative values.
  if (const char* data = std::getenv("XDG_DATA_HOME"); data && fs::path(data).is_absolute())
    return (fs::path(data) / "faceid" / "gallery.db").string();
  return (fs::path(home_folder()) / ".local" / "share" / "faceid" / "gallery.db").string();
}

}  // namespace faceid
