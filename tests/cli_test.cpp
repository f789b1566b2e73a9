// The `faceid` binary as a user or a script drives it: exit codes, output, crash safety.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "faceid/store.hpp"
#include "run_shell.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

test::ShellResult run_cli(const std::string& gallery, const std::string& args) {
  return test::run_shell(std::string(FACEID_CLI_PATH) + " --gallery '" + gallery + "' --model-dir '" +
                         test::model_dir() + "' " + args + " 2>/dev/null");
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

// DB/<person>/<person><k>.jpg, the layout the team already uses.
std::string make_people_folder(const std::string& root, const std::map<std::string, std::vector<std::string>>& people) {
  for (const auto& [person, files] : people) {
    fs::create_directories(fs::path(root) / person);
    for (std::size_t k = 0; k < files.size(); ++k)
      fs::copy_file(files[k], fs::path(root) / person / (person + std::to_string(k + 1) + ".jpg"));
  }
  return root;
}

TEST(Cli, VerifyExitStatusTellsSameDifferentOrError) {
  FACEID_REQUIRE_MODELS();
  const std::string gallery = test::temp_dir("cli") + "/g.db";
  const auto same = run_cli(gallery, "verify " + sample(1) + " " + sample(1));
  EXPECT_EQ(same.exit_code, 0);
  const auto j = json_lines(same.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(j[0]["same_person"].get<bool>());
  EXPECT_EQ(j[0]["metric"], "cosine");
  EXPECT_EQ(run_cli(gallery, "verify " + sample(1) + " /nonexistent.jpg").exit_code, 2);
  EXPECT_EQ(run_cli(gallery, "verify " + sample(1)).exit_code, 2) << "one image is a usage error";
}

TEST(Cli, VerifyTellsDifferentPeopleApart) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_DATASET(lfw, "lfw_dev");
  const std::string gallery = test::temp_dir("cli") + "/g.db";
  const std::string a = lfw + "/images/Colin_Powell/Colin_Powell_0001.jpg";
  const std::string b = lfw + "/images/Colin_Powell/Colin_Powell_0002.jpg";
  const std::string c = lfw + "/images/Laura_Bush/Laura_Bush_0001.jpg";
  EXPECT_EQ(run_cli(gallery, "verify " + a + " " + b).exit_code, 0);
  EXPECT_EQ(run_cli(gallery, "verify " + a + " " + c).exit_code, 1);
  EXPECT_EQ(run_cli(gallery, "--format table verify " + a + " " + c).exit_code, 1);
}

TEST(Cli, EnrollFromPeopleFolderThenIdentify) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  const std::string gallery = dir + "/g.db";
  make_people_folder(dir + "/db", {{"alice", {sample(1)}}, {"bob", {sample(3)}}});
  const auto enrolled = run_cli(gallery, "enroll --from-dir " + dir + "/db");
  EXPECT_EQ(enrolled.exit_code, 0);
  const auto outcomes = json_lines(enrolled.out);
  ASSERT_EQ(outcomes.size(), 2u);
  for (const auto& o : outcomes) EXPECT_EQ(o["status"], "enrolled");
  // Idempotent: the same files again add nothing.
  const auto again = json_lines(run_cli(gallery, "enroll --from-dir " + dir + "/db").out);
  for (const auto& o : again) EXPECT_EQ(o["status"], "duplicate");
  const auto people = json_lines(run_cli(gallery, "people").out);
  ASSERT_EQ(people.size(), 2u);
  EXPECT_EQ(people[0]["faces"], 1);

  const auto identified = run_cli(gallery, "identify " + sample(1) + " " + sample(3));
  EXPECT_EQ(identified.exit_code, 0);
  const auto lines = json_lines(identified.out);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_FALSE(lines[0]["faces"].empty());
  EXPECT_EQ(lines[0]["faces"][0]["person"], "alice");
  EXPECT_EQ(lines[1]["faces"][0]["person"], "bob");
  EXPECT_EQ(lines[0]["faces"][0]["landmarks"].size(), 5u);
  EXPECT_TRUE(lines[0]["faces"][0].contains("runner_up"));

  EXPECT_EQ(run_cli(gallery, "rename alice carol").exit_code, 0);
  EXPECT_EQ(run_cli(gallery, "rename nobody x").exit_code, 2);
  EXPECT_EQ(run_cli(gallery, "remove bob").exit_code, 0);
  const auto after = json_lines(run_cli(gallery, "people").out);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["person"], "carol");
}

TEST(Cli, IdentifyReportsUnreadableImagesWithoutStopping) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  std::ofstream(dir + "/broken.jpg") << "\xFF\xD8 truncated";
  const auto result = run_cli(dir + "/g.db", "identify " + dir + "/broken.jpg " + sample(2));
  EXPECT_EQ(result.exit_code, 1);
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["error"]["code"], "bad_image");
  EXPECT_GT(lines[1]["faces"].size(), 1u);
  for (const auto& face : lines[1]["faces"]) EXPECT_EQ(face["person"], "unknown");
}

TEST(Cli, CorruptGalleryIsAClearError) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  std::ofstream(dir + "/g.db") << std::string(4096, 'x');
  EXPECT_EQ(run_cli(dir + "/g.db", "people").exit_code, 2);
  EXPECT_EQ(run_cli(dir + "/g.db", "identify " + sample(1)).exit_code, 2);
}

TEST(Cli, KillingEnrollmentMidwayLeavesAConsistentGallery) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  const std::string gallery = dir + "/g.db";
  make_people_folder(dir + "/db", {{"p1", {sample(1), sample(2)}}, {"p2", {sample(3), sample(4)}},
                                   {"p3", {sample(5), sample(6)}}});
  for (int delay_ms : {150, 400, 900}) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      execl(FACEID_CLI_PATH, FACEID_CLI_PATH, "--gallery", gallery.c_str(), "--model-dir", test::model_dir().c_str(),
            "enroll", "--from-dir", (dir + "/db").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    // Each person is one transaction: all their photos or none.
    for (const auto& p : open_store(gallery)->people()) EXPECT_EQ(p.face_count, 2) << p.name;
  }
  EXPECT_EQ(run_cli(gallery, "enroll --from-dir " + dir + "/db").exit_code, 0);
  const auto people = json_lines(run_cli(gallery, "people").out);
  EXPECT_EQ(people.size(), 3u);
}

}  // namespace
}  // namespace faceid
