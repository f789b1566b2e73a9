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
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli_support.hpp"
#include "faceid/store.hpp"
#include "run_shell.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

using test::json_lines;
using test::make_people_folder;
using test::run_cli;

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

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

// Who is who in the sample photos: sample_people.hpp (alice: subject of sample1 and sample3).
TEST(Cli, VerifyTellsDifferentPeopleApart) {
  FACEID_REQUIRE_MODELS();
  const std::string gallery = test::temp_dir("cli") + "/g.db";
  const auto same = run_cli(gallery, "verify " + sample(1) + " " + sample(3));
  EXPECT_EQ(same.exit_code, 0) << same.out;
  const auto different = run_cli(gallery, "verify " + sample(1) + " " + sample(4));
  EXPECT_EQ(different.exit_code, 1) << different.out;
  const auto j = json_lines(different.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_FALSE(j[0]["same_person"].get<bool>());
  EXPECT_LT(j[0]["score"].get<double>(), j[0]["threshold"].get<double>());
  EXPECT_EQ(run_cli(gallery, "--format table verify " + sample(1) + " " + sample(4)).exit_code, 1);
}

TEST(Cli, EnrollFromPeopleFolderThenIdentify) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  const std::string gallery = dir + "/g.db";
  make_people_folder(dir + "/db", {{"alice", {sample(1)}}, {"bea", {sample(4)}}});
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

  // Photos never enrolled: alice in sample3 (her other photo), strangers in sample5.
  const auto identified = run_cli(gallery, "identify " + sample(3) + " " + sample(5));
  EXPECT_EQ(identified.exit_code, 0);
  const auto lines = json_lines(identified.out);
  ASSERT_EQ(lines.size(), 2u);
  ASSERT_EQ(lines[0]["faces"].size(), 3u);
  auto area = [](const nlohmann::json& face) { return face["box"]["width"].get<double>() * face["box"]["height"].get<double>(); };
  const nlohmann::json* subject = &lines[0]["faces"][0];
  for (const auto& face : lines[0]["faces"])
    if (area(face) > area(*subject)) subject = &face;
  EXPECT_EQ((*subject)["person"], "alice") << subject->dump();
  EXPECT_EQ((*subject)["landmarks"].size(), 5u);
  ASSERT_GE((*subject)["candidates"].size(), 2u) << "best and runner-up by default";
  EXPECT_EQ((*subject)["candidates"][1]["person"], "bea");
  ASSERT_EQ(lines[1]["faces"].size(), 5u);
  for (const auto& face : lines[1]["faces"]) EXPECT_TRUE(face["unknown"].get<bool>() && face["person"].is_null()) << face.dump();

  EXPECT_EQ(run_cli(gallery, "rename alice carol").exit_code, 0);
  EXPECT_EQ(run_cli(gallery, "rename nobody x").exit_code, 2);
  EXPECT_EQ(run_cli(gallery, "remove bea").exit_code, 0);
  const auto after = json_lines(run_cli(gallery, "people").out);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["person"], "carol");
  const auto renamed = json_lines(run_cli(gallery, "identify " + sample(3)).out);
  ASSERT_EQ(renamed.size(), 1u);
  int carols = 0;
  for (const auto& face : renamed[0]["faces"]) carols += face["person"] == "carol";
  EXPECT_EQ(carols, 1) << "the renamed person is found under her new name";
}

TEST(Cli, EnrollJsonNamesTheErrorCodeOfEverySkippedImage) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli_codes");
  std::ofstream(dir + "/broken.jpg") << "\xFF\xD8 truncated";
  ASSERT_TRUE(cv::imwrite(dir + "/blank.jpg", cv::Mat(240, 240, CV_8UC3, cv::Scalar(128, 128, 128))));
  const auto result = run_cli(dir + "/g.db", "enroll --name ann " + sample(1) + " " + sample(1) + " " + dir +
                                                 "/blank.jpg " + dir + "/broken.jpg");
  EXPECT_EQ(result.exit_code, 2) << "an undecodable image";
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 4u) << result.out;
  EXPECT_EQ(lines[0].at("status"), "enrolled");
  EXPECT_FALSE(lines[0].contains("code")) << lines[0].dump();
  const std::vector<std::pair<std::string, std::string>> skipped = {
      {"duplicate", "conflict"}, {"no_face", "no_face"}, {"bad_image", "bad_image"}};
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    EXPECT_EQ(lines[i + 1].at("status"), skipped[i].first) << lines[i + 1].dump();
    EXPECT_EQ(lines[i + 1].at("code"), skipped[i].second) << lines[i + 1].dump();
  }
}

TEST(Cli, IdentifyReportsUnreadableImagesWithoutStopping) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli");
  std::ofstream(dir + "/broken.jpg") << "\xFF\xD8 truncated";
  const auto result = run_cli(dir + "/g.db", "identify " + dir + "/broken.jpg " + sample(2));
  EXPECT_EQ(result.exit_code, 2) << "an undecodable image is an error, as in verify";
  const auto lines = json_lines(result.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["error"]["code"], "bad_image");
  EXPECT_EQ(lines[1]["faces"].size(), 3u) << "sample2 shows three women";
  for (const auto& face : lines[1]["faces"]) EXPECT_TRUE(face["unknown"].get<bool>() && face["person"].is_null());
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
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl(FACEID_CLI_PATH, FACEID_CLI_PATH, "--gallery", gallery.c_str(), "--model-dir", test::model_dir().c_str(),
          "enroll", "--from-dir", (dir + "/db").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill as soon as the first person is committed: the others are still being embedded then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::size_t committed = 0;
  while (committed == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!fs::exists(gallery)) continue;
    try {
      committed = open_store(gallery)->people().size();
    } catch (const Error&) {
      // The gallery file exists but its schema is not written yet.
    }
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "enrollment finished before the kill";
  // Each person is one transaction: all their photos or none, and the kill landed mid-run.
  const auto people_left = open_store(gallery)->people();
  EXPECT_GT(people_left.size(), 0u);
  EXPECT_LT(people_left.size(), 3u);
  for (const auto& p : people_left) EXPECT_EQ(p.face_count, 2) << p.name;
  EXPECT_EQ(run_cli(gallery, "enroll --from-dir " + dir + "/db").exit_code, 0);
  const auto people = json_lines(run_cli(gallery, "people").out);
  EXPECT_EQ(people.size(), 3u);
}

TEST(Cli, LivenessReportsALiveScoreAndRefusesAPrintedPhoto) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  if (!fs::exists(fs::path(test::model_dir()) / "fr_liveness.onnx"))
    FAIL() << "fr_liveness.onnx is not installed: run `faceid models install`";
  const std::string gallery = test::temp_dir("cli_liveness") + "/g.db";
  const std::string real = spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg";
  const std::string print = spoof + "/images/spoof/nuaa/0004_0004_01_01_03_0.jpg";
  ASSERT_TRUE(fs::exists(print));
  ASSERT_EQ(run_cli(gallery, "enroll --liveness --name s0004 " + real).exit_code, 0);
  const auto refused = json_lines(run_cli(gallery, "enroll --liveness --name s0004 " + print).out);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].at("status"), "spoof") << refused[0].dump();
  EXPECT_EQ(refused[0].at("code"), "spoof") << refused[0].dump();
  EXPECT_FALSE(refused[0].at("live").at("is_live").get<bool>());

  const auto attack = json_lines(run_cli(gallery, "identify --liveness " + print).out);
  ASSERT_EQ(attack.size(), 1u);
  ASSERT_FALSE(attack[0].at("faces").empty()) << attack[0].dump();
  const auto& face = attack[0].at("faces")[0];
  EXPECT_EQ(face.at("status"), "spoof") << face.dump();
  EXPECT_TRUE(face.at("person").is_null()) << "a spoof is never named: " << face.dump();
  EXPECT_LT(face.at("live").at("score").get<double>(), face.at("live").at("threshold").get<double>());
  const auto plain = json_lines(run_cli(gallery, "identify " + print).out);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].at("faces")[0].contains("live")) << "no liveness unless asked";

  const auto live = json_lines(run_cli(gallery, "identify --liveness " + real).out);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].at("faces")[0].at("person"), "s0004") << live[0].dump();
  EXPECT_TRUE(live[0].at("faces")[0].at("live").at("is_live").get<bool>());

  // A face too small for the model: "live" is null with the reason, and the exit status stays 0.
  const std::string small = test::temp_dir("cli_liveness_small") + "/small.jpg";
  cv::Mat tiny;
  // The detector still finds a face of ~30 px in a 320x240 frame; liveness needs 32.
  cv::resize(cv::imread(real), tiny, {}, 0.16, 0.16, cv::INTER_AREA);
  cv::Mat canvas(240, 320, CV_8UC3, cv::Scalar(90, 110, 130));
  tiny.copyTo(canvas(cv::Rect(100, 60, tiny.cols, tiny.rows)));
  cv::imwrite(small, canvas);
  const auto unjudged = run_cli(gallery, "identify --liveness " + small);
  const auto lines = json_lines(unjudged.out);
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_FALSE(lines[0].at("faces").empty()) << lines[0].dump();
  EXPECT_TRUE(lines[0].at("faces")[0].at("live").is_null()) << lines[0].dump();
  EXPECT_NE(lines[0].at("faces")[0].at("live_reason").get<std::string>().find("too small"), std::string::npos);
  EXPECT_NE(lines[0].at("faces")[0].at("person"), "s0004");
}

}  // namespace
}  // namespace faceid
