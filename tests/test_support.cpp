#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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

std::string find_shared_dir(const std::vector<fs::path>& starts) {
  for (const auto& start : starts) {
    std::error_code ignored;
    for (fs::path dir = fs::absolute(start, ignored); !dir.empty(); dir = dir.parent_path()) {
      const fs::path candidate = dir / "shared";
      if (fs::is_directory(candidate / "datasets") || fs::is_directory(candidate / "models"))
        return candidate.string();
      if (dir == dir.parent_path()) break;
    }
  }
  return {};
}

std::string shared_dir() {
  if (const char* env = std::getenv("FACEID_SHARED_DIR"); env && *env) {
    // Set by hand: a wrong value must not turn every data test into a silent skip.
    if (fs::is_directory(fs::path(env) / "datasets") || fs::is_directory(fs::path(env) / "models")) return env;
    ADD_FAILURE() << "FACEID_SHARED_DIR=" << env << " holds neither datasets/ nor models/";
    return {};
  }
  // The build sits in (or under) a checkout whose sibling is ../shared; ctest runs in the build.
  std::error_code ignored;
  return find_shared_dir({fs::read_symlink("/proc/self/exe", ignored).parent_path(), fs::current_path(ignored)});
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

ErrorCode error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no faceid::Error thrown";
  return ErrorCode::kIo;
}

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

std::string postgres_url() {
  const char* url = std::getenv("FACEID_TEST_POSTGRES_URL");
  return url ? url : "";
}

const char* const kNoPostgres =
    "set FACEID_TEST_POSTGRES_URL to run the PostgreSQL cases (scripts/postgres_test_cluster.sh start DIR "
    "prints one for a throw-away server; scripts/test.sh does this)";

std::string unique_name(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return tag + "-" + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) + "-" +
         std::to_string(counter++);
}

ScratchPostgres::ScratchPostgres() : dir_(temp_dir("pg-cluster") + "/cluster") {
  url_ = run("start");
  while (!url_.empty() && url_.back() == '\n') url_.pop_back();
}

ScratchPostgres::~ScratchPostgres() { run("stop"); }

void ScratchPostgres::pause() { run("pause"); }

void ScratchPostgres::resume() { run("resume"); }

std::string ScratchPostgres::run(const std::string& command) {
  const std::string line = std::string(FACEID_SOURCE_DIR) + "/scripts/postgres_test_cluster.sh " + command + " " + dir_;
  std::string output;
  FILE* pipe = popen(line.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "cannot run " << line;
    return output;
  }
  char buffer[256];
  while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
  if (pclose(pipe) != 0) ADD_FAILURE() << line << " failed";
  return output;
}

}  // namespace faceid::test
