// Hostile conditions for the gallery through the real CLI: damaged and empty files, two
// processes enrolling the same photos, file permissions, and what removal leaves behind.
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/store.hpp"
#include "storage/add_new_faces.hpp"
#include "storage/sqlite_store.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid::hostile {
namespace {

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

// A gallery with two people enrolled (with crops), closed and checkpointed.
std::string enrolled_gallery(const std::string& dir) {
  const std::string gallery = dir + "/g.db";
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "alice", sample(1), sample(2)}).exit_code, 0);
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "bob", sample(3)}).exit_code, 0);
  EXPECT_FALSE(fs::exists(gallery + "-wal")) << "the last connection should have checkpointed";
  return gallery;
}

std::int64_t scalar(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

// Overwrites 64 bytes at the start of the b-tree page of `object` (a table or index).
void damage_page_of(const std::string& gallery, const std::string& object) {
  const std::int64_t page_size = scalar(gallery, "PRAGMA page_size");
  const std::int64_t root = scalar(gallery, "SELECT rootpage FROM sqlite_master WHERE name = '" + object + "'");
  ASSERT_GT(root, 1);
  std::fstream file(gallery, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp((root - 1) * page_size);
  const std::string garbage(64, '\x5a');
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

TEST(HostileStorage, DamagedGalleryIsRefusedForReadsAndWritesAndCheckFindsIt) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-damage");
  const std::string gallery = enrolled_gallery(dir);
  EXPECT_EQ(run_cli(gallery, {"check"}).exit_code, 0) << "an intact gallery passes";
  damage_page_of(gallery, "faces_by_person");
  const auto before = read_bytes(gallery);

  const auto people = run_cli(gallery, {"people"});
  EXPECT_EQ(people.exit_code, 2);
  EXPECT_NE(people.err.find("corrupt_store"), std::string::npos) << people.err;
  EXPECT_NE(people.err.find("faceid export"), std::string::npos) << "no repair advice: " << people.err;
  const auto enroll = run_cli(gallery, {"enroll", "--name", "carol", sample(4)});
  EXPECT_EQ(enroll.exit_code, 2);
  EXPECT_NE(enroll.err.find("corrupt_store"), std::string::npos) << enroll.err;
  EXPECT_EQ(run_cli(gallery, {"identify", sample(1)}).exit_code, 2);
  EXPECT_EQ(read_bytes(gallery), before) << "a damaged gallery was written to";

  const auto check = run_cli(gallery, {"check"});
  EXPECT_EQ(check.exit_code, 2);
  EXPECT_NE(check.out.find("\"intact\":false"), std::string::npos) << check.out;
}

FaceRecord synthetic_face(const std::string& sha) {
  FaceRecord record;
  record.model_id = "m";
  record.embedding.unit = {1.0f, 0.0f};
  record.embedding.norm = 1.0f;
  record.content_sha256 = sha;
  record.source = sha + ".jpg";
  return record;
}

TEST(HostileStorage, DamageFoundAfterOpeningStopsEveryLaterWrite) {
  // A gallery above the quick-check size: its damage shows only when a read reaches it. The
  // damaged page (the crops table) is one the writes below would never touch by themselves.
  const std::string dir = test::temp_dir("hostile-late-damage");
  const std::string gallery = dir + "/g.db";
  open_sqlite_store(gallery)->add_faces("alice", {synthetic_face("a1"), synthetic_face("a2")});
  damage_page_of(gallery, "face_crops");
  SqliteStoreOptions no_quick_check;
  no_quick_check.quick_check_max_bytes = 0;
  auto store = open_sqlite_store(gallery, no_quick_check);
  EXPECT_EQ(test::error_of([&] { store->faces(true); }), ErrorCode::kCorruptStore);
  const auto before = read_bytes(gallery);
  EXPECT_EQ(test::error_of([&] { store->add_faces("bob", {synthetic_face("b1")}); }), ErrorCode::kCorruptStore);
  EXPECT_EQ(test::error_of([&] { store->rename_person("alice", "carol"); }), ErrorCode::kCorruptStore);
  store.reset();
  EXPECT_EQ(read_bytes(gallery), before) << "a gallery known to be damaged was written to";
}

TEST(HostileStorage, EmptyGalleryFileIsNotSilentlyANewGallery) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-empty-gallery");
  const std::string gallery = dir + "/g.db";
  std::ofstream(gallery).close();
  const auto people = run_cli(gallery, {"people"});
  EXPECT_EQ(people.exit_code, 2);
  EXPECT_NE(people.err.find("0-byte"), std::string::npos) << people.err;
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "alice", sample(1)}).exit_code, 2);
  EXPECT_EQ(fs::file_size(gallery), 0u);
  EXPECT_EQ(run_cli(gallery, {"check"}).exit_code, 2);
}

TEST(HostileStorage, TwoProcessesEnrollingOneFolderBothSucceed) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-race");
  fs::create_directory(dir + "/alice");
  for (int i = 1; i <= 6; ++i) fs::copy_file(sample(i), dir + "/alice/" + std::to_string(i) + ".jpg");
  const std::string gallery = dir + "/g.db";
  for (int round = 0; round < 2; ++round) {
    fs::remove(gallery);
    const auto runs = run_cli_concurrently(
        gallery, {{"enroll", "--name", "alice", dir + "/alice"}, {"enroll", "--name", "alice", dir + "/alice"}}, 120);
    for (const auto& run : runs) {
      EXPECT_EQ(run.exit_code, 0) << run.err;
      EXPECT_EQ(run.err.find("conflict"), std::string::npos) << run.err;
    }
    EXPECT_EQ(scalar(gallery, "SELECT COUNT(*) FROM faces"), 6) << "each photo exactly once";
  }
}

TEST(HostileStorage, DuplicateFoundAtCommitTimeIsAlreadyEnrolled) {
  const std::string dir = test::temp_dir("hostile-commit");
  auto writer = open_store(dir + "/g.db");
  auto other_process = open_store(dir + "/g.db");
  other_process->add_faces("alice", {synthetic_face("a")});
  std::vector<EnrollOutcome> outcomes(2);
  const auto ids = add_new_faces(*writer, "alice", {synthetic_face("a"), synthetic_face("b")}, outcomes, {0, 1});
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(outcomes[0].error, ErrorCode::kConflict);
  EXPECT_NE(outcomes[0].message.find("already enrolled as alice"), std::string::npos);
  EXPECT_GT(ids[1], 0);
  EXPECT_EQ(outcomes[1].face_id, ids[1]);
}

mode_t mode_of(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 0777;
}

TEST(HostileStorage, GalleriesAndTheirFoldersArePrivate) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-private");
  const std::string gallery = dir + "/a/b/g.db";
  const mode_t old_mask = umask(022);  // what most shells use: files would be world-readable
  EXPECT_EQ(run_cli(gallery, {"enroll", "--name", "alice", sample(1)}).exit_code, 0);
  open_store("sqlite:" + dir + "/server/collections/c.db");
  umask(old_mask);
  EXPECT_EQ(mode_of(gallery), 0600u);
  EXPECT_EQ(mode_of(dir + "/a"), 0700u);
  EXPECT_EQ(mode_of(dir + "/a/b"), 0700u);
  EXPECT_EQ(mode_of(dir + "/server/collections/c.db"), 0600u);
  EXPECT_EQ(mode_of(dir + "/server/collections"), 0700u);
}

TEST(HostileStorage, RemovingAPersonLeavesNoFacesCropsOrEmbeddings) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("hostile-remove");
  const std::string gallery = enrolled_gallery(dir);
  ASSERT_EQ(scalar(gallery, "SELECT COUNT(*) FROM face_crops"), 3) << "crops are kept by default";
  EXPECT_EQ(run_cli(gallery, {"remove", "alice"}).exit_code, 0);
  EXPECT_EQ(scalar(gallery, "SELECT COUNT(*) FROM faces"), 1);
  EXPECT_EQ(scalar(gallery, "SELECT COUNT(*) FROM face_crops"), 1);
  EXPECT_EQ(scalar(gallery, "SELECT COUNT(*) FROM face_crops WHERE face_id NOT IN (SELECT id FROM faces)"), 0);
  EXPECT_EQ(scalar(gallery, "SELECT COUNT(*) FROM people WHERE name = 'alice'"), 0);
  EXPECT_EQ(run_cli(gallery, {"check"}).exit_code, 0);
}

}  // namespace
}  // namespace faceid::hostile
