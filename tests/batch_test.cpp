// Concurrent inference: a network shared by threads (DnnNetPool) and identify_files over many images.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "core/dnn_net.hpp"
#include "faceid/batch.hpp"
#include "faceid/engine.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

std::unique_ptr<Engine> open_engine() {
  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = test::model_dir();
  auto engine = Engine::open(config);
  engine->enroll("first_face_of_sample1", {{sample(1), read_file_bytes(sample(1), 64u << 20)}});
  return engine;
}

TEST(DnnNetPool, ThreadsAtOnceGetTheSameOutputsAsOneAtATime) {
  FACEID_REQUIRE_MODELS();
  const ModelSpec spec = ModelManifest::builtin().get("fr_landmark");
  const DnnNetPool pool(spec, test::model_dir() + "/" + spec.file);
  cv::Mat blob(std::vector<int>{1, 1, 64, 64}, CV_32F);
  cv::randu(blob, 0.f, 1.f);
  const auto pass = [&](cv::dnn::Net& net) {
    net.setInput(blob);
    return net.forward().clone();
  };
  const cv::Mat expected = pool.run(pass);
  std::atomic<int> mismatches{0}, busy{0}, most_busy{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        const cv::Mat got = pool.run([&](cv::dnn::Net& net) {
          most_busy = std::max(most_busy.load(), ++busy);
          cv::Mat out = pass(net);
          --busy;
          return out;
        });
        if (cv::norm(got, expected, cv::NORM_INF) != 0.0) ++mismatches;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, 0);
  EXPECT_LE(most_busy, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(DnnNetPool, AFileThatIsNoModelIsModelInvalid) {
  const std::string path = test::temp_dir("netpool") + "/broken.onnx";
  std::ofstream(path) << "not a network";
  const ModelSpec spec = ModelManifest::builtin().get("fr_landmark");
  EXPECT_EQ(test::error_of([&] { DnnNetPool pool(spec, path); }), ErrorCode::kModelInvalid);
  EXPECT_EQ(test::error_of([&] { DnnNetPool pool(spec, path + ".missing"); }), ErrorCode::kModelInvalid);
}

TEST(IdentifyFiles, ResultsComeInInputOrderAndMatchOneByOne) {
  FACEID_REQUIRE_MODELS();
  const auto engine = open_engine();
  const std::string broken = test::temp_dir("batch") + "/broken.jpg";
  std::ofstream(broken) << "not an image";
  const std::vector<std::string> files = {sample(1), sample(2), broken, sample(1), sample(2), sample(1)};
  std::vector<FileIdentification> results;
  identify_files(*engine, files, [&](const FileIdentification& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(results[i].file, files[i]);
    if (files[i] == broken) {
      ASSERT_TRUE(results[i].error);
      EXPECT_EQ(results[i].error->code(), ErrorCode::kBadImage);
      continue;
    }
    ASSERT_FALSE(results[i].error) << results[i].error->what();
    const auto alone = engine->identify(load_image(files[i]));
    ASSERT_EQ(results[i].faces.size(), alone.size());
    ASSERT_FALSE(alone.empty());
    for (std::size_t f = 0; f < alone.size(); ++f) {
      EXPECT_EQ(results[i].faces[f].person, alone[f].person);
      EXPECT_FLOAT_EQ(results[i].faces[f].score, alone[f].score);
    }
  }
  EXPECT_EQ(results[0].faces[0].person, std::optional<std::string>("first_face_of_sample1"));
}

TEST(IdentifyFiles, AFailingConsumerStopsTheRun) {
  FACEID_REQUIRE_MODELS();
  const auto engine = open_engine();
  const std::vector<std::string> files(6, sample(1));
  int handed = 0;
  EXPECT_THROW(identify_files(*engine, files,
                              [&](const FileIdentification&) {
                                if (++handed == 2) throw std::runtime_error("consumer gave up");
                              }),
               std::runtime_error);
  EXPECT_EQ(handed, 2);
}

}  // namespace
}  // namespace faceid
