// The SQLite gallery store: exact round trips, transactional writes, typed errors for bad
// files, locks and crashes. Needs no models: embeddings and crops are opaque to the store.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "faceid/error.hpp"
#include "faceid/store.hpp"
#include "storage/pg_db.hpp"
#include "storage/postgres_store.hpp"
#include "storage/record_codec.hpp"
#include "storage/sqlite_store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace faceid {
namespace {

constexpr std::size_t kDim = 8;

// A face record whose every field is distinct per `seed`.
FaceRecord make_face(const std::string& sha, int seed, const std::string& model = "model-a",
                     std::size_t dim = kDim) {
  FaceRecord face;
  face.model_id = model;
  face.content_sha256 = sha;
  face.source = "photo-" + std::to_string(seed) + ".jpg";
  face.embedding.unit.resize(dim);
  double squared = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    face.embedding.unit[i] = std::sin(0.7f * static_cast<float>(seed + 1) * static_cast<float>(i + 1)) + 0.1f;
    squared += face.embedding.unit[i] * face.embedding.unit[i];
  }
  for (auto& v : face.embedding.unit) v = static_cast<float>(v / std::sqrt(squared));
  face.embedding.norm = 17.25f + static_cast<float>(seed);
  face.detection.box = cv::Rect2f(10.5f + seed, 20.25f, 64.f, 80.125f);
  face.detection.score = 0.875f;
  for (int i = 0; i < 5; ++i) face.detection.landmarks[i] = cv::Point2f(30.5f + i + seed, 40.75f + 2 * i);
  // Every byte value, zeros included, to prove the crop is stored as raw binary.
  for (int i = 0; i < 600; ++i) face.crop_jpeg.push_back(static_cast<std::uint8_t>((i * 7 + seed) & 0xff));
  return face;
}

std::vector<FaceRecord> make_batch(const std::string& tag, int count, int seed = 0) {
  std::vector<FaceRecord> faces;
  for (int i = 0; i < count; ++i) faces.push_back(make_face(tag + "-" + std::to_string(i), seed + i));
  return faces;
}

int total_faces(GalleryStore& store) {
  int total = 0;
  for (const auto& person : store.people()) total += person.face_count;
  return total;
}

std::string gallery_path(const std::string& tag) { return test::temp_dir("store-" + tag) + "/gallery.db"; }

SqliteStoreOptions short_timeout() {
  SqliteStoreOptions options;
  options.busy_timeout = 200ms;
  return options;
}

// A second, plain SQLite connection: what another program (or a damaged file) looks like.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << path;
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message ? message : "?");
      sqlite3_free(message);
    }
  }
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      value = text ? reinterpret_cast<const char*>(text) : "";
    } else {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Runs `call` and returns the code of the faceid::Error it throws; fails the test otherwise.
template <typename Call>
Error expect_error(Call&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no faceid::Error thrown";
  return Error(ErrorCode::kIo, "");
}

void expect_same_face(const FaceRecord& got, const FaceRecord& want) {
  EXPECT_EQ(got.model_id, want.model_id);
  EXPECT_EQ(got.content_sha256, want.content_sha256);
  EXPECT_EQ(got.source, want.source);
  EXPECT_EQ(got.embedding.unit, want.embedding.unit);  // bit-exact floats
  EXPECT_EQ(got.embedding.norm, want.embedding.norm);
  EXPECT_EQ(got.detection.box, want.detection.box);
  EXPECT_EQ(got.detection.score, want.detection.score);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got.detection.landmarks[i], want.detection.landmarks[i]) << "landmark " << i;
}

using test::postgres_url;
using test::kNoPostgres;

std::string postgres_gallery(const std::string& tag) {
  const std::string url = postgres_url();
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "gallery=" + test::unique_name(tag);
}

// The value of a one-cell query run on the database itself, past the store.
std::string postgres_scalar(const std::string& sql) {
  PgConnection db(postgres_url(), 0ms);
  return db.exec(sql).text(0, 0);
}

enum class Backend { kSqlite, kPostgres };

// The GalleryStore contract: every case runs on each backend, PostgreSQL only when
// $FACEID_TEST_POSTGRES_URL names a database to use.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres && postgres_url().empty()) GTEST_SKIP() << kNoPostgres;
  }
  // The URI of a new, empty gallery.
  std::string new_gallery(const std::string& tag) const {
    return GetParam() == Backend::kSqlite ? gallery_path(tag) : postgres_gallery(tag);
  }
  // A one-cell query on the database under the store, in each backend's dialect.
  std::string raw_scalar(const std::string& uri, const std::string& postgres_sql, const std::string& sqlite_sql) const {
    return GetParam() == Backend::kSqlite ? RawDb(uri).scalar(sqlite_sql) : postgres_scalar(postgres_sql);
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(StoreTest, RoundTripsEveryFieldExactly) {
  const std::string path = new_gallery("roundtrip");
  auto faces = make_batch("rt", 3);
  faces[2].crop_jpeg.clear();  // a face enrolled without keeping its crop
  std::vector<std::int64_t> ids;
  {
    auto store = open_store(path);
    ids = store->add_faces("Ana María", faces);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_LT(ids[0], ids[1]);
    EXPECT_LT(ids[1], ids[2]);
  }
  auto store = open_store(path);  // what was committed, not a cache
  EXPECT_EQ(store->model_id(), "model-a");
  const auto with_crops = store->faces(true);
  ASSERT_EQ(with_crops.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(with_crops[i].id, ids[i]);
    EXPECT_EQ(with_crops[i].person, "Ana María");
    expect_same_face(with_crops[i], faces[i]);
    EXPECT_EQ(with_crops[i].crop_jpeg, faces[i].crop_jpeg);
    EXPECT_EQ(with_crops[i].created_at.size(), 20u) << with_crops[i].created_at;  // 2024-01-02T03:04:05Z
    EXPECT_EQ(with_crops[i].created_at.back(), 'Z');
  }
  for (const auto& face : store->faces(false)) EXPECT_TRUE(face.crop_jpeg.empty());
  const auto of_person = store->faces_of("Ana María", true);
  ASSERT_EQ(of_person.size(), 3u);
  EXPECT_EQ(of_person[1].crop_jpeg, faces[1].crop_jpeg);

  // The embedding column is the little-endian float32 unit vector, readable by any tool.
  const std::string hex = raw_scalar(path, "SELECT upper(encode(embedding, 'hex')) FROM faceid.faces WHERE id = " +
                                               std::to_string(ids[0]),
                                     "SELECT hex(embedding) FROM faces WHERE id = " + std::to_string(ids[0]));
  std::uint32_t bits = 0;
  std::memcpy(&bits, &faces[0].embedding.unit[0], 4);
  char expected[9];
  std::snprintf(expected, sizeof expected, "%02X%02X%02X%02X", bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff,
                bits >> 24);
  EXPECT_EQ(hex.substr(0, 8), expected);
  EXPECT_EQ(hex.size(), kDim * 8);
}

TEST_P(StoreTest, CountsFacesPerPerson) {
  auto store = open_store(new_gallery("counts"));
  EXPECT_TRUE(store->people().empty());
  EXPECT_EQ(store->model_id(), "");
  store->add_faces("bob", make_batch("b", 2));
  store->add_faces("alice", make_batch("a", 3, 10));
  store->add_faces("bob", make_batch("b2", 1, 20));
  const auto people = store->people();
  ASSERT_EQ(people.size(), 2u);
  EXPECT_EQ(people[0].name, "alice");
  EXPECT_EQ(people[0].face_count, 3);
  EXPECT_EQ(people[1].name, "bob");
  EXPECT_EQ(people[1].face_count, 3);
  EXPECT_FALSE(people[0].created_at.empty());
  EXPECT_TRUE(store->has_person("alice"));
  EXPECT_FALSE(store->has_person("carol"));
  EXPECT_EQ(store->faces_of("bob", false).size(), 3u);
  EXPECT_EQ(expect_error([&] { store->faces_of("carol", false); }).code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, DuplicateContentIsRefusedAndAddsNothing) {
  auto store = open_store(new_gallery("dup"));
  store->add_faces("alice", make_batch("x", 2));
  const auto version = store->version();
  EXPECT_EQ(store->find_content("x-1"), std::optional<std::string>("alice"));
  EXPECT_EQ(store->find_content("never-seen"), std::nullopt);

  // A batch of two new faces and one already stored: all refused, the owner named.
  auto batch = make_batch("y", 2, 5);
  batch.push_back(make_face("x-0", 9));
  const Error taken = expect_error([&] { store->add_faces("bob", batch); });
  EXPECT_EQ(taken.code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(taken.what()).find("alice"), std::string::npos) << taken.what();

  // The same image twice in one batch.
  const Error twice = expect_error([&] { store->add_faces("bob", {make_face("z", 1), make_face("z", 2)}); });
  EXPECT_EQ(twice.code(), ErrorCode::kConflict);

  EXPECT_EQ(total_faces(*store), 2);
  EXPECT_FALSE(store->has_person("bob"));  // not even the person was created
  EXPECT_EQ(store->find_content("y-0"), std::nullopt);
  EXPECT_EQ(store->version(), version);
}

TEST_P(StoreTest, RefusesInvalidNamesAndFaces) {
  auto store = open_store(new_gallery("invalid"));
  const std::string too_long(129, 'n');
  for (const std::string& name : {std::string(), too_long, std::string("a/b"), std::string("tab\there"),
                                  std::string("nul\0x", 5), std::string("bad\xff utf8")}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(expect_error([&] { store->add_faces(name, {make_face("n", 1)}); }).code(), ErrorCode::kBadRequest);
  }
  store->add_faces(std::string(128, 'n'), {make_face("ok", 1)});  // the limit itself is fine
  store->add_faces("Zoë O'Brien-Łukasz 李", {make_face("ok2", 2)});

  EXPECT_EQ(expect_error([&] { store->add_faces("p", {}); }).code(), ErrorCode::kBadRequest);
  auto not_unit = make_face("nu", 3);
  not_unit.embedding.unit[0] += 0.5f;
  EXPECT_EQ(expect_error([&] { store->add_faces("p", {not_unit}); }).code(), ErrorCode::kBadRequest);
  auto nan = make_face("nan", 4);
  nan.embedding.unit[1] = std::nanf("");
  EXPECT_EQ(expect_error([&] { store->add_faces("p", {nan}); }).code(), ErrorCode::kBadRequest);
  auto no_hash = make_face("", 5);
  EXPECT_EQ(expect_error([&] { store->add_faces("p", {no_hash}); }).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(total_faces(*store), 2);
}

TEST_P(StoreTest, RenameAndRemoveReportMissingAndTakenNames) {
  const std::string path = new_gallery("rename");
  auto store = open_store(path);
  const auto alice = store->add_faces("alice", make_batch("a", 2));
  store->add_faces("bob", make_batch("b", 1, 5));

  EXPECT_EQ(expect_error([&] { store->rename_person("carol", "dave"); }).code(), ErrorCode::kNotFound);
  EXPECT_EQ(expect_error([&] { store->rename_person("alice", "bob"); }).code(), ErrorCode::kConflict);
  EXPECT_EQ(expect_error([&] { store->rename_person("alice", "a/b"); }).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(expect_error([&] { store->remove_person("carol"); }).code(), ErrorCode::kNotFound);

  store->rename_person("alice", "alicia");
  EXPECT_FALSE(store->has_person("alice"));
  EXPECT_EQ(store->faces_of("alicia", false).size(), 2u);
  EXPECT_EQ(store->find_content("a-0"), std::optional<std::string>("alicia"));

  store->remove_person("alicia");
  EXPECT_FALSE(store->has_person("alicia"));
  EXPECT_EQ(store->find_content("a-0"), std::nullopt);  // faces went with the person
  EXPECT_EQ(total_faces(*store), 1);
  const std::string alice_ids = std::to_string(alice[0]) + ", " + std::to_string(alice[1]);
  EXPECT_EQ(raw_scalar(path, "SELECT COUNT(*) FROM faceid.face_crops WHERE face_id IN (" + alice_ids + ")",
                       "SELECT COUNT(*) FROM face_crops WHERE face_id IN (" + alice_ids + ")"),
            "0");  // and so did their crops
  // The removed image may be enrolled again, under anyone.
  store->add_faces("bob", {make_face("a-0", 0)});
  EXPECT_EQ(store->faces_of("bob", false).size(), 2u);
}

TEST_P(StoreTest, RemoveFaceKeepsIdsUniqueAndUnbindsAnEmptyGallery) {
  auto store = open_store(new_gallery("remove-face"));
  const auto ids = store->add_faces("alice", make_batch("a", 2));
  EXPECT_TRUE(store->remove_face(ids[1]));
  EXPECT_FALSE(store->remove_face(ids[1]));
  EXPECT_FALSE(store->remove_face(987654));
  // An id is never reused: another process's index may still hold the removed one.
  const auto next = store->add_faces("alice", {make_face("c", 7)});
  EXPECT_GT(next[0], ids[1]);
  EXPECT_TRUE(store->remove_face(ids[0]));
  EXPECT_TRUE(store->remove_face(next[0]));
  ASSERT_EQ(store->people().size(), 1u);  // the person stays, with no faces
  EXPECT_EQ(store->people()[0].face_count, 0);
  // Without any vector the gallery holds no model, so another model may take it.
  EXPECT_EQ(store->model_id(), "");
  store->bind_model("model-b");
  EXPECT_EQ(store->model_id(), "model-b");
}

TEST_P(StoreTest, ModelBindingIsEnforced) {
  auto store = open_store(new_gallery("model"));
  store->bind_model("model-a");
  store->bind_model("model-a");  // idempotent
  EXPECT_EQ(store->model_id(), "model-a");
  const Error rebind = expect_error([&] { store->bind_model("model-b"); });
  EXPECT_EQ(rebind.code(), ErrorCode::kModelMismatch);
  EXPECT_NE(std::string(rebind.what()).find("faceid reindex"), std::string::npos) << rebind.what();

  store->add_faces("alice", make_batch("a", 1));
  EXPECT_EQ(expect_error([&] { store->add_faces("bob", {make_face("b", 1, "model-b")}); }).code(),
            ErrorCode::kModelMismatch);
  EXPECT_EQ(expect_error([&] { store->add_faces("bob", {make_face("b", 1, "model-a", kDim * 2)}); }).code(),
            ErrorCode::kModelMismatch);
  EXPECT_EQ(expect_error([&] {
              store->add_faces("bob", {make_face("b1", 1), make_face("b2", 2, "model-a", kDim * 2)});
            }).code(),
            ErrorCode::kModelMismatch);
  EXPECT_EQ(expect_error([&] { store->bind_model(""); }).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(total_faces(*store), 1);
  // A face that does not say its model joins the bound one.
  auto unlabelled = make_face("u", 3, "");
  store->add_faces("bob", {unlabelled});
  EXPECT_EQ(store->faces_of("bob", false)[0].model_id, "model-a");
}

TEST_P(StoreTest, AddFacesBindsAnUnboundGallery) {
  auto store = open_store(new_gallery("autobind"));
  EXPECT_EQ(expect_error([&] { store->add_faces("p", {make_face("u", 1, "")}); }).code(), ErrorCode::kBadRequest);
  store->add_faces("p", {make_face("m", 1, "model-z")});
  EXPECT_EQ(store->model_id(), "model-z");
}

TEST_P(StoreTest, ReplaceEmbeddingsSwapsEveryVectorAndTheModel) {
  auto store = open_store(new_gallery("reindex"));
  const auto a = store->add_faces("alice", make_batch("a", 2));
  const auto b = store->add_faces("bob", make_batch("b", 1, 7));
  const auto before = store->version();
  const std::size_t new_dim = 4;
  std::vector<std::pair<std::int64_t, Embedding>> updated;
  for (auto id : {a[0], a[1], b[0]})
    updated.emplace_back(id, make_face("", static_cast<int>(id) + 40, "", new_dim).embedding);

  // Missing one face: the gallery changed since the caller read it.
  auto partial = updated;
  partial.pop_back();
  EXPECT_EQ(expect_error([&] { store->replace_embeddings("model-b", partial); }).code(), ErrorCode::kConflict);
  auto unknown = updated;
  unknown.back().first = 999999;
  EXPECT_EQ(expect_error([&] { store->replace_embeddings("model-b", unknown); }).code(), ErrorCode::kNotFound);
  auto repeated = updated;
  repeated.back().first = a[0];
  EXPECT_EQ(expect_error([&] { store->replace_embeddings("model-b", repeated); }).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(store->model_id(), "model-a");
  EXPECT_EQ(store->faces(false)[0].embedding.unit.size(), kDim);  // the failed call left everything
  EXPECT_EQ(store->version(), before);

  store->replace_embeddings("model-b", updated);
  EXPECT_EQ(store->model_id(), "model-b");
  const auto faces = store->faces(true);
  ASSERT_EQ(faces.size(), 3u);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    EXPECT_EQ(faces[i].model_id, "model-b");
    EXPECT_EQ(faces[i].embedding.unit, updated[i].second.unit);
    EXPECT_EQ(faces[i].embedding.norm, updated[i].second.norm);
    EXPECT_FALSE(faces[i].crop_jpeg.empty());  // crops are kept
  }
  EXPECT_EQ(store->version(), before + 1);
  store->add_faces("carol", {make_face("c", 1, "model-b", new_dim)});
}

TEST_P(StoreTest, VersionIncreasesOnEveryWriteAndOnlyThen) {
  const std::string path = new_gallery("version");
  auto store = open_store(path);
  std::int64_t last = store->version();
  const auto expect_bumped = [&](const char* what) {
    const auto now = store->version();
    EXPECT_GT(now, last) << what;
    last = now;
  };
  const auto expect_unchanged = [&](const char* what) { EXPECT_EQ(store->version(), last) << what; };

  store->bind_model("model-a");
  expect_bumped("bind_model");
  store->bind_model("model-a");
  expect_unchanged("bind_model again");
  const auto ids = store->add_faces("alice", make_batch("a", 2));
  expect_bumped("add_faces");
  store->rename_person("alice", "alicia");
  expect_bumped("rename_person");
  store->rename_person("alicia", "alicia");
  expect_unchanged("rename to the same name");
  EXPECT_TRUE(store->remove_face(ids[0]));
  expect_bumped("remove_face");
  EXPECT_FALSE(store->remove_face(ids[0]));
  expect_unchanged("remove_face of a missing face");
  store->replace_embeddings("model-a", {{ids[1], make_face("", 3).embedding}});
  expect_bumped("replace_embeddings");
  store->remove_person("alicia");
  expect_bumped("remove_person");
  store->people();
  store->faces(true);
  expect_unchanged("reads");
  // Another connection (process) sees the same counter.
  EXPECT_EQ(open_store(path)->version(), last);
}

TEST_P(StoreTest, ThreadsShareOneStore) {
  auto store = open_store(new_gallery("threads"));
  const auto start = store->version();
  constexpr int kThreads = 4, kAdds = 15;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::thread reader([&] {
    while (writing) {
      try {
        for (const auto& face : store->faces(false))
          if (face.embedding.unit.size() != kDim) ++failures;
        store->people();
      } catch (const std::exception&) {
        ++failures;
      }
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        try {
          store->add_faces("person" + std::to_string(t), {make_face(std::to_string(t) + "/" + std::to_string(i), i)});
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  writing = false;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(total_faces(*store), kThreads * kAdds);
  EXPECT_EQ(store->version() - start, kThreads * kAdds);
}

TEST_P(StoreTest, TwoConnectionsInterleaveWrites) {
  const std::string path = new_gallery("connections");
  auto first = open_store(path);
  auto second = open_store(path);
  constexpr int kAdds = 15;
  std::atomic<int> failures{0};
  const auto writer = [&](GalleryStore& store, const std::string& person) {
    for (int i = 0; i < kAdds; ++i) {
      try {
        store.add_faces(person, {make_face(person + std::to_string(i), i)});
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::thread one(writer, std::ref(*first), "one");
  std::thread two(writer, std::ref(*second), "two");
  one.join();
  two.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(total_faces(*first), 2 * kAdds);
  std::set<std::int64_t> ids;
  for (const auto& face : second->faces(false)) ids.insert(face.id);
  EXPECT_EQ(ids.size(), 2u * kAdds);
}

TEST(StoreOpen, MigratesANewFileToTheCurrentSchema) {
  const std::string path = gallery_path("migrate");
  std::int64_t version = 0;
  {
    auto store = open_sqlite_store(path);
    version = store->version();
  }
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key = 'schema_version'"), std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key = 'embedding_model'"), "");
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'people', "
                       "'faces', 'face_crops')"),
            "4");
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_foreign_key_check"), "0");
  // Opening an up-to-date gallery writes nothing.
  open_sqlite_store(path);
  EXPECT_EQ(open_sqlite_store(path)->version(), version);
}

TEST(StoreOpen, UpgradesASchema1GalleryKeepingItsFaces) {
  const std::string path = gallery_path("upgrade");
  open_sqlite_store(path)->add_faces("alice", make_batch("a", 2));
  // What FaceID's first release wrote: no change log, no audit log.
  RawDb(path).exec("DROP TABLE face_changes; DROP TABLE audit_log; UPDATE meta SET value = 1 WHERE key = 'schema_version'");
  auto store = open_sqlite_store(path);
  EXPECT_EQ(RawDb(path).scalar("SELECT value FROM meta WHERE key = 'schema_version'"),
            std::to_string(kSqliteSchemaVersion));
  EXPECT_EQ(total_faces(*store), 2);
  const auto before = store->version();
  const auto ids = store->add_faces("bob", make_batch("b", 1, 5));
  EXPECT_EQ(store->changes_since(before).removed, ids);
}

TEST(StoreOpen, ZeroByteFileIsRefusedNotTakenAsANewGallery) {
  // An empty file is far more often a gallery that lost its content than a wish for a new one.
  const std::string path = gallery_path("zero");
  std::ofstream(path).close();
  ASSERT_EQ(fs::file_size(path), 0u);
  const Error error = expect_error([&] { open_sqlite_store(path); });
  EXPECT_EQ(error.code(), ErrorCode::kCorruptStore);
  EXPECT_NE(std::string(error.what()).find("0-byte"), std::string::npos) << error.what();
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST(StoreOpen, NewGalleryIsPublishedWholeAndPrivate) {
  const std::string path = gallery_path("fresh");
  open_sqlite_store(path)->add_faces("alice", make_batch("a", 1));
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find(".new-"), std::string::npos) << "staging file left: " << entry.path();
}

TEST(StoreOpen, RefusesAGalleryFromANewerSchema) {
  const std::string path = gallery_path("newer");
  open_sqlite_store(path)->add_faces("alice", make_batch("a", 1));
  RawDb(path).exec("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  const Error error = expect_error([&] { open_sqlite_store(path); });
  EXPECT_EQ(error.code(), ErrorCode::kCorruptStore);
  const std::string message = error.what();
  EXPECT_NE(message.find("newer FaceID (schema 99"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  // Nothing was rewritten.
  EXPECT_EQ(RawDb(path).scalar("SELECT value FROM meta WHERE key = 'schema_version'"), "99");
}

TEST(StoreOpen, RefusesFilesThatAreNotGalleries) {
  const std::string dir = test::temp_dir("store-garbage");
  // What a user might point --gallery at by mistake: an export file, a short binary.
  const std::string text = dir + "/faces.json";
  std::ofstream(text) << R"({"format":"faceid-embeddings","version":1,"model_id":"m","people":[]})"
                      << std::string(400, ' ') << "\n";
  const std::string binary = dir + "/short.db";
  std::ofstream(binary, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  for (const auto& path : {text, binary}) {
    SCOPED_TRACE(path);
    const auto size = fs::file_size(path);
    const Error error = expect_error([&] { open_store(path); });
    EXPECT_EQ(error.code(), ErrorCode::kCorruptStore);
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    EXPECT_EQ(fs::file_size(path), size);  // left as it was
  }

  // A database of another application is not taken over.
  const std::string foreign = dir + "/other.sqlite";
  RawDb(foreign).exec("CREATE TABLE bookmarks (url TEXT)");
  EXPECT_EQ(expect_error([&] { open_store(foreign); }).code(), ErrorCode::kCorruptStore);
}

TEST(StoreOpen, RefusesATruncatedGallery) {
  const std::string path = gallery_path("truncated");
  {
    auto store = open_sqlite_store(path);
    for (int i = 0; i < 8; ++i) {
      auto face = make_face("t" + std::to_string(i), i);
      face.crop_jpeg.resize(8000, 0x5a);  // several pages per face
      store->add_faces("alice", {face});
    }
  }  // the last connection folds the WAL back into the file
  ASSERT_FALSE(fs::exists(path + "-wal"));
  const auto size = fs::file_size(path);
  ASSERT_GT(size, 16384u);
  fs::resize_file(path, size / 2);
  const Error error = expect_error([&] {
    auto store = open_sqlite_store(path);
    store->faces(true);
  });
  EXPECT_EQ(error.code(), ErrorCode::kCorruptStore);
  EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
}

TEST(StoreOpen, UnusablePathsAreIoErrors) {
  const std::string dir = test::temp_dir("store-io");
  const std::string file = dir + "/plain-file";
  std::ofstream(file) << "x";
  EXPECT_EQ(expect_error([&] { open_store(file + "/gallery.db"); }).code(), ErrorCode::kIo);
  EXPECT_EQ(expect_error([&] { open_store(dir); }).code(), ErrorCode::kIo);
}

TEST(StoreOpen, CreatesTheParentFolder) {
  const std::string path = test::temp_dir("store-parent") + "/a/b/gallery.db";
  open_store(path)->add_faces("alice", make_batch("a", 1));
  EXPECT_TRUE(fs::is_regular_file(path));
}

TEST(StoreOpen, UriSchemes) {
  const std::string path = gallery_path("uri");
  open_store("sqlite:" + path)->add_faces("alice", make_batch("a", 1));
  EXPECT_EQ(total_faces(*open_store(path)), 1);
  EXPECT_EQ(total_faces(*open_store("sqlite://" + path)), 1);  // sqlite:///abs/path
  // PostgreSQL URIs are checked before any connection is tried.
  EXPECT_EQ(expect_error([&] { open_store("postgresql://user@db.example/faces?gallery=a/b"); }).code(),
            ErrorCode::kBadRequest);
  EXPECT_EQ(expect_error([&] { open_store("postgres://user@db.example/faces?nonsense=1"); }).code(),
            ErrorCode::kBadRequest);
  const Error other = expect_error([&] { open_store("mongodb://db.example/faces"); });
  EXPECT_EQ(other.code(), ErrorCode::kBadRequest);
  EXPECT_NE(std::string(other.what()).find("not supported by this build"), std::string::npos);
  EXPECT_EQ(expect_error([&] { open_store(""); }).code(), ErrorCode::kBadRequest);
  EXPECT_EQ(expect_error([&] { open_store("sqlite:"); }).code(), ErrorCode::kBadRequest);
}

// Sets (or, with nullptr, clears) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }

 private:
  void set(const char* value) {
    if (value) setenv(name_, value, 1);
    else unsetenv(name_);
  }
  const char* name_;
  std::optional<std::string> old_;
};

TEST(StoreOpen, DefaultGalleryPathFollowsTheEnvironment) {
  ScopedEnv home("HOME", "/home/tester");
  {
    ScopedEnv gallery("FACEID_GALLERY", "/data/my.db");
    ScopedEnv data("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(default_gallery_path(), "/data/my.db");
  }
  ScopedEnv gallery("FACEID_GALLERY", nullptr);
  {
    ScopedEnv data("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(default_gallery_path(), "/xdg/faceid/gallery.db");
  }
  ScopedEnv data("XDG_DATA_HOME", nullptr);
  EXPECT_EQ(default_gallery_path(), "/home/tester/.local/share/faceid/gallery.db");
}

TEST(StoreLock, WriteBlockedByAnotherWriterFailsUnavailable) {
  const std::string path = gallery_path("lock-write");
  auto store = open_sqlite_store(path, short_timeout());
  store->add_faces("alice", make_batch("a", 1));
  RawDb other(path);
  other.exec("BEGIN IMMEDIATE; UPDATE people SET name = 'held' WHERE name = 'nobody'");

  // Reads go on under WAL; the write waits for the timeout, then fails with a clear message.
  EXPECT_EQ(total_faces(*store), 1);
  const auto start = std::chrono::steady_clock::now();
  const Error error = expect_error([&] { store->add_faces("bob", make_batch("b", 2, 3)); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  EXPECT_NE(std::string(error.what()).find("locked"), std::string::npos) << error.what();
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 3s);

  other.exec("ROLLBACK");
  EXPECT_FALSE(store->has_person("bob"));
  store->add_faces("bob", make_batch("b", 2, 3));
  EXPECT_EQ(total_faces(*store), 3);
}

TEST(StoreLock, OpeningAnExclusivelyLockedFileFailsUnavailable) {
  // Another program holding a rollback-journal database exclusively blocks even readers.
  const std::string path = gallery_path("lock-open");
  open_sqlite_store(path)->add_faces("alice", make_batch("a", 1));
  RawDb other(path);
  other.exec("PRAGMA journal_mode = DELETE");
  other.exec("BEGIN EXCLUSIVE");
  const auto start = std::chrono::steady_clock::now();
  const Error error = expect_error([&] { open_sqlite_store(path, short_timeout()); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  EXPECT_NE(std::string(error.what()).find("locked"), std::string::npos) << error.what();
  other.exec("ROLLBACK");
  open_sqlite_store(path, short_timeout());
}

// Kills the child process on scope exit, whatever the test's outcome.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess() {
    if (pid_ > 0) kill_and_wait();
  }
  int kill_and_wait() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }

 private:
  pid_t pid_;
};

TEST_P(StoreTest, KilledWriterLeavesOnlyWholeBatches) {
  const std::string path = new_gallery("crash");
  constexpr int kBatch = 5, kPeople = 3, kCommitsBeforeKill = 25;
  const std::int64_t start = open_store(path)->version();

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child writes batches until it is killed; it never returns into the test runner.
    try {
      auto store = open_store(path);
      for (int batch = 0; batch < 100000; ++batch) {
        auto faces = make_batch("c" + std::to_string(batch), kBatch, batch);
        for (auto& face : faces) face.crop_jpeg.resize(20000, 0x42);  // long writes, easy to interrupt
        store->add_faces("person" + std::to_string(batch % kPeople), faces);
      }
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  ChildProcess child(pid);
  {
    auto observer = open_store(path);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (observer->version() - start < kCommitsBeforeKill && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(2ms);
    ASSERT_GE(observer->version() - start, kCommitsBeforeKill) << "the writer made no progress";
  }
  const int status = child.kill_and_wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself, status " << status;

  if (GetParam() == Backend::kSqlite) EXPECT_EQ(RawDb(path).scalar("PRAGMA integrity_check"), "ok");
  auto store = open_store(path);
  int total = 0;
  for (const auto& person : store->people()) {
    EXPECT_EQ(person.face_count % kBatch, 0) << person.name << " has a half-written batch";
    total += person.face_count;
  }
  EXPECT_GE(total, kCommitsBeforeKill * kBatch);
  // The counter moved with exactly the batches that committed.
  EXPECT_EQ(store->version() - start, total / kBatch);
  // And the gallery is writable again.
  store->add_faces("after", make_batch("after", kBatch));
  EXPECT_EQ(total_faces(*store), total + kBatch);
  if (GetParam() == Backend::kSqlite) EXPECT_EQ(RawDb(path).scalar("PRAGMA integrity_check"), "ok");
}

TEST_P(StoreTest, ChangesSinceReportsEveryWrite) {
  const std::string uri = new_gallery("changes");
  auto store = open_store(uri);
  auto other = open_store(uri);  // what another process sees
  const auto start = other->changes_since(-1);
  EXPECT_TRUE(start.reset);
  EXPECT_TRUE(start.current.empty());

  const auto a = store->add_faces("alice", make_batch("a", 2));
  const auto b = store->add_faces("bob", make_batch("b", 1, 5));
  auto changes = other->changes_since(start.version);
  EXPECT_FALSE(changes.reset);
  EXPECT_EQ(changes.version, store->version());
  EXPECT_EQ(changes.model_id, "model-a");
  ASSERT_EQ(changes.current.size(), 3u);
  EXPECT_EQ(changes.current[0].id, a[0]);
  EXPECT_EQ(changes.current[2].person, "bob");
  EXPECT_TRUE(changes.current[0].crop_jpeg.empty());
  expect_same_face(changes.current[1], make_batch("a", 2)[1]);

  const auto seen = changes.version;
  store->rename_person("alice", "alicia");
  EXPECT_TRUE(store->remove_face(b[0]));
  changes = other->changes_since(seen);
  EXPECT_EQ(changes.removed, (std::vector<std::int64_t>{a[0], a[1], b[0]}));  // changed or gone
  ASSERT_EQ(changes.current.size(), 2u);  // the renamed faces, as they are now
  EXPECT_EQ(changes.current[0].person, "alicia");
  EXPECT_EQ(changes.current[1].person, "alicia");

  // Nothing new: nothing to do.
  changes = other->changes_since(changes.version);
  EXPECT_TRUE(changes.removed.empty());
  EXPECT_TRUE(changes.current.empty());
  // A reader ahead of the store (the gallery was recreated) or far behind reloads everything.
  for (const std::int64_t since : {changes.version + 5, changes.version - kChangeLogVersions - 1}) {
    const auto reload = other->changes_since(since);
    EXPECT_TRUE(reload.reset) << since;
    EXPECT_EQ(reload.current.size(), 2u) << since;
  }
}

TEST_P(StoreTest, TwoConnectionsNeverStoreOneImageTwice) {
  // Two processes enrolling the same photos at once: each image lands once, under one person.
  const std::string uri = new_gallery("race");
  auto first = open_store(uri);
  auto second = open_store(uri);
  constexpr int kImages = 12;
  std::atomic<int> added{0}, conflicts{0}, failures{0};
  const auto writer = [&](GalleryStore& store, const std::string& person) {
    for (int i = 0; i < kImages; ++i) {
      try {
        store.add_faces(person, {make_face("same-" + std::to_string(i), i)});
        ++added;
      } catch (const Error& e) {
        ++(e.code() == ErrorCode::kConflict ? conflicts : failures);
      }
    }
  };
  std::thread one(writer, std::ref(*first), "one");
  std::thread two(writer, std::ref(*second), "two");
  one.join();
  two.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(added.load(), kImages);
  EXPECT_EQ(conflicts.load(), kImages);
  std::set<std::string> hashes;
  for (const auto& face : first->faces(false)) EXPECT_TRUE(hashes.insert(face.content_sha256).second);
  EXPECT_EQ(hashes.size(), static_cast<std::size_t>(kImages));
}

// "1,2,3" for an SQL IN list.
std::string id_list(const std::vector<std::int64_t>& ids) {
  std::string list;
  for (const auto id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  return list;
}

TEST_P(StoreTest, RemovingAPersonOrAFaceLeavesNoEmbeddingsOrCrops) {
  const std::string uri = new_gallery("orphans");
  auto store = open_store(uri);
  const auto alice = store->add_faces("alice", make_batch("a", 3));
  const auto bob = store->add_faces("bob", make_batch("b", 2, 10));
  // Rows of these faces under the store: embeddings (faces) and crops (face_crops).
  const auto rows_of = [&](const char* table, const char* id_column, const std::vector<std::int64_t>& ids) {
    const std::string where = std::string(" WHERE ") + id_column + " IN (" + id_list(ids) + ")";
    return raw_scalar(uri, std::string("SELECT COUNT(*) FROM faceid.") + table + where,
                      std::string("SELECT COUNT(*) FROM ") + table + where);
  };
  ASSERT_EQ(rows_of("faces", "id", alice), "3");
  ASSERT_EQ(rows_of("face_crops", "face_id", alice), "3");

  ASSERT_TRUE(store->remove_face(alice[0]));
  EXPECT_EQ(rows_of("faces", "id", {alice[0]}), "0");
  EXPECT_EQ(rows_of("face_crops", "face_id", {alice[0]}), "0");
  EXPECT_EQ(rows_of("faces", "id", alice), "2");

  store->remove_person("alice");
  EXPECT_EQ(rows_of("faces", "id", alice), "0");
  EXPECT_EQ(rows_of("face_crops", "face_id", alice), "0");
  EXPECT_EQ(raw_scalar(uri, "SELECT COUNT(*) FROM faceid.people p JOIN faceid.galleries g ON g.id = p.gallery_id "
                            "WHERE p.name = 'alice' AND g.name = '" + uri.substr(uri.rfind('=') + 1) + "'",
                       "SELECT COUNT(*) FROM people WHERE name = 'alice'"),
            "0");
  // The other person keeps everything.
  EXPECT_EQ(rows_of("faces", "id", bob), "2");
  EXPECT_EQ(rows_of("face_crops", "face_id", bob), "2");
  if (GetParam() == Backend::kSqlite) {
    RawDb raw(uri);
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM face_crops WHERE face_id NOT IN (SELECT id FROM faces)"), "0");
    EXPECT_EQ(raw.scalar("SELECT COUNT(*) FROM pragma_foreign_key_check"), "0");
  }
}

TEST_P(StoreTest, EveryWriteAppendsOneAuditRow) {
  const std::string uri = new_gallery("audit");
  auto store = open_store(uri);
  EXPECT_TRUE(store->audit({}).empty());
  store->set_audit_actor("key:abc123");
  const auto alice = store->add_faces("alice", make_batch("a", 2));
  const auto bob = store->import_faces("bob", make_batch("b", 1, 5));
  store->rename_person("alice", "ann");
  ASSERT_TRUE(store->remove_face(alice[0]));
  std::vector<std::pair<std::int64_t, Embedding>> embeddings;
  for (const auto& face : store->faces(false)) embeddings.emplace_back(face.id, face.embedding);
  store->replace_embeddings("model-b", embeddings);
  store->set_audit_actor("cli:someone");
  store->remove_person("bob");

  const auto entries = store->audit({});
  ASSERT_EQ(entries.size(), 6u);
  std::vector<std::string> actions;
  for (const auto& entry : entries) actions.push_back(entry.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"remove_person", "reindex", "remove_face", "rename", "import", "enroll"}))
      << "newest first";
  const AuditEntry& enroll = entries[5];
  EXPECT_EQ(enroll.actor, "key:abc123");
  EXPECT_EQ(enroll.person, "alice");
  EXPECT_EQ(enroll.face_ids, alice);
  EXPECT_EQ(enroll.face_count, 2);
  EXPECT_EQ(enroll.at.size(), 20u) << enroll.at;
  EXPECT_EQ(enroll.at.back(), 'Z');
  EXPECT_EQ(entries[4].face_ids, bob);
  EXPECT_EQ(entries[3].person, "alice");
  EXPECT_EQ(entries[3].new_name, "ann");
  EXPECT_EQ(entries[2].person, "ann");
  EXPECT_EQ(entries[2].face_ids, std::vector<std::int64_t>{alice[0]});
  EXPECT_EQ(entries[1].face_count, 2);
  EXPECT_EQ(entries[0].actor, "cli:someone");
  EXPECT_EQ(entries[0].face_ids, bob);
  for (std::size_t i = 1; i < entries.size(); ++i) EXPECT_GT(entries[i - 1].id, entries[i].id);

  // The log is durable (another connection reads it) and its queries are bounded.
  auto reader = open_store(uri);
  EXPECT_EQ(reader->audit({}).size(), 6u);
  EXPECT_EQ(reader->audit({"", 2}).size(), 2u);
  EXPECT_EQ(reader->audit({enroll.at, 100}).size(), 6u);
  EXPECT_EQ(reader->audit({enroll.at.substr(0, 10), 100}).size(), 6u);
  EXPECT_TRUE(reader->audit({"2999-01-01", 100}).empty());
  for (const AuditQuery bad : {AuditQuery{"", 0}, AuditQuery{"", AuditQuery::kMaxLimit + 1},
                               AuditQuery{"yesterday", 10}, AuditQuery{"2026-01-01' OR 1=1", 10}})
    EXPECT_EQ(expect_error([&] { reader->audit(bad); }).code(), ErrorCode::kBadRequest) << bad.since;
}

TEST_P(StoreTest, AWriteThatRollsBackLeavesNoAuditRow) {
  const std::string uri = new_gallery("audit-rollback");
  auto store = open_store(uri);
  store->add_faces("alice", make_batch("a", 2));
  store->add_faces("bob", make_batch("b", 1, 5));
  ASSERT_EQ(store->audit({}).size(), 2u);
  // Each of these fails inside its transaction, after some of its checks passed.
  auto batch = make_batch("c", 2, 20);
  batch.push_back(make_face("a-0", 1));  // already enrolled: the whole batch is refused
  EXPECT_EQ(expect_error([&] { store->add_faces("carol", batch); }).code(), ErrorCode::kConflict);
  EXPECT_EQ(expect_error([&] { store->rename_person("alice", "bob"); }).code(), ErrorCode::kConflict);
  EXPECT_EQ(expect_error([&] { store->remove_person("nobody"); }).code(), ErrorCode::kNotFound);
  auto other_model = make_batch("d", 1, 30);
  other_model[0].model_id = "model-z";
  EXPECT_EQ(expect_error([&] { store->add_faces("dave", other_model); }).code(), ErrorCode::kModelMismatch);
  EXPECT_FALSE(store->remove_face(999999));
  store->rename_person("alice", "alice");  // no change, no row
  EXPECT_FALSE(store->has_person("carol"));
  EXPECT_EQ(open_store(uri)->audit({}).size(), 2u);
}

TEST_P(StoreTest, AuditLogRefusesUpdateAndDelete) {
  const std::string uri = new_gallery("audit-append-only");
  auto store = open_store(uri);
  store->add_faces("alice", make_batch("a", 1));
  const std::string table = GetParam() == Backend::kSqlite ? "audit_log" : "faceid.audit_log";
  for (const std::string sql : {"UPDATE " + table + " SET actor = 'someone else'", "DELETE FROM " + table}) {
    std::string refusal;
    if (GetParam() == Backend::kSqlite) {
      sqlite3* db = nullptr;
      ASSERT_EQ(sqlite3_open(uri.c_str(), &db), SQLITE_OK);
      EXPECT_NE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
      refusal = sqlite3_errmsg(db);
      sqlite3_close(db);
    } else {
      refusal = expect_error([&] { PgConnection(postgres_url(), 0ms).exec(sql); }).what();
    }
    EXPECT_NE(refusal.find("append-only"), std::string::npos) << sql << ": " << refusal;
  }
  if (GetParam() == Backend::kPostgres)
    EXPECT_NE(std::string(expect_error([&] { PgConnection(postgres_url(), 0ms).exec("TRUNCATE " + table); }).what())
                  .find("append-only"),
              std::string::npos);
  const auto entries = store->audit({});
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].actor, local_audit_actor());
}

PostgresStoreOptions short_retry() {
  PostgresStoreOptions options;
  options.connect_retry = 600ms;
  return options;
}

TEST(StorePostgres, UnreachableServerFailsUnavailableAfterRetrying) {
  // Needs no server: nothing listens on port 1.
  const auto start = std::chrono::steady_clock::now();
  const Error error = expect_error([&] { open_postgres_store("postgresql://faceid@127.0.0.1:1/none", short_retry()); });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable);
  EXPECT_NE(std::string(error.what()).find("127.0.0.1:1/none"), std::string::npos) << error.what();
  EXPECT_GE(waited, 250ms) << "it did not retry";
  EXPECT_LT(waited, 5s);
}

TEST(StorePostgres, MigratesOnceAndRefusesANewerSchema) {
  FACEID_REQUIRE_POSTGRES();
  // A database of its own: the test rewrites the schema history.
  const std::string database = "faceid_schema_" + std::to_string(getpid());
  PgConnection admin(postgres_url(), 0ms);
  try {
    admin.exec("CREATE DATABASE " + database);
  } catch (const Error& e) {
    GTEST_SKIP() << "cannot create a scratch database: " << e.what();
  }
  const std::string base = postgres_url().substr(0, postgres_url().rfind('/') + 1) + database;
  {
    open_store(base + "?gallery=one")->add_faces("alice", make_batch("a", 1));
    open_store(base + "?gallery=two");
    PgConnection db(base, 0ms);
    std::string every_version;  // each migration applied once, in order
    for (int version = 1; version <= kPostgresSchemaVersion; ++version)
      every_version += (version > 1 ? "," : "") + std::to_string(version);
    EXPECT_EQ(db.exec("SELECT string_agg(version::text, ',' ORDER BY version) FROM faceid.schema_migrations").text(0, 0),
              every_version);
    EXPECT_EQ(db.exec("SELECT COUNT(*) FROM faceid.galleries").text(0, 0), "2");
    db.exec("INSERT INTO faceid.schema_migrations(version) VALUES (99)");
    const Error error = expect_error([&] { open_store(base + "?gallery=one"); });
    EXPECT_EQ(error.code(), ErrorCode::kCorruptStore);
    EXPECT_NE(std::string(error.what()).find("newer FaceID (schema 99"), std::string::npos) << error.what();
  }
  admin.exec("DROP DATABASE " + database);
}

TEST(StorePostgres, LostConnectionFailsUnavailableThenReconnects) {
  FACEID_REQUIRE_POSTGRES();
  const std::string application = test::unique_name("lost");
  const std::string uri = postgres_gallery("lost") + "&application_name=" + application;
  auto store = open_store(uri);
  store->add_faces("alice", make_batch("a", 1));
  // What a database restart or a dropped network link does to the store's connection.
  EXPECT_EQ(postgres_scalar("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                            "application_name = '" + application + "'"),
            "1");
  const Error error = expect_error([&] { store->add_faces("bob", make_batch("b", 1, 3)); });
  EXPECT_EQ(error.code(), ErrorCode::kUnavailable) << error.what();
  // The next call reconnects; the failed write left nothing behind.
  EXPECT_FALSE(store->has_person("bob"));
  store->add_faces("bob", make_batch("b", 1, 3));
  EXPECT_EQ(total_faces(*store), 2);
}

// Counts calls to a store's change callback; waits for them.
class ChangeCounter {
 public:
  std::function<void()> callback() {
    return [this] {
      std::lock_guard lock(mutex_);
      ++calls_;
      changed_.notify_all();
    };
  }
  int calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // Whether the count passes `count` within `timeout`.
  bool wait_past(int count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return calls_ > count; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int calls_ = 0;
};

TEST(StorePostgres, NotifiesOtherConnectionsOfWrites) {
  FACEID_REQUIRE_POSTGRES();
  const std::string uri = postgres_gallery("notify");
  auto reader = open_store(uri);
  auto writer = open_store(uri);
  ChangeCounter counter;
  reader->on_external_change(counter.callback());
  ASSERT_TRUE(counter.wait_past(0, 5s)) << "no call once listening";  // the catch-up call
  int seen = counter.calls();
  writer->add_faces("alice", make_batch("a", 1));
  ASSERT_TRUE(counter.wait_past(seen, 1s)) << "no notification within a second";
  EXPECT_EQ(reader->changes_since(0).current.size(), 1u);
  // Writes to another gallery of the database are not this store's news.
  seen = counter.calls();
  open_store(postgres_gallery("notify-other"))->add_faces("bob", make_batch("b", 1));
  EXPECT_FALSE(counter.wait_past(seen, 300ms));
  reader->on_external_change({});
  seen = counter.calls();
  writer->add_faces("alice", make_batch("a2", 1, 4));
  EXPECT_FALSE(counter.wait_past(seen, 300ms)) << "called after it was stopped";
}

TEST(StorePostgres, SurvivesADatabaseRestart) {
  FACEID_REQUIRE_POSTGRES();  // the server binaries are there
  test::ScratchPostgres cluster;
  ASSERT_FALSE(cluster.url().empty());
  auto store = open_store(cluster.url());
  ChangeCounter counter;
  store->on_external_change(counter.callback());
  store->add_faces("alice", make_batch("a", 1));

  cluster.pause();
  EXPECT_EQ(expect_error([&] { store->add_faces("bob", make_batch("b", 1, 3)); }).code(), ErrorCode::kUnavailable);
  EXPECT_EQ(expect_error([&] { store->people(); }).code(), ErrorCode::kUnavailable);
  // Opening while it is down retries, then says so.
  EXPECT_EQ(expect_error([&] { open_postgres_store(cluster.url(), short_retry()); }).code(), ErrorCode::kUnavailable);
  const int before = counter.calls();
  cluster.resume();

  EXPECT_EQ(total_faces(*store), 1);  // reconnected; nothing half-written
  store->add_faces("bob", make_batch("b", 1, 3));
  EXPECT_EQ(total_faces(*open_store(cluster.url())), 2);
  // The listener came back on its own and says so, since it may have missed news.
  EXPECT_TRUE(counter.wait_past(before, 10s));
}

}  // namespace
}  // namespace faceid
