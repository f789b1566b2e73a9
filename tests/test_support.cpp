#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <vector>

#include "faceid/models.hpp"

namespace fs = std::filesystem;

namespace faceid::test {

std::string model_dir() { return default_model_dir(); }

bool models_installed() {
  const auto dir = fs::path(model_dir());
  for (const char* file : {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"})
    if (!fs::exists(dir / file)) return false;
  return true;
}

std::string shared_dir() {
  if (const char* env = std::getenv("FACEID_SHARED_DIR"); env && *env)
    return fs::is_directory(env) ? std::string(env) : std::string();
  const fs::path candidate = fs::path(FACEID_SOURCE_DIR).parent_path() / "shared";
  return fs::is_directory(candidate) ? candidate.string() : std::string();
}

std::string dataset_dir(const std::string& name) {
  const std::string root = shared_dir();
  if (root.empty()) return {};
  const fs::path dir = fs::path(root) / "datasets" / name;
  return fs::is_directory(dir) ? dir.string() : std::string();
}

std::string shared_model(const std::string& file) {
  const std::string root = shared_dir();
  if (root.empty()) return {};
  const fs::path path = fs::path(root) / "models" / file;
  return fs::exists(path) ? path.string() : std::string();
}

namespace {
struct TempDirs {
  std::mutex mutex;
  std::vector<fs::path> paths;
  ~TempDirs() {
    std::error_code ignored;
    for (const auto& p : paths) fs::remove_all(p, ignored);
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() /
                       ("faceid-test-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
  fs::create_directories(dir);
  auto& dirs = temp_dirs();
  std::lock_guard<std::mutex> lock(dirs.mutex);
  dirs.paths.push_back(dir);
  return dir.string();
}

}  // namespace faceid::test
