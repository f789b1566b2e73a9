// The PostgreSQL gallery in a build without libpq (FACEID_WITH_POSTGRES=OFF).
#include "faceid/error.hpp"
#include "storage/postgres_store.hpp"

namespace faceid {

std::unique_ptr<GalleryStore> open_postgres_store(const std::string&, const PostgresStoreOptions&) {
  // The URI is never echoed: it may hold a password.
  throw Error(ErrorCode::kUnavailable,
              "this FaceID was built without PostgreSQL support (FACEID_WITH_POSTGRES=OFF): "
              "use a SQLite gallery file, or rebuild with libpq");
}

}  // namespace faceid
