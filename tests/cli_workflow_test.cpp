// The `faceid` workflows without a test before: eval (verify, identify, --by-group, --grid),
// calibrate (writes the manifest, verify then uses it), export / import / reindex, --format
// table, models list | dir. All on the installed sample photos (who is who: sample_people.hpp).
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cli_support.hpp"
#include "faceid/engine.hpp"
#include "faceid/image.hpp"
#include "faceid/models.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

using test::json_lines;
using test::run_cli;

// images/<person>/<person>_000k.jpg: alice = sample1, its mirror, sample3, its mirror (the same
// woman, sample_people.hpp); p2, p4, p5, p6 = the subjects of sample2, 4, 5, 6, four other women.
// pairs.txt: every pair, genuine when the folder is the same, folds alternating 1 / 2;
// groups.tsv: two made-up groups, for --by-group.
struct SampleDataset {
  std::string root;
  std::vector<std::pair<std::string, std::string>> images;  // person, path relative to root
  int genuine = 0, impostor = 0;

  SampleDataset() : root(test::temp_dir("sample-dataset")) {
    const std::map<int, std::string> who = {{1, "alice"}, {2, "p2"}, {3, "alice"}, {4, "p4"}, {5, "p5"}, {6, "p6"}};
    std::map<std::string, int> count;
    for (const auto& [i, person] : who) {
      const cv::Mat photo = load_image(test::sample_photo(i));
      std::vector<cv::Mat> versions = {photo};
      if (person == "alice") versions.push_back(mirrored(photo));
      for (const auto& version : versions) {
        char name[64];
        std::snprintf(name, sizeof name, "%s_%04d.jpg", person.c_str(), ++count[person]);
        const std::string relative = "images/" + person + "/" + name;
        fs::create_directories(fs::path(root) / "images" / person);
        cv::imwrite(root + "/" + relative, version);
        images.emplace_back(person, relative);
      }
    }
    std::ofstream pairs(root + "/pairs.txt");
    int line = 0;
    for (std::size_t a = 0; a < images.size(); ++a)
      for (std::size_t b = a + 1; b < images.size(); ++b) {
        const bool same = images[a].first == images[b].first;
        (same ? genuine : impostor)++;
        pairs << images[a].second << " " << images[b].second << " " << same << " " << (line++ % 2 + 1) << "\n";
      }
    std::ofstream(root + "/groups.tsv") << "identity\tethnicity\tn_images\nalice\tgroup_a\t4\np2\tgroup_b\t1\n"
                                           "p4\tgroup_b\t1\np5\tgroup_a\t1\np6\tgroup_a\t1\n";
  }
  static cv::Mat mirrored(const cv::Mat& image) {
    cv::Mat out;
    cv::flip(image, out, 1);
    return out;
  }
  std::string path(const std::string& relative) const { return root + "/" + relative; }
};

// A model folder of its own (links to the installed models), for commands that write into it.
std::string scratch_model_dir() {
  const std::string dir = test::temp_dir("models");
  for (const char* file : {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"})
    fs::create_symlink(fs::path(test::model_dir()) / file, fs::path(dir) / file);
  return dir;
}

// alice from sample1.jpg, bea from sample4.jpg (sample_people.hpp).
void enroll_alice_and_bea(const std::string& gallery) {
  ASSERT_EQ(run_cli(gallery, "enroll --name alice " + test::sample_photo(1)).exit_code, 0);
  ASSERT_EQ(run_cli(gallery, "enroll --name bea " + test::sample_photo(4)).exit_code, 0);
}

TEST(CliEval, VerifyEndToEndWithGroupsSeparatesTheSamplePeople) {
  FACEID_REQUIRE_MODELS();
  const SampleDataset data;
  const auto run = run_cli(data.root + "/g.db", "eval verify --pairs " + data.root + "/pairs.txt --no-cache --by-group " +
                                                    data.root + "/groups.tsv");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto& r = lines[0];
  EXPECT_EQ(r["pairs"], data.genuine + data.impostor);
  EXPECT_EQ(r["genuine"], data.genuine);
  EXPECT_EQ(r["failed_genuine"], 0);
  // Every genuine pair (>= 0.70) scores above every impostor (<= 0.40): AUC 1, EER 0, and each
  // fold's threshold, chosen on the other fold, separates them.
  EXPECT_DOUBLE_EQ(r["auc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["eer"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(r["accuracy"]["mean"].get<double>(), 1.0);
  ASSERT_EQ(r["accuracy"]["folds"].size(), 2u);
  std::map<std::string, nlohmann::json> groups;
  for (const auto& g : r["groups"]) groups[g["group"]] = g;
  ASSERT_TRUE(groups.count("group_a") && groups.count("group_b") && groups.count("mixed")) << r["groups"].dump();
  // group_a: alice's 6 genuine pairs, alice x p5/p6 and p5 x p6: C(6,2) = 15 pairs.
  EXPECT_EQ(groups["group_a"]["pairs"], 15);
  EXPECT_EQ(groups["group_b"]["pairs"], 1);
  EXPECT_DOUBLE_EQ(groups["group_a"]["auc"].get<double>(), 1.0);
}

TEST(CliEval, GridRunsEveryCombinationAskedFor) {
  FACEID_REQUIRE_MODELS();
  const SampleDataset data;
  const auto run = run_cli(data.root + "/g.db", "eval verify --pairs " + data.root +
                                                    "/pairs.txt --no-cache --grid --detectors ultraface_rfb320 "
                                                    "--embedders fr_feature --metrics cosine euclidean_l2 --align on off "
                                                    "--flip off");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 4u);
  std::set<std::pair<std::string, bool>> seen;
  for (const auto& r : lines) {
    seen.insert({r["metric"].get<std::string>(), r["align"].get<bool>()});
    EXPECT_EQ(r["flip"], false);
    EXPECT_EQ(r["pairs"], data.genuine + data.impostor);
    // Aligned, the sample people are fully separated under either metric.
    if (r["align"].get<bool>()) EXPECT_DOUBLE_EQ(r["auc"].get<double>(), 1.0) << r["metric"];
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(CliEval, IdentifyFindsAliceAndRejectsStrangers) {
  FACEID_REQUIRE_MODELS();
  const SampleDataset data;
  std::ofstream(data.root + "/id.tsv") << "path\tidentity\trole\n"
                                          "images/alice/alice_0001.jpg\talice\tgallery\n"
                                          "images/p4/p4_0001.jpg\tp4\tgallery\n"
                                          "images/alice/alice_0003.jpg\talice\tprobe_known\n"
                                          "images/p5/p5_0001.jpg\tp5\tprobe_unknown\n"
                                          "images/p6/p6_0001.jpg\tp6\tprobe_unknown\n";
  const auto run = run_cli(data.root + "/g.db", "eval identify --protocol " + data.root +
                                                    "/id.tsv --no-cache --gallery-sizes 1 --policies max mean --by-group " +
                                                    data.root + "/groups.tsv");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto lines = json_lines(run.out);
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& r : lines) {
    EXPECT_EQ(r["enrolled_people"], 2);
    EXPECT_EQ(r["known_probes"], 1);
    EXPECT_EQ(r["unknown_probes"], 2);
    EXPECT_DOUBLE_EQ(r["rank1"].get<double>(), 1.0) << r["policy"];
    EXPECT_DOUBLE_EQ(r["groups"]["group_a"]["rank1"].get<double>(), 1.0);
  }
}

TEST(CliCalibrate, WritesTheManifestThatVerifyThenUses) {
  FACEID_REQUIRE_MODELS();
  const SampleDataset data;
  const std::string models = scratch_model_dir();
  const std::string gallery = data.root + "/g.db";
  const std::string alice = data.path("images/alice/alice_0001.jpg");
  const std::string profile = data.path("images/p2/p2_0001.jpg");
  // At the shipped 0.289, the profile of p2 passes for alice (0.31, sample_people.hpp).
  const auto before = json_lines(run_cli(gallery, "verify " + alice + " " + profile, models).out);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_FLOAT_EQ(before[0]["threshold"].get<float>(), 0.289f);
  ASSERT_TRUE(before[0]["same_person"].get<bool>());

  const auto calibrated = run_cli(gallery, "calibrate --pairs " + data.root + "/pairs.txt --far 0.05 --no-cache", models);
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.out;
  const auto report = json_lines(calibrated.out);
  ASSERT_EQ(report.size(), 1u);
  const double threshold = report[0]["threshold"].get<double>();
  EXPECT_LE(report[0]["achieved_far"].get<double>(), 0.05);
  EXPECT_GT(threshold, 0.35);
  EXPECT_LT(threshold, 0.70) << "no genuine pair may be lost";
  const auto manifest = ModelManifest::load(models + "/manifest.json");
  EXPECT_FLOAT_EQ(manifest.get("fr_feature").thresholds.at("cosine"), static_cast<float>(threshold));

  const auto after = run_cli(gallery, "verify " + alice + " " + profile, models);
  EXPECT_EQ(after.exit_code, 1) << after.out;
  const auto j = json_lines(after.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_NEAR(j[0]["threshold"].get<double>(), threshold, 1e-4);
  EXPECT_EQ(run_cli(gallery, "verify " + alice + " " + data.path("images/alice/alice_0003.jpg"), models).exit_code, 0);
}

TEST(CliGallery, ExportImportAndReindexKeepWhoIsFound) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli-gallery");
  const std::string gallery = dir + "/a.db";
  enroll_alice_and_bea(gallery);
  ASSERT_EQ(run_cli(gallery, "export " + dir + "/faces.json").exit_code, 0);
  const auto exported = nlohmann::json::parse(std::ifstream(dir + "/faces.json"));
  ASSERT_EQ(exported["people"].size(), 2u);
  for (const auto& person : exported["people"]) {
    ASSERT_EQ(person["faces"].size(), 1u);
    // Embeddings and where they came from, never the photo or the crop.
    for (const auto& [key, value] : person["faces"][0].items())
      EXPECT_TRUE(key == "embedding" || key == "norm" || key == "sha256" || key == "source") << key;
  }

  auto subject_person = [&](const std::string& g) {
    const auto lines = json_lines(run_cli(g, "identify " + test::sample_photo(3)).out);
    if (lines.size() != 1) return std::string("no output");
    const nlohmann::json* best = nullptr;
    for (const auto& face : lines[0]["faces"])
      if (!best || face["box"]["width"].get<double>() * face["box"]["height"].get<double>() >
                       (*best)["box"]["width"].get<double>() * (*best)["box"]["height"].get<double>())
        best = &face;
    if (!best) return std::string("no face");
    return (*best)["person"].is_string() ? (*best)["person"].get<std::string>() : std::string("unknown");
  };
  const std::string copy = dir + "/b.db";
  ASSERT_EQ(run_cli(copy, "import " + dir + "/faces.json").exit_code, 0);
  const auto people = json_lines(run_cli(copy, "people").out);
  ASSERT_EQ(people.size(), 2u);
  EXPECT_EQ(subject_person(copy), "alice") << "the imported gallery finds alice in her other photo";

  const auto reindexed = run_cli(gallery, "reindex");
  ASSERT_EQ(reindexed.exit_code, 0) << reindexed.out;
  const auto report = json_lines(reindexed.out);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0]["faces_reindexed"], 2);
  EXPECT_EQ(subject_person(gallery), "alice") << "recomputed from the stored crops, alice is still found";
}

TEST(CliAudit, ListsEveryWriteWithTheCliUserNewestFirst) {
  FACEID_REQUIRE_MODELS();
  const std::string gallery = test::temp_dir("cli-audit") + "/g.db";
  enroll_alice_and_bea(gallery);
  ASSERT_EQ(run_cli(gallery, "rename bea bee").exit_code, 0);
  ASSERT_EQ(run_cli(gallery, "remove alice").exit_code, 0);
  ASSERT_NE(run_cli(gallery, "remove nobody").exit_code, 0);  // a failed write is not logged

  const passwd* user = getpwuid(geteuid());
  ASSERT_NE(user, nullptr);
  const std::string actor = std::string("cli:") + user->pw_name;
  const auto run = run_cli(gallery, "audit");
  ASSERT_EQ(run.exit_code, 0);
  const auto entries = json_lines(run.out);
  ASSERT_EQ(entries.size(), 4u) << run.out;
  const std::vector<std::string> actions = {"remove_person", "rename", "enroll", "enroll"};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i]["action"], actions[i]) << entries[i];
    EXPECT_EQ(entries[i]["actor"], actor) << entries[i];
    EXPECT_TRUE(entries[i]["collection"].is_null()) << entries[i];
  }
  EXPECT_EQ(entries[3]["person"], "alice");
  EXPECT_EQ(entries[3]["face_count"], 1);
  EXPECT_EQ(entries[3]["face_ids"].size(), 1u);
  EXPECT_EQ(entries[1]["person"], "bea");
  EXPECT_EQ(entries[1]["new_name"], "bee");
  EXPECT_EQ(entries[0]["face_ids"], entries[3]["face_ids"]) << "alice's removal names her face";

  EXPECT_EQ(json_lines(run_cli(gallery, "audit --limit 1").out).size(), 1u);
  const std::string at = entries[3]["at"];
  EXPECT_EQ(json_lines(run_cli(gallery, "audit --since " + at).out).size(), 4u);
  EXPECT_TRUE(json_lines(run_cli(gallery, "audit --since 2999-01-01").out).empty());
  EXPECT_EQ(run_cli(gallery, "audit --since yesterday").exit_code, 2);
  EXPECT_EQ(run_cli(gallery, "audit --limit 100000").exit_code, 2);
  const auto table = run_cli(gallery, "--format table audit");
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("ACTOR"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("bea -> bee"), std::string::npos) << table.out;
}

TEST(CliOutput, TableFormatHasAHeaderAndOneRowPerFace) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli-table");
  const std::string gallery = dir + "/g.db";
  ASSERT_EQ(run_cli(gallery, "enroll --name alice " + test::sample_photo(1)).exit_code, 0);
  const auto run = run_cli(gallery, "--format table identify " + test::sample_photo(3));
  ASSERT_EQ(run.exit_code, 0);
  std::istringstream in(run.out);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) cells.push_back(w);
    if (!cells.empty()) rows.push_back(cells);
  }
  ASSERT_GE(rows.size(), 4u) << run.out;
  int alice = 0, unknown = 0;
  for (const auto& row : rows) {
    for (const auto& cell : row) {
      alice += cell == "alice";
      unknown += cell == "unknown";
    }
  }
  EXPECT_EQ(alice, 1) << run.out;
  EXPECT_EQ(unknown, 2) << run.out;
}

TEST(CliModels, DirAndListTellWhatIsInstalled) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli-models");
  const auto where = run_cli(dir + "/g.db", "models dir");
  ASSERT_EQ(where.exit_code, 0);
  EXPECT_NE(where.out.find(test::model_dir()), std::string::npos) << where.out;
  const auto listed = run_cli(dir + "/g.db", "models list");
  ASSERT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("fr_feature"), std::string::npos) << listed.out;
  const std::string empty = test::temp_dir("cli-no-models");
  const auto none = run_cli(dir + "/g.db", "models list", empty);
  EXPECT_NE(none.out, listed.out) << "an empty model folder must not list the models as usable";
}

// Video on what set-up installs: clips made from the sample photos.
TEST(CliVideo, WatchNamesAliceInAClipOfHerOtherPhoto) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli-watch");
  const std::string gallery = dir + "/g.db";
  enroll_alice_and_bea(gallery);
  test::write_clip(dir + "/sample3.mp4", load_image(test::sample_photo(3)), 60);
  const auto run = run_cli(gallery, "watch " + dir + "/sample3.mp4 --no-status");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto lines = json_lines(run.out);
  ASSERT_FALSE(lines.empty());
  std::set<std::string> named;
  for (const auto& line : lines)
    if (line.contains("event") && line["event"] == "identified" && line["person"] != "unknown")
      named.insert(line["person"].get<std::string>());
  EXPECT_EQ(named, std::set<std::string>{"alice"}) << "alice, and nobody else, is named: " << run.out;
  ASSERT_TRUE(lines.back().contains("summary"));
  EXPECT_EQ(lines.back()["summary"]["frames"], 60);
}

// A still photo filmed gives one face over and over: enroll --video refuses it (it needs several
// distinct views) and enrolls nothing. The success case, on a real clip: CaptureCliTest (video_test.cpp).
TEST(CliVideo, EnrollFromAVideoOfOneStillPhotoIsRefused) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cli-enroll-video");
  const std::string gallery = dir + "/g.db";
  test::write_clip(dir + "/still.mp4", load_image(test::sample_photo(3)), 90);
  const auto enrolled = run_cli(gallery, "enroll --name alice --video " + dir + "/still.mp4");
  EXPECT_EQ(enrolled.exit_code, 2) << enrolled.out;
  EXPECT_TRUE(json_lines(run_cli(gallery, "people").out).empty());
}

}  // namespace
}  // namespace faceid
