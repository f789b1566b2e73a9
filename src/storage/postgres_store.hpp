#pragma once
// The PostgreSQL gallery store. open_store() is the public way in; this header exists for the
// options tests need (a short connect retry) and for the schema version.
//
// Every gallery of a database shares one set of tables in the schema "faceid", told apart by
// a gallery column: one migration history per database, a fixed set of tables for an
// administrator to grant and back up, and a server's collections need no DDL when created.
//
// Error codes beyond those of the GalleryStore calls:
//   kUnavailable   the server cannot be reached (after retrying for connect_retry when
//                  opening; at once later, and the next call reconnects);
//   kCorruptStore  the schema was migrated by a newer FaceID, or its tables were altered;
//   kBadRequest    the URI is not a valid libpq URI or names an invalid gallery.
#include <chrono>
#include <memory>
#include <string>

#include "faceid/store.hpp"

namespace faceid {

// Migrations this build applies; a database with a higher one is refused.
inline constexpr int kPostgresSchemaVersion = 2;

struct PostgresStoreOptions {
  // How long opening retries (with back-off) while the server cannot be reached.
  std::chrono::milliseconds connect_retry{15000};
};

// Opens (creating when missing) the gallery a "postgresql://...[?gallery=NAME]" URI names.
std::unique_ptr<GalleryStore> open_postgres_store(const std::string& uri, const PostgresStoreOptions& options = {});

}  // namespace faceid
