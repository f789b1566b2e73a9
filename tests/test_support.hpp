#pragma once
// Locating the installed models and the optional ../shared datasets from tests.
#include <string>

#include <gtest/gtest.h>

namespace faceid::test {

// Folder holding the installed default models ($FACEID_MODEL_DIR or the default cache).
std::string model_dir();
// True when the default models are installed; tests that need them fail otherwise,
// because set-up (scripts/setup.sh) always installs them.
bool models_installed();
// ../shared next to the source tree, or $FACEID_SHARED_DIR. "" when absent.
std::string shared_dir();
// ../shared/datasets/<name>, "" when absent.
std::string dataset_dir(const std::string& name);
// ../shared/models/<file>, "" when absent.
std::string shared_model(const std::string& file);
// A fresh empty folder under the system temp dir, removed at process exit.
std::string temp_dir(const std::string& tag);

}  // namespace faceid::test

#define FACEID_REQUIRE_MODELS()                                                             \
  do {                                                                                      \
    if (!::faceid::test::models_installed())                                                \
      FAIL() << "default models are not installed in " << ::faceid::test::model_dir()      \
             << ": run scripts/setup.sh (or `faceid models install`) first";                \
  } while (0)

#define FACEID_REQUIRE_DATASET(var, name)                                                   \
  const std::string var = ::faceid::test::dataset_dir(name);                                \
  if (var.empty())                                                                          \
    GTEST_SKIP() << "needs ../shared/datasets/" << (name)                                   \
                 << " (development data, absent on this machine)"

#define FACEID_REQUIRE_SHARED_MODEL(var, file)                                              \
  const std::string var = ::faceid::test::shared_model(file);                               \
  if (var.empty())                                                                          \
    GTEST_SKIP() << "needs ../shared/models/" << (file) << " (absent on this machine)"
