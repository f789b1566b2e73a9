// The `faceid` command line at its edges: global options in any position, FACEID_* variables,
// rounded JSON numbers, the --flip mismatch explained in every format, the models catalogue.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "faceid/models.hpp"
#include "run_shell.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

// Runs `faceid` with exactly `args` (no options added), under `env` assignments; stdout and stderr together.
test::ShellResult run_faceid(const std::string& args, const std::string& env = "") {
  return test::run_shell(env + " " + std::string(FACEID_CLI_PATH) + " " + args + " 2>&1");
}

std::string sample(int i) { return test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg"; }

// Digits after the decimal point of a number as printed.
std::size_t decimals(const std::string& number) {
  const auto dot = number.find('.');
  return dot == std::string::npos ? 0 : number.size() - dot - 1;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

nlohmann::json first_json_line(const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] == '{') return nlohmann::json::parse(line);
  return nullptr;
}

TEST(CliEdges, GlobalOptionsWorkBeforeAndAfterTheSubcommand) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const std::string gallery = quoted(dir + "/g.db");
  const std::string models = quoted(test::model_dir());
  const std::string g = "--gallery " + gallery + " --model-dir " + models;
  // --format in three positions: before, after the sub-command, after its arguments.
  for (const std::string& args : {"--format table " + g + " people", g + " people --format table",
                                  "people " + g + " --format table"}) {
    const auto r = run_faceid(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
    EXPECT_EQ(r.out.rfind("PERSON", 0), 0u) << args << "\n" << r.out;
  }
  for (const std::string& args : {"identify " + quoted(sample(1)) + " " + g + " --format json",
                                  g + " identify --format json " + quoted(sample(1)),
                                  "--format json identify " + quoted(sample(1)) + " " + g}) {
    const auto r = run_faceid(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
    EXPECT_TRUE(first_json_line(r.out).contains("faces")) << args << "\n" << r.out;
  }
  // Options with values change the result wherever they are typed.
  for (const std::string& args :
       {g + " --metric euclidean_l2 --threshold 0.5 verify " + quoted(sample(1)) + " " + quoted(sample(1)),
        g + " verify " + quoted(sample(1)) + " " + quoted(sample(1)) + " --metric euclidean_l2 --threshold 0.5",
        "verify --threshold 0.5 " + quoted(sample(1)) + " --metric euclidean_l2 " + quoted(sample(1)) + " " + g}) {
    const auto j = first_json_line(run_faceid(args).out);
    ASSERT_TRUE(j.is_object()) << args;
    EXPECT_EQ(j["metric"], "euclidean_l2") << args;
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.5) << args;
  }
  // --flip and --no-align after the sub-command reach the engine: the gallery records them.
  ASSERT_EQ(run_faceid("enroll --name a " + quoted(sample(2)) + " " + g + " --flip --no-align").exit_code, 0);
  const auto mismatch = run_faceid(g + " identify " + quoted(sample(2)));
  EXPECT_EQ(mismatch.exit_code, 2);
  EXPECT_NE(mismatch.out.find("model_mismatch"), std::string::npos) << mismatch.out;
  EXPECT_EQ(run_faceid("identify " + quoted(sample(2)) + " " + g + " --no-align --flip").exit_code, 0);
  // Nested sub-commands too.
  const auto list = run_faceid("models list --format table --model-dir " + models);
  EXPECT_EQ(list.out.rfind("NAME", 0), 0u) << list.out;
}

TEST(CliEdges, EnvironmentVariablesSetTheGlobalDefaults) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const std::string env = "FACEID_GALLERY=" + quoted(dir + "/env.db") + " FACEID_MODEL_DIR=" + quoted(test::model_dir());
  ASSERT_EQ(run_faceid("enroll --name env_person " + quoted(sample(2)), env).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir + "/env.db")) << "FACEID_GALLERY chose the gallery";
  const auto table = run_faceid("people", env + " FACEID_FORMAT=table");
  EXPECT_EQ(table.out.rfind("PERSON", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("env_person"), std::string::npos) << table.out;
  // The command line wins over the environment.
  const auto json = run_faceid("people --format json", env + " FACEID_FORMAT=table");
  EXPECT_TRUE(first_json_line(json.out).is_object()) << json.out;
  const auto models = run_faceid("models dir", "FACEID_MODEL_DIR=/nonexistent/models");
  EXPECT_EQ(models.out, "/nonexistent/models\n");
}

TEST(CliEdges, JsonNumbersAreRoundedToWhatTheyMean) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const std::string g = "--gallery " + quoted(dir + "/g.db") + " --model-dir " + quoted(test::model_dir());
  ASSERT_EQ(run_faceid(g + " enroll --name a " + quoted(sample(2))).exit_code, 0);
  const auto r = run_faceid(g + " identify " + quoted(sample(2)));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Every number as printed: scores at most 4 decimals, box and landmark pixels at most 1.
  const std::regex score(R"re("(score|threshold|detection_score)":(-?[0-9.e-]+))re");
  int scores = 0;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), score), end; it != end; ++it, ++scores)
    EXPECT_LE(decimals((*it)[2]), 4u) << (*it)[2];
  EXPECT_GE(scores, 3);
  const auto j = first_json_line(r.out);
  for (const auto& face : j["faces"]) {
    std::vector<double> pixels;
    for (const char* side : {"x", "y", "width", "height"}) pixels.push_back(face["box"][side].get<double>());
    for (const auto& point : face["landmarks"])
      for (const auto& v : point) pixels.push_back(v.get<double>());
    for (const double v : pixels) EXPECT_LE(decimals(nlohmann::json(v).dump()), 1u) << v;
  }
}

TEST(CliEdges, FlipMismatchSaysWhatToDoInEveryFormat) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const std::string g = "--gallery " + quoted(dir + "/g.db") + " --model-dir " + quoted(test::model_dir());
  ASSERT_EQ(run_faceid(g + " enroll --name a " + quoted(sample(2))).exit_code, 0);
  // A gallery of another setting fails the whole run, not one image: said once, exit 2, with
  // what to do, in every output format.
  for (const std::string format : {"json", "table"}) {
    const auto r = run_faceid(g + " identify --flip --format " + format + " " + quoted(sample(2)));
    EXPECT_EQ(r.exit_code, 2) << format;
    EXPECT_NE(r.out.find("model_mismatch"), std::string::npos) << format << ": " << r.out;
    EXPECT_NE(r.out.find("drop --flip"), std::string::npos) << format << ": " << r.out;
    EXPECT_NE(r.out.find("faceid --flip reindex"), std::string::npos) << format << ": " << r.out;
  }
  // The other way round: a gallery enrolled with --flip, searched without it.
  const std::string flipped = "--gallery " + quoted(dir + "/flipped.db") + " --model-dir " + quoted(test::model_dir());
  ASSERT_EQ(run_faceid(flipped + " --flip enroll --name a " + quoted(sample(2))).exit_code, 0);
  const auto other = run_faceid(flipped + " identify " + quoted(sample(2)));
  EXPECT_NE(other.out.find("add --flip"), std::string::npos) << other.out;
  EXPECT_EQ(run_faceid(flipped + " --flip identify " + quoted(sample(2))).exit_code, 0);
}

TEST(CliEdges, ModelsListShowsEveryManifestModel) {
  const std::string dir = test::temp_dir("cliedges");
  const auto r = run_faceid("--model-dir " + quoted(dir) + " models list");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::map<std::string, nlohmann::json> listed;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    listed[j["name"].get<std::string>()] = j;
  }
  const ModelManifest manifest = ModelManifest::builtin();
  for (const auto& spec : manifest.models()) {
    ASSERT_TRUE(listed.count(spec.name)) << spec.name;
    const auto& j = listed[spec.name];
    EXPECT_FALSE(j["installed"].get<bool>()) << "empty model folder: " << spec.name;
    EXPECT_FALSE(j["license"].get<std::string>().empty()) << spec.name;
    if (spec.kind != ModelKind::kLandmarks && spec.format != "fusion")
      EXPECT_FALSE(j["accuracy"].get<std::string>().empty()) << spec.name;
  }
  EXPECT_EQ(listed["sface_2021dec"]["size_bytes"], 24227283);
  EXPECT_NE(listed["sface_2021dec"]["url"].get<std::string>().find("opencv_zoo"), std::string::npos);
  EXPECT_EQ(listed["yunet_2022mar"]["install"], nlohmann::json::array({"url", "from"}));
  EXPECT_EQ(listed["fr_feature"]["install"], nlohmann::json::array({"npm", "from"}));
  const auto table = run_faceid("--model-dir " + quoted(dir) + " models list --format table");
  EXPECT_NE(table.out.find("LICENCE"), std::string::npos);
  EXPECT_NE(table.out.find("24.2 MB"), std::string::npos) << table.out;
}

TEST(CliEdges, MissingNonDefaultModelNamesTheWayToInstallIt) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const auto r = run_faceid("--gallery " + quoted(dir + "/g.db") + " --model-dir " + quoted(dir) +
                            " --model-path " + quoted(test::model_dir()) + " --detector yunet_2022mar identify " +
                            quoted(sample(1)));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("faceid models install yunet_2022mar"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--from PATH"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("install the default models"), std::string::npos) << r.out;
}

TEST(CliEdges, ModelsInstallFromALocalCopyChecksTheHash) {
  FACEID_REQUIRE_MODELS();
  // The folder set-up installed to serves as the offline copy of one of its models.
  const ModelSpec spec = ModelManifest::builtin().get("fr_landmark");
  const std::string models = test::temp_dir("cliedges");
  const auto r = run_faceid("--model-dir " + quoted(models) + " models install fr_landmark --from " +
                            quoted(test::model_dir()));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(sha256_file(models + "/" + spec.file), spec.sha256);
  std::istringstream listed(run_faceid("--model-dir " + quoted(models) + " models list").out);
  bool installed = false;
  for (std::string line; std::getline(listed, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["name"] == "fr_landmark") installed = j["installed"].get<bool>();
  }
  EXPECT_TRUE(installed);
  // A file of the wrong content is refused and nothing is installed.
  const std::string fake_dir = test::temp_dir("cliedges");
  std::ofstream(fake_dir + "/face_recognition_sface_2021dec.onnx") << "not the model";
  const std::string other = test::temp_dir("cliedges");
  const auto bad = run_faceid("--model-dir " + quoted(other) + " models install sface_2021dec --from " +
                              quoted(fake_dir + "/face_recognition_sface_2021dec.onnx"));
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("SHA-256"), std::string::npos) << bad.out;
  EXPECT_FALSE(fs::exists(other + "/face_recognition_sface_2021dec.onnx"));
}

TEST(CliEdges, UnreachableUrlNamesTheThreeWays) {
  const std::string dir = test::temp_dir("cliedges");
  // A manifest whose model's URL points at a closed local port: the download fails fast.
  std::ofstream(dir + "/manifest.json") << R"({"format": "faceid-model-manifest", "version": 1, "models": [
    {"name": "remote_detector", "kind": "detector", "format": "yunet", "file": "remote.onnx",
     "sha256": "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7",
     "url": "http://127.0.0.1:9/remote.onnx", "license": "MIT"}]})";
  const std::string models = dir + "/models";
  const auto r = run_faceid("--manifest " + quoted(dir + "/manifest.json") + " --model-dir " + quoted(models) +
                            " models install remote_detector");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  for (const char* part : {"not reachable", "npm registry", "http://127.0.0.1:9/remote.onnx", "--from PATH", "SHA-256 50ef07"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  EXPECT_FALSE(fs::exists(models + "/remote.onnx"));
  const auto unknown = run_faceid("--model-dir " + quoted(models) + " models install no_such_model");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.out.find("known: "), std::string::npos) << unknown.out;
}

}  // namespace
}  // namespace faceid

namespace faceid {
namespace {

// The REST knobs on the command line: candidates per face and the detector's threshold and size.
TEST(CliEdges, TopKAndDetectionKnobs) {
  FACEID_REQUIRE_MODELS();
  const std::string dir = test::temp_dir("cliedges");
  const std::string g = "--gallery " + quoted(dir + "/g.db") + " --model-dir " + quoted(test::model_dir());
  ASSERT_EQ(run_faceid(g + " enroll --name a " + quoted(sample(2))).exit_code, 0);
  ASSERT_EQ(run_faceid(g + " enroll --name b " + quoted(sample(3))).exit_code, 0);
  const auto three = first_json_line(run_faceid(g + " identify --top-k 3 " + quoted(sample(2))).out);
  ASSERT_FALSE(three["faces"].empty()) << three.dump();
  EXPECT_EQ(three["faces"][0]["candidates"].size(), 2u) << "two people enrolled: at most two candidates";
  const auto one = first_json_line(run_faceid(g + " identify --top-k 1 " + quoted(sample(2))).out);
  EXPECT_EQ(one["faces"][0]["candidates"].size(), 1u);
  EXPECT_TRUE(first_json_line(run_faceid(g + " identify --det-threshold 1 " + quoted(sample(2))).out)["faces"].empty());
  EXPECT_TRUE(first_json_line(run_faceid(g + " identify --min-face-size 5000 " + quoted(sample(2))).out)["faces"].empty());
  EXPECT_NE(run_faceid(g + " identify --det-threshold 2 " + quoted(sample(2))).exit_code, 0);
}

}  // namespace
}  // namespace faceid
