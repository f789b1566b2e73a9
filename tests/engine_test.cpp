// The whole pipeline on real faces: enrollment, identification, verification, gallery life cycle.
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

EngineConfig config_for(const std::string& gallery) {
  EngineConfig config;
  config.gallery = gallery;
  config.model_dir = test::model_dir();
  return config;
}

EnrollImage image_file(const std::string& path) { return {path, read_file_bytes(path, 64u << 20)}; }

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

// LFW people with many photos (sets 1-5): enough to enroll several and hold some back.
const std::vector<std::string> kLfwPeople = {
    "Colin_Powell", "Hu_Jintao",    "Megawati_Sukarnoputri", "Laura_Bush",       "Pervez_Musharraf",
    "Jiang_Zemin",  "Andre_Agassi", "Hugo_Chavez",           "Silvio_Berlusconi", "Tiger_Woods"};

std::vector<std::string> photos_of(const std::string& lfw, const std::string& person) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(lfw) / "images" / person)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// The status words of enrollment results, as the CLI, REST and Python have always reported them.
TEST(Engine, EnrollStatusWordsFollowTheOutcomeErrorCode) {
  const std::vector<std::pair<std::optional<ErrorCode>, std::string>> words = {
      {std::nullopt, "enrolled"},        {ErrorCode::kConflict, "duplicate"}, {ErrorCode::kNoFace, "no_face"},
      {ErrorCode::kBadImage, "bad_image"}, {ErrorCode::kSpoof, "spoof"},      {ErrorCode::kCannotJudge, "cannot_judge"}};
  for (const auto& [code, word] : words) EXPECT_EQ(enroll_status_name(code), word);
  EXPECT_STREQ(error_code_name(ErrorCode::kSpoof), "spoof");
  EXPECT_STREQ(error_code_name(ErrorCode::kCannotJudge), "cannot_judge");
}

TEST(Engine, EnrollsAndRecognisesAFaceFromTheSamplePhotos) {
  FACEID_REQUIRE_MODELS();
  auto engine = Engine::open(config_for(":memory:"));
  const cv::Mat group = load_image(sample(1));
  const auto faces = engine->detect(group);
  ASSERT_GE(faces.size(), 1u);
  // Enroll the largest face, cut out of the photo, then find it in the full photo.
  const cv::Rect box = cv::Rect(faces[0].box) & cv::Rect(0, 0, group.cols, group.rows);
  const cv::Rect margin = cv::Rect(box.x - box.width / 2, box.y - box.height / 2, box.width * 2, box.height * 2) &
                          cv::Rect(0, 0, group.cols, group.rows);
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", group(margin), jpeg);
  const auto outcomes = engine->enroll("sample_person", {{"crop.jpg", jpeg}});
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_EQ(outcomes[0].error, std::nullopt) << outcomes[0].message;
  const auto results = engine->identify(group);
  ASSERT_EQ(results.size(), faces.size());
  EXPECT_EQ(results[0].person.value_or("unknown"), "sample_person");
  for (std::size_t i = 1; i < results.size(); ++i)
    EXPECT_NE(results[i].person.value_or("unknown"), "sample_person") << "face " << i;
}

TEST(Engine, ReEnrollingTheSameFileIsIdempotent) {
  FACEID_REQUIRE_MODELS();
  auto engine = Engine::open(config_for(":memory:"));
  const auto first = engine->enroll("someone", {image_file(sample(2))});
  ASSERT_EQ(first[0].error, std::nullopt);
  EXPECT_GT(first[0].faces_found, 1);
  EXPECT_NE(first[0].message.find("largest"), std::string::npos);
  const auto again = engine->enroll("someone", {image_file(sample(2)), image_file(sample(2))});
  EXPECT_EQ(again[0].error, ErrorCode::kConflict);
  EXPECT_EQ(again[1].error, ErrorCode::kConflict);
  ASSERT_EQ(engine->people().size(), 1u);
  EXPECT_EQ(engine->people()[0].face_count, 1);
}

TEST(Engine, ImagesWithoutFacesAreReportedOrRejectedWhenStrict) {
  FACEID_REQUIRE_MODELS();
  auto engine = Engine::open(config_for(":memory:"));
  cv::Mat wall(480, 640, CV_8UC3, cv::Scalar(180, 170, 160));
  std::vector<std::uint8_t> jpeg;
  cv::imencode(".jpg", wall, jpeg);
  const std::string garbage = "definitely not a jpeg";
  const std::vector<EnrollImage> images = {{"wall.jpg", jpeg},
                                           {"garbage.jpg", {garbage.begin(), garbage.end()}},
                                           image_file(sample(3))};
  const auto outcomes = engine->enroll("x", images);
  EXPECT_EQ(outcomes[0].error, ErrorCode::kNoFace);
  EXPECT_EQ(outcomes[1].error, ErrorCode::kBadImage);
  EXPECT_EQ(outcomes[2].error, std::nullopt);
  EXPECT_TRUE(engine->identify(wall).empty());
  auto strict = Engine::open(config_for(":memory:"));
  try {
    strict->enroll("y", {image_file(sample(4)), {"wall.jpg", jpeg}}, true);
    FAIL() << "strict enrollment accepted an image without a face";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNoFace);
    EXPECT_NE(std::string(e.what()).find("wall.jpg"), std::string::npos);
  }
  EXPECT_TRUE(strict->people().empty()) << "a failed strict enrollment must add nothing";
}

TEST(Engine, GalleryOfAnotherModelIsRefusedUntilReindexed) {
  FACEID_REQUIRE_MODELS();
  const std::string gallery = test::temp_dir("engine") + "/g.db";
  Engine::open(config_for(gallery))->enroll("someone", {image_file(sample(5))});
  EngineConfig flipped = config_for(gallery);
  flipped.embedding.flip_augment = true;  // a different embedding model id
  auto engine = Engine::open(flipped);
  try {
    engine->identify(load_image(sample(5)));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelMismatch);
    EXPECT_NE(std::string(e.what()).find("reindex"), std::string::npos);
  }
  const ReindexReport report = engine->reindex();
  EXPECT_EQ(report.faces_reindexed, 1);
  const auto results = engine->identify(load_image(sample(5)));
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0].person.value_or("unknown"), "someone");
}

TEST(Engine, ExportImportMovesAGalleryWithoutPhotos) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("export");
  auto source = Engine::open(config_for(dir + "/a.db"));
  source->enroll("p1", {image_file(sample(1))});
  source->enroll("p2", {image_file(sample(6))});
  source->export_embeddings(dir + "/faces.json");
  auto target = Engine::open(config_for(dir + "/b.db"));
  EXPECT_EQ(target->import_embeddings(dir + "/faces.json"), 2);
  EXPECT_EQ(target->import_embeddings(dir + "/faces.json"), 0) << "importing twice must not duplicate";
  for (int i : {1, 6}) {
    const auto a = source->identify(load_image(sample(i)));
    const auto b = target->identify(load_image(sample(i)));
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t f = 0; f < a.size(); ++f) {
      EXPECT_EQ(a[f].person, b[f].person);
      EXPECT_NEAR(a[f].score, b[f].score, 1e-5);
    }
  }
}

TEST(Engine, RemoveAndRenameChangeWhoIsFound) {
  FACEID_REQUIRE_MODELS();
  auto engine = Engine::open(config_for(":memory:"));
  engine->enroll("old_name", {image_file(sample(2))});
  engine->rename_person("old_name", "new_name");
  const cv::Mat photo = load_image(sample(2));
  EXPECT_EQ(engine->identify(photo)[0].person.value_or("unknown"), "new_name");
  engine->remove_person("new_name");
  EXPECT_FALSE(engine->identify(photo)[0].person.has_value());
  try {
    engine->remove_person("nobody");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(Engine, HnswGalleryKeepsItsGraphInTheSnapshotFile) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("engine_snapshot");
  EngineConfig config = config_for(dir + "/gallery.db");
  config.index.kind = IndexKind::kHnsw;
  config.index.snapshot_file = dir + "/gallery.hnsw";
  const cv::Mat photo = load_image(sample(2));
  {
    auto engine = Engine::open(config);
    ASSERT_EQ(engine->enroll("sample_two", {image_file(sample(2))})[0].error, std::nullopt);
  }  // closing writes the graph
  ASSERT_TRUE(fs::exists(config.index.snapshot_file));
  {
    auto engine = Engine::open(config);
    EXPECT_EQ(engine->identify(photo)[0].person.value_or("unknown"), "sample_two");
  }
  // A process without the snapshot removes the person: the file is now stale...
  Engine::open(config_for(dir + "/gallery.db"))->remove_person("sample_two");
  // ...and its face is dropped when the next engine reads it against the store.
  auto engine = Engine::open(config);
  EXPECT_FALSE(engine->identify(photo)[0].person.has_value());
}

TEST(Engine, ConcurrentIdentifyGivesTheSameAnswers) {
  FACEID_REQUIRE_MODELS();
  auto engine = Engine::open(config_for(":memory:"));
  engine->enroll("a", {image_file(sample(1))});
  engine->enroll("b", {image_file(sample(3))});
  std::vector<cv::Mat> photos;
  for (int i = 1; i <= 6; ++i) photos.push_back(load_image(sample(i)));
  std::vector<std::vector<FaceResult>> serial;
  for (const auto& p : photos) serial.push_back(engine->identify(p));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2; ++round)
        for (std::size_t i = 0; i < photos.size(); ++i) {
          const auto r = engine->identify(photos[i]);
          if (r.size() != serial[i].size()) { ++mismatches[t]; continue; }
          for (std::size_t f = 0; f < r.size(); ++f)
            if (r[f].person != serial[i][f].person || std::abs(r[f].score - serial[i][f].score) > 1e-5) ++mismatches[t];
        }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(Engine, IdentifiesHeldBackLfwPhotosAndRejectsStrangers) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_DATASET(lfw, "lfw_dev");
  FACEID_REQUIRE_DATASET(unknown, "unknown_faces_dev");
  auto engine = Engine::open(config_for(":memory:"));
  std::vector<std::pair<std::string, std::string>> probes;
  for (const auto& person : kLfwPeople) {
    const auto files = photos_of(lfw, person);
    ASSERT_GE(files.size(), 8u) << person;
    std::vector<EnrollImage> gallery;
    for (std::size_t i = 0; i < 5; ++i) gallery.push_back(image_file(files[i]));
    engine->enroll(person, gallery);
    for (std::size_t i = files.size() - 3; i < files.size(); ++i) probes.emplace_back(person, files[i]);
  }
  int correct = 0;
  for (const auto& [person, file] : probes) {
    const auto faces = engine->identify(load_image(file));
    if (!faces.empty() && faces[0].person == person) ++correct;
  }
  const double rank1 = double(correct) / probes.size();
  EXPECT_GE(rank1, 0.95) << correct << "/" << probes.size();

  int false_accepts = 0, strangers = 0;
  for (const char* group : {"white", "black", "asian", "indian"}) {
    int taken = 0;
    for (const auto& e : fs::directory_iterator(fs::path(unknown) / "images" / group)) {
      if (taken++ == 10) break;
      for (const auto& face : engine->identify(load_image(e.path().string()))) {
        ++strangers;
        if (face.person) ++false_accepts;
      }
    }
  }
  ASSERT_GT(strangers, 30);
  EXPECT_LE(false_accepts, 1) << false_accepts << " of " << strangers << " never-enrolled faces were accepted";
}

TEST(Engine, VerifiesLfwPairs) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_DATASET(lfw, "lfw_dev");
  auto engine = Engine::open(config_for(":memory:"));
  std::ifstream pairs(lfw + "/pairs_paths.txt");
  std::string a, b;
  int same = 0, fold = 0, correct = 0, total = 0;
  // A fixed 200-pair subset: every 15th of the 3000 official pairs.
  for (int line = 0; pairs >> a >> b >> same >> fold; ++line) {
    if (line % 15 != 0) continue;
    ++total;
    const auto r = engine->verify(load_image(lfw + "/" + a), load_image(lfw + "/" + b));
    if (r.same_person == (same == 1)) ++correct;
  }
  ASSERT_EQ(total, 200);
  EXPECT_GT(double(correct) / total, 0.98) << correct << "/" << total;
}

}  // namespace
}  // namespace faceid
