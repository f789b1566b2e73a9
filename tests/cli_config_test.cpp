// The CLI reads its configuration through the library's one parser: every key is a --key-name
// flag, --config FILE.json gives the same keys, and a bad value is refused naming the key.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceid/config.hpp"
#include "faceid/engine.hpp"
#include "faceid/image.hpp"
#include "run_shell.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// `faceid ARGS` on an in-memory gallery with the installed models; stdout and stderr together.
test::ShellResult faceid(const std::string& args) {
  return test::run_shell(std::string(FACEID_CLI_PATH) + " --gallery :memory: --model-dir " +
                         quoted(test::model_dir()) + " " + args + " 2>&1");
}

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

// Faces reported by `identify` (one JSON line per image).
int faces_found(const std::string& output) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') return static_cast<int>(nlohmann::json::parse(line).at("faces").size());
  return -1;
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = test::temp_dir("cliconfig") + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CliConfig, EveryKeyIsAFlagInTheHelp) {
  const auto help = test::run_shell(std::string(FACEID_CLI_PATH) + " --help 2>&1");
  EXPECT_EQ(help.exit_code, 0) << help.out;
  for (const auto& key : config_keys()) {
    std::string flag = "--" + key.name;
    for (char& c : flag)
      if (c == '_') c = '-';
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from --help";
  }
  EXPECT_NE(help.out.find("--config"), std::string::npos);
}

TEST(CliConfig, NewFlagsReachTheEngine) {
  FACEID_REQUIRE_MODELS();
  const std::string photo = quoted(sample(1));
  const int by_default = faces_found(faceid("identify " + photo).out);
  ASSERT_GT(by_default, 1);  // a group photo (tests/sample_people.hpp)
  // A minimum face size above the photo's size leaves no face (a key no front-end had before).
  const auto big_minimum = faceid("--min-face-size 5000 identify " + photo);
  EXPECT_EQ(big_minimum.exit_code, 0) << big_minimum.out;
  EXPECT_EQ(faces_found(big_minimum.out), 0) << big_minimum.out;
  // After the sub-command too.
  EXPECT_EQ(faces_found(faceid("identify " + photo + " --detection-max-faces 1").out), 1);
}

TEST(CliConfig, ConfigFileGivesTheSameKeysAndFlagsOverrideIt) {
  FACEID_REQUIRE_MODELS();
  const std::string photo = quoted(sample(1));
  const std::string file = quoted(write_file("min_size.json", R"({"min_face_size": 5000, "metric": "cosine"})"));
  EXPECT_EQ(faces_found(faceid("--config " + file + " identify " + photo).out), 0);
  EXPECT_GT(faces_found(faceid("identify " + photo + " --config " + file + " --min-face-size 20").out), 0);
}

TEST(CliConfig, BadValuesNameTheKeyAndWhatItAccepts) {
  const auto low = faceid("--hnsw-m 1 people");
  EXPECT_EQ(low.exit_code, 2) << low.out;
  EXPECT_NE(low.out.find("hnsw_m: expected an integer from 2 to 512, got 1"), std::string::npos) << low.out;
  const auto metric = faceid("people --metric manhattan");
  EXPECT_EQ(metric.exit_code, 2) << metric.out;
  EXPECT_NE(metric.out.find("metric: unknown name 'manhattan' (one of: cosine, euclidean, euclidean_l2)"),
            std::string::npos)
      << metric.out;
  const std::string file = write_file("unknown.json", R"({"min_face": 40})");
  const auto unknown = faceid("--config " + quoted(file) + " people");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find(file), std::string::npos) << unknown.out;
  EXPECT_NE(unknown.out.find("unknown configuration key 'min_face'"), std::string::npos) << unknown.out;
}

// A face of a sample photo cut to its own box (touching the frame on all four sides): one the
// detector misses on the chip itself and finds on the retry's padded copy.
std::string tight_chip_found_only_by_the_retry() {
  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = test::model_dir();
  const auto retrying = Engine::open(config);
  config.detect_retry = false;
  const auto plain = Engine::open(config);
  for (int i = 1; i <= 6; ++i) {
    const cv::Mat photo = load_image(sample(i));
    for (const auto& face : retrying->detect(photo)) {
      const cv::Mat chip = photo(cv::Rect(face.box) & cv::Rect(0, 0, photo.cols, photo.rows)).clone();
      if (!plain->detect(chip).empty() || retrying->detect(chip).size() != 1) continue;
      const std::string path = test::temp_dir("cliconfig") + "/chip.png";
      EXPECT_TRUE(cv::imwrite(path, chip));
      return path;
    }
  }
  ADD_FAILURE() << "no face of the sample photos needs the retry (6 of their 22 chips did)";
  return {};
}

// The retry keys on a photo whose face is found only on the retry's padded copy: a tight chip of a
// sample face always, a CASIA lab photo whose face is cut by the frame where ../shared has it.
TEST(CliConfig, DetectorRetryKeysReachTheEngine) {
  FACEID_REQUIRE_MODELS();
  const std::string chip = tight_chip_found_only_by_the_retry();
  ASSERT_FALSE(chip.empty());
  std::vector<std::string> photos{chip};
  if (const std::string asian = test::dataset_dir("asian_faces_dev"); !asian.empty())
    photos.push_back(asian + "/images/casia5_003/casia5_003_004.png");
  const std::string file = quoted(write_file("no_retry.json", R"({"detect_retry": false})"));
  for (const auto& path : photos) {
    SCOPED_TRACE(path);
    const std::string photo = quoted(path);
    EXPECT_EQ(faces_found(faceid("identify " + photo).out), 1);
    EXPECT_EQ(faces_found(faceid("--no-detect-retry identify " + photo).out), 0);
    EXPECT_EQ(faces_found(faceid("--config " + file + " identify " + photo).out), 0);
    EXPECT_EQ(faces_found(faceid("--config " + file + " --detect-retry identify " + photo).out), 1);
  }
  const auto unknown = faceid("--fallback-detector no_such_detector identify " + quoted(chip));
  EXPECT_NE(unknown.exit_code, 0) << unknown.out;
  EXPECT_NE(unknown.out.find("no_such_detector"), std::string::npos) << unknown.out;
}

TEST(CliConfig, ServeReadsTheConfigFile) {
  // A bad key stops the server before it opens anything, naming the file and the key.
  const std::string file = write_file("serve.json", R"({"score_norm": "tnorm2"})");
  const auto r = faceid("serve --no-auth --port 0 --config " + quoted(file));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(file + ": score_norm: unknown name 'tnorm2'"), std::string::npos) << r.out;
  // The engine is opened with the file's keys: a fallback detector the manifest lacks stops it.
  const std::string fallback = write_file("serve_fallback.json", R"({"fallback_detector": "no_such_detector"})");
  const auto f = faceid("serve --no-auth --port 0 --config " + quoted(fallback));
  EXPECT_NE(f.exit_code, 0) << f.out;
  EXPECT_NE(f.out.find("unknown model 'no_such_detector'"), std::string::npos) << f.out;
}

}  // namespace
}  // namespace faceid
