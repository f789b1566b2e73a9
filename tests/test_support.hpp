#pragma once
// Locating the installed models and the optional ../shared datasets from tests.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "faceid/error.hpp"

namespace faceid::test {

// Folder holding the installed default models ($FACEID_MODEL_DIR or the default cache).
std::string model_dir();
// True when the default models are installed; tests that need them fail otherwise,
// because set-up (scripts/setup.sh) always installs them.
bool models_installed();
// $FACEID_SHARED_DIR (a test failure when it is set but holds no data), else the first
// <ancestor>/shared (with datasets/ or models/) above the test program or the working folder:
// ../shared next to the checkout the build lives in. "" when absent.
std::string shared_dir();
// The first <ancestor>/shared above any of `starts`, "" when none.
std::string find_shared_dir(const std::vector<std::filesystem::path>& starts);
// ../shared/datasets/<name>, "" when absent.
std::string dataset_dir(const std::string& name);
// ../shared/models/<file>, "" when absent.
std::string shared_model(const std::string& file);
// The code of the faceid::Error that `action` throws; a test failure when it throws none.
ErrorCode error_of(const std::function<void()>& action);
// A fresh empty folder under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

// $FACEID_TEST_POSTGRES_URL: a PostgreSQL database the tests may use, "" when unset.
std::string postgres_url();
// Why PostgreSQL cases are skipped when postgres_url() is "".
extern const char* const kNoPostgres;
// A name (for a gallery or collection) no other test, process or earlier run uses.
std::string unique_name(const std::string& tag);

// A PostgreSQL server of its own (scripts/postgres_test_cluster.sh), for tests that stop it.
class ScratchPostgres {
 public:
  ScratchPostgres();
  ~ScratchPostgres();
  ScratchPostgres(const ScratchPostgres&) = delete;
  ScratchPostgres& operator=(const ScratchPostgres&) = delete;
  const std::string& url() const { return url_; }
  void pause();   // stops the server, keeps its data
  void resume();  // starts it again on the same port

 private:
  std::string run(const std::string& command);
  std::string dir_;
  std::string url_;
};

}  // namespace faceid::test

namespace faceid {
// gtest prints an ErrorCode, and an optional one, by its name.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << error_code_name(code); }
}  // namespace faceid

#define FACEID_REQUIRE_MODELS()                                                             \
  do {                                                                                      \
    if (!::faceid::test::models_installed())                                                \
      FAIL() << "default models are not installed in " << ::faceid::test::model_dir()      \
             << ": run scripts/setup.sh (or `faceid models install`) first";                \
  } while (0)

#define FACEID_REQUIRE_POSTGRES() \
  if (::faceid::test::postgres_url().empty()) GTEST_SKIP() << ::faceid::test::kNoPostgres

#define FACEID_REQUIRE_DATASET(var, name)                                                   \
  const std::string var = ::faceid::test::dataset_dir(name);                                \
  if (var.empty())                                                                          \
    GTEST_SKIP() << "needs ../shared/datasets/" << (name)                                   \
                 << " (development data, absent on this machine)"

#define FACEID_REQUIRE_SHARED_MODEL(var, file)                                              \
  const std::string var = ::faceid::test::shared_model(file);                               \
  if (var.empty())                                                                          \
    GTEST_SKIP() << "needs ../shared/models/" << (file) << " (absent on this machine)"
