// The one configuration parser (faceid/config.hpp): every key round-trips through its text and
// JSON forms, bad values are refused naming the key, and key/value and JSON agree.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "faceid/config.hpp"
#include "faceid/error.hpp"

namespace faceid {
namespace {

// Every key's value as text: two configs are the same setup when these are equal.
std::map<std::string, std::string> all_values(const EngineConfig& config) {
  std::map<std::string, std::string> values;
  for (const auto& key : config_keys()) values[key.name] = config_value(config, key.name);
  return values;
}

// A valid value of `key` other than its default.
std::string other_value(const ConfigKey& key, const std::string& current) {
  switch (key.type) {
    case ConfigType::kString: return current + "_other";
    case ConfigType::kStringList: return "/a/b:/c";
    case ConfigType::kBool: return current == "true" ? "false" : "true";
    case ConfigType::kEnum: return current == key.choices.back() ? key.choices.front() : key.choices.back();
    case ConfigType::kInt: {
      const auto low = static_cast<long long>(key.min);
      return std::to_string(std::to_string(low + 1) == current ? low + 2 : low + 1);
    }
    case ConfigType::kFloat: return current == "0.25" ? "0.5" : "0.25";
  }
  return "";
}

// The error message of a failing call ("" when it does not throw kBadRequest).
template <typename F>
std::string bad_request_message(F call) {
  try {
    call();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kBadRequest) return e.what();
    return "wrong code: " + std::string(e.what());
  }
  return "";
}

TEST(Config, KeysAreUniqueSnakeCaseAndDescribed) {
  std::set<std::string> names;
  for (const auto& key : config_keys()) {
    EXPECT_TRUE(names.insert(key.name).second) << key.name;
    for (const auto& alias : key.aliases) EXPECT_TRUE(names.insert(alias).second) << alias;
    EXPECT_EQ(key.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos) << key.name;
    EXPECT_FALSE(key.help.empty()) << key.name;
    if (key.type == ConfigType::kEnum) EXPECT_GE(key.choices.size(), 2u) << key.name;
    if (key.type == ConfigType::kInt || key.type == ConfigType::kFloat) EXPECT_LT(key.min, key.max) << key.name;
    EXPECT_EQ(find_config_key(key.name), &key);
  }
  // What every front-end used to spell on its own is one key now.
  for (const char* name : {"gallery", "model_dir", "model_path", "manifest", "detector", "embedder", "metric",
                           "policy", "index", "index_snapshot", "score_norm", "cohort_gallery", "cohort_top_k",
                           "threshold", "align", "flip", "keep_crops", "candidates", "min_face_size",
                           "detection_threshold", "hnsw_m", "ivf_nprobe", "max_image_pixels", "liveness",
                           "liveness_model", "liveness_threshold"})
    EXPECT_NE(find_config_key(name), nullptr) << name;
}

TEST(Config, EveryKeyRoundTripsThroughText) {
  const EngineConfig defaults;
  for (const auto& key : config_keys()) {
    SCOPED_TRACE(key.name);
    const std::string default_text = config_value(defaults, key.name);
    EngineConfig config = defaults;
    set_config_value(config, key.name, default_text);
    EXPECT_EQ(all_values(config), all_values(defaults));

    const std::string changed = other_value(key, default_text);
    set_config_value(config, key.name, changed);
    EXPECT_NE(config_value(config, key.name), default_text);
    const std::string read_back = config_value(config, key.name);
    EngineConfig again = defaults;
    set_config_value(again, key.name, read_back);
    EXPECT_EQ(all_values(again), all_values(config));
    // Only this key changed.
    auto expected = all_values(defaults);
    expected[key.name] = read_back;
    EXPECT_EQ(all_values(config), expected);
  }
}

TEST(Config, KeysReachTheirFields) {
  const EngineConfig config = config_from_pairs({{"min_face_size", "40"},
                                                 {"metric", "euclidean_l2"},
                                                 {"policy", "topk"},
                                                 {"score_norm", "asnorm"},
                                                 {"cohort_top_k", "50"},
                                                 {"index", "hnsw"},
                                                 {"hnsw_m", "16"},
                                                 {"ivf_nprobe", "8"},
                                                 {"align", "false"},
                                                 {"threshold", "0.42"},
                                                 {"model_path", "/x:/y"},
                                                 {"max_image_pixels", "1000000"},
                                                 {"store", "/tmp/g.db"},
                                                 {"det_prob_threshold", "0.7"}});
  EXPECT_EQ(config.detection.min_face_size, 40);
  EXPECT_EQ(config.matching.metric, Metric::kEuclideanL2);
  EXPECT_EQ(config.matching.policy, MatchPolicy::kTopKMean);
  EXPECT_EQ(config.normalization.norm, ScoreNorm::kAdaptiveSNorm);
  EXPECT_EQ(config.normalization.top_k, 50);
  EXPECT_EQ(config.index.kind, IndexKind::kHnsw);
  EXPECT_EQ(config.index.hnsw_m, 16);
  EXPECT_EQ(config.index.ivf_nprobe, 8);
  EXPECT_FALSE(config.align);
  ASSERT_TRUE(config.threshold.has_value());
  EXPECT_FLOAT_EQ(*config.threshold, 0.42f);
  EXPECT_EQ(config.extra_model_dirs, (std::vector<std::string>{"/x", "/y"}));
  EXPECT_EQ(config.limits.max_decoded_pixels, 1000000);
  EXPECT_EQ(config.gallery, "/tmp/g.db");
  EXPECT_FLOAT_EQ(config.detection.score_threshold, 0.7f);
  // "" unsets an optional key again.
  EXPECT_FALSE(config_from_pairs({{"threshold", ""}}, config).threshold.has_value());
}

TEST(Config, JsonAndPairsGiveTheSameConfig) {
  const EngineConfig from_pairs = config_from_pairs({{"gallery", ":memory:"},
                                                     {"min_face_size", "32"},
                                                     {"detection_threshold", "0.55"},
                                                     {"metric", "euclidean"},
                                                     {"flip", "true"},
                                                     {"model_path", "/m1:/m2"},
                                                     {"liveness_threshold", "0.8"},
                                                     {"hnsw_compact_fraction", "0.5"}});
  const EngineConfig from_json = config_from_json(R"({"gallery": ":memory:", "min_face_size": 32,
      "detection_threshold": 0.55, "metric": "euclidean", "flip": true, "model_path": ["/m1", "/m2"],
      "liveness_threshold": 0.8, "hnsw_compact_fraction": 0.5})");
  EXPECT_EQ(all_values(from_json), all_values(from_pairs));
  EXPECT_NE(all_values(from_json), all_values(EngineConfig{}));
  // The full dump reads back as the same config, a list entry with ':' included.
  EngineConfig odd = from_json;
  odd.extra_model_dirs = {"/with:colon", "/plain"};
  const EngineConfig again = config_from_json(config_to_json(odd));
  EXPECT_EQ(all_values(again), all_values(odd));
  EXPECT_EQ(again.extra_model_dirs, odd.extra_model_dirs);
  EXPECT_FALSE(config_from_json(R"({"threshold": null})", from_json).threshold.has_value());
}

TEST(Config, BadValuesAreRefusedNamingTheKey) {
  struct Case {
    std::string key, value, expected_words;
  };
  const std::vector<Case> cases = {
      {"min_face_size", "abc", "integer"},  {"min_face_size", "-1", "from 0"},  {"min_face_size", "2.5", "integer"},
      {"hnsw_m", "1", "from 2"},            {"ivf_nprobe", "", "integer"},      {"detection_threshold", "1.5", "0 to 1"},
      {"detection_threshold", "nan", "number"}, {"threshold", "1e9", "number"}, {"align", "maybe", "true or false"},
      {"metric", "manhattan", "cosine, euclidean, euclidean_l2"},
      {"score_norm", "tz", "none, znorm, tnorm, snorm, asnorm"}, {"policy", "median", "max, mean, topk"},
      {"index", "lsh", "hnsw"},             {"max_image_pixels", "0", "from 1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key + "=" + c.value);
    EngineConfig config;
    const auto before = all_values(config);
    const std::string message = bad_request_message([&] { set_config_value(config, c.key, c.value); });
    EXPECT_EQ(message.rfind(c.key + ":", 0), 0u) << message;
    EXPECT_NE(message.find(c.expected_words), std::string::npos) << message;
    EXPECT_EQ(all_values(config), before);  // unchanged on error
  }
  const std::string unknown = bad_request_message([] { config_from_pairs({{"min_face", "3"}}); });
  EXPECT_NE(unknown.find("unknown configuration key 'min_face'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("min_face_size"), std::string::npos) << unknown;  // the known keys are listed
}

TEST(Config, JsonTypesAreChecked) {
  for (const char* text : {R"({"min_face_size": "20"})", R"({"flip": 1})", R"({"metric": 3})",
                           R"({"model_path": "/a"})", R"({"model_path": [1]})", R"({"min_face_size": null})",
                           R"({"detector": null})"}) {
    SCOPED_TRACE(text);
    const std::string message = bad_request_message([&] { config_from_json(text); });
    EXPECT_NE(message.find("expected"), std::string::npos) << message;
  }
  EXPECT_NE(bad_request_message([] { config_from_json("[1, 2]"); }).find("JSON object"), std::string::npos);
  EXPECT_NE(bad_request_message([] { config_from_json("{"); }).find("not valid JSON"), std::string::npos);
  EXPECT_NE(bad_request_message([] { config_from_json(R"({"nope": 1})"); }).find("'nope'"), std::string::npos);
}

TEST(Config, FileNamesItselfInErrors) {
  const auto path = std::filesystem::temp_directory_path() / "faceid_config_test.json";
  {
    std::ofstream(path) << R"({"metric": "cosine", "hnsw_m": 4000})";
  }
  const std::string message = bad_request_message([&] { load_config_file(path.string()); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("hnsw_m"), std::string::npos) << message;
  {
    std::ofstream(path) << R"({"metric": "euclidean", "hnsw_m": 40})";
  }
  const EngineConfig config = load_config_file(path.string());
  EXPECT_EQ(config.matching.metric, Metric::kEuclidean);
  EXPECT_EQ(config.index.hnsw_m, 40);
  std::filesystem::remove(path);
  try {
    load_config_file(path.string());
    ADD_FAILURE() << "a missing file must fail";
  } catch (const Error& e) {
    EXPECT_NE(e.code(), ErrorCode::kBadRequest);
  }
}

TEST(Config, EnumFromNameIsTheOneParserAndNamesWhatItRead) {
  EXPECT_EQ(metric_from_name("euclidean"), Metric::kEuclidean);
  EXPECT_EQ(match_policy_from_name("mean"), MatchPolicy::kMeanTemplate);
  EXPECT_EQ(index_kind_from_name("ivf-sq8"), IndexKind::kIvfSq8);
  EXPECT_EQ(score_norm_from_name("snorm"), ScoreNorm::kSNorm);
  const std::string message = bad_request_message([] { metric_from_name("l1", "--metrics"); });
  EXPECT_EQ(message, "--metrics: unknown name 'l1' (one of: cosine, euclidean, euclidean_l2)");
  // The choices of the table are the enum's names, so help and errors list the same words.
  EXPECT_EQ(find_config_key("index")->choices,
            (std::vector<std::string>{"exact", "int8-scan", "hnsw", "ivf-sq8", "auto"}));
}

}  // namespace
}  // namespace faceid
