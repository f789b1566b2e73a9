#include "faceid/config.hpp"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "faceid/error.hpp"
#include "faceid/image.hpp"

namespace faceid {

namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& key, const std::string& why) {
  throw Error(ErrorCode::kBadRequest, key + ": " + why);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// ---- enumerations ---------------------------------------------------------------------

template <typename E>
struct EnumInfo;
template <>
struct EnumInfo<Metric> {
  static constexpr std::array values{Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2};
  static const char* name(Metric m) { return metric_name(m); }
};
template <>
struct EnumInfo<MatchPolicy> {
  static constexpr std::array values{MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean};
  static const char* name(MatchPolicy p) { return match_policy_name(p); }
};
template <>
struct EnumInfo<IndexKind> {
  static constexpr std::array values{IndexKind::kExact, IndexKind::kInt8Scan, IndexKind::kHnsw, IndexKind::kIvfSq8,
                                     IndexKind::kAuto};
  static const char* name(IndexKind k) { return index_kind_name(k); }
};
template <>
struct EnumInfo<ScoreNorm> {
  static constexpr std::array values{ScoreNorm::kNone, ScoreNorm::kZNorm, ScoreNorm::kTNorm, ScoreNorm::kSNorm,
                                     ScoreNorm::kAdaptiveSNorm};
  static const char* name(ScoreNorm n) { return score_norm_name(n); }
};

template <typename E>
std::vector<std::string> enum_names() {
  std::vector<std::string> names;
  for (E value : EnumInfo<E>::values) names.push_back(EnumInfo<E>::name(value));
  return names;
}

template <typename E>
E enum_from_name(const std::string& name, const std::string& what) {
  for (E value : EnumInfo<E>::values)
    if (name == EnumInfo<E>::name(value)) return value;
  bad(what, "unknown name '" + name + "' (one of: " + join(enum_names<E>(), ", ") + ")");
}

// ---- text forms -----------------------------------------------------------------------

// The shortest decimal that reads back as the same value.
template <typename T>
std::string format_number(T value) {
  if constexpr (std::is_integral_v<T>) {
    return std::to_string(value);
  } else {
    for (int digits = 6; digits <= std::numeric_limits<T>::max_digits10; ++digits) {
      std::ostringstream out;
      out.precision(digits);
      out << value;
      if (static_cast<T>(std::strtod(out.str().c_str(), nullptr)) == value) return out.str();
    }
    std::ostringstream out;
    out.precision(std::numeric_limits<T>::max_digits10);
    out << value;
    return out.str();
  }
}

std::string range_text(const ConfigKey& key) {
  return format_number(key.min) + " to " + format_number(key.max);
}

template <typename T>
T parse_number(const ConfigKey& key, const std::string& text) {
  const std::string expected =
      std::string(std::is_integral_v<T> ? "an integer" : "a number") + " from " + range_text(key);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value))
    bad(key.name, "expected " + expected + ", got '" + text + "'");
  if (std::is_integral_v<T> && value != std::floor(value))
    bad(key.name, "expected " + expected + ", got '" + text + "'");
  if (value < key.min || value > key.max) bad(key.name, "expected " + expected + ", got " + text);
  return static_cast<T>(value);
}

bool parse_bool(const ConfigKey& key, const std::string& text) {
  for (const char* yes : {"true", "1", "yes", "on"})
    if (text == yes) return true;
  for (const char* no : {"false", "0", "no", "off"})
    if (text == no) return false;
  bad(key.name, "expected true or false, got '" + text + "'");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ':'))
    if (!item.empty()) items.push_back(item);
  return items;
}

// ---- the table ------------------------------------------------------------------------

// One key: its description and how it reads and writes its EngineConfig field.
struct Entry {
  ConfigKey key;
  std::function<std::string(const EngineConfig&)> get;
  std::function<void(EngineConfig&, const std::string&)> set;
  std::function<void(EngineConfig&, std::vector<std::string>)> set_list;  // kStringList only
  std::function<std::vector<std::string>(const EngineConfig&)> get_list;  // kStringList only
};

ConfigKey make_key(std::string name, ConfigType type, std::string help) {
  ConfigKey key;
  key.name = std::move(name);
  key.type = type;
  key.help = std::move(help);
  return key;
}

Entry make_entry(ConfigKey key, std::function<std::string(const EngineConfig&)> get,
                 std::function<void(EngineConfig&, const std::string&)> set) {
  Entry entry;
  entry.key = std::move(key);
  entry.get = std::move(get);
  entry.set = std::move(set);
  return entry;
}

// `field(config)` is a reference to the key's field; the getter reads through the same accessor.
template <typename Field>
auto& field_of(const Field& field, const EngineConfig& config) {
  return field(const_cast<EngineConfig&>(config));
}

template <typename T, typename Field>
Entry number_key(std::string name, double min, double max, std::string help, Field field) {
  ConfigKey key = make_key(std::move(name), std::is_integral_v<T> ? ConfigType::kInt : ConfigType::kFloat,
                           std::move(help));
  key.min = min;
  key.max = max;
  return make_entry(
      key, [field](const EngineConfig& c) { return format_number<T>(field_of(field, c)); },
      [field, key](EngineConfig& c, const std::string& text) { field(c) = parse_number<T>(key, text); });
}

template <typename Field>
Entry optional_float_key(std::string name, double min, double max, std::string help, Field field) {
  ConfigKey key = make_key(std::move(name), ConfigType::kFloat, std::move(help));
  key.min = min;
  key.max = max;
  key.optional = true;
  return make_entry(
      key,
      [field](const EngineConfig& c) {
        const std::optional<float>& value = field_of(field, c);
        return value ? format_number(*value) : std::string();
      },
      [field, key](EngineConfig& c, const std::string& text) {
        field(c) = text.empty() ? std::nullopt : std::optional<float>(parse_number<float>(key, text));
      });
}

template <typename Field>
Entry string_key(std::string name, std::string help, Field field, std::vector<std::string> aliases = {},
                 std::string env = {}) {
  ConfigKey key = make_key(std::move(name), ConfigType::kString, std::move(help));
  key.aliases = std::move(aliases);
  key.env = std::move(env);
  return make_entry(
      key, [field](const EngineConfig& c) { return field_of(field, c); },
      [field](EngineConfig& c, const std::string& text) { field(c) = text; });
}

template <typename Field>
Entry list_key(std::string name, std::string help, Field field) {
  Entry entry = make_entry(
      make_key(std::move(name), ConfigType::kStringList, std::move(help)),
      [field](const EngineConfig& c) { return join(field_of(field, c), ":"); },
      [field](EngineConfig& c, const std::string& text) { field(c) = split_list(text); });
  entry.set_list = [field](EngineConfig& c, std::vector<std::string> items) { field(c) = std::move(items); };
  entry.get_list = [field](const EngineConfig& c) { return field_of(field, c); };
  return entry;
}

template <typename Field>
Entry bool_key(std::string name, std::string help, Field field) {
  ConfigKey key = make_key(std::move(name), ConfigType::kBool, std::move(help));
  return make_entry(
      key, [field](const EngineConfig& c) { return std::string(field_of(field, c) ? "true" : "false"); },
      [field, key](EngineConfig& c, const std::string& text) { field(c) = parse_bool(key, text); });
}

template <typename E, typename Field>
Entry enum_key(std::string name, std::string help, Field field) {
  ConfigKey key = make_key(std::move(name), ConfigType::kEnum, std::move(help));
  key.choices = enum_names<E>();
  return make_entry(
      key, [field](const EngineConfig& c) { return std::string(EnumInfo<E>::name(field_of(field, c))); },
      [field, name = key.name](EngineConfig& c, const std::string& text) { field(c) = enum_from_name<E>(text, name); });
}

Entry with_aliases(Entry entry, std::vector<std::string> aliases) {
  entry.key.aliases = std::move(aliases);
  return entry;
}

#define FACEID_FIELD(member) [](EngineConfig& c) -> auto& { return c.member; }

std::vector<Entry> model_keys() {
  return {
      string_key("gallery", "Gallery store: SQLite file path, :memory: or a postgresql://user@host/db URI",
                 FACEID_FIELD(gallery), {"store"}, "FACEID_GALLERY"),
      string_key("model_dir", "Folder of installed models", FACEID_FIELD(model_dir), {}, "FACEID_MODEL_DIR"),
      list_key("model_path", "Extra folders searched for model files, after model_dir",
               FACEID_FIELD(extra_model_dirs)),
      string_key("manifest", "Model manifest file (default: builtin + <model_dir>/manifest.json)",
                 FACEID_FIELD(manifest_path)),
      string_key("detector", "Detector model name from the manifest", FACEID_FIELD(detector)),
      string_key("embedder", "Embedder model name from the manifest", FACEID_FIELD(embedder)),
      string_key("fallback_detector",
                 "Second detector (manifest name) tried when the first finds no face; empty: none",
                 FACEID_FIELD(fallback_detector)),
      string_key("detector_file", "Use this detector file instead of the manifest's", FACEID_FIELD(detector_file)),
      string_key("embedder_file", "Use this embedder file instead of the manifest's", FACEID_FIELD(embedder_file)),
  };
}

std::vector<Entry> pipeline_keys() {
  return {
      with_aliases(number_key<float>("detection_threshold", 0, 1, "Detector confidence a face needs",
                                     FACEID_FIELD(detection.score_threshold)),
                   {"det_threshold", "det_prob_threshold"}),
      number_key<float>("nms_threshold", 0, 1, "Overlap (IoU) above which the detector merges two boxes",
                        FACEID_FIELD(detection.nms_threshold)),
      number_key<int>("min_face_size", 0, 100000, "Smallest face (shorter box side, pixels) detected",
                      FACEID_FIELD(detection.min_face_size)),
      number_key<int>("detection_max_faces", 0, 100000, "Largest faces kept per image (0 = all)",
                      FACEID_FIELD(detection.max_faces)),
      bool_key("detect_retry",
               "When no face is found, retry on a padded, enlarged copy (tight crops, faces cut by the frame)",
               FACEID_FIELD(detect_retry)),
      bool_key("align", "5-point alignment of each face (false: crop the detector box)", FACEID_FIELD(align)),
      bool_key("flip", "Test-time augmentation: also embed the mirror image", FACEID_FIELD(embedding.flip_augment)),
      bool_key("keep_crops", "Store the aligned crop of each enrolled face (needed by reindex)",
               FACEID_FIELD(keep_crops)),
      number_key<std::int64_t>("max_image_pixels", 1, 1e10, "Images with more pixels are refused",
                               FACEID_FIELD(limits.max_decoded_pixels)),
      number_key<std::int64_t>("max_working_pixels", 10000, 1e10, "Larger images are downscaled to this before detection",
                               FACEID_FIELD(limits.max_working_pixels)),
      number_key<std::size_t>("max_image_bytes", 1, 1 << 30, "Image files larger than this are refused",
                              FACEID_FIELD(limits.max_file_bytes)),
  };
}

std::vector<Entry> matching_keys() {
  return {
      enum_key<Metric>("metric", "Comparison metric", FACEID_FIELD(matching.metric)),
      enum_key<MatchPolicy>("policy", "Person score over their faces", FACEID_FIELD(matching.policy)),
      number_key<int>("policy_top_k", 1, 1000, "Faces averaged by policy topk", FACEID_FIELD(matching.top_k)),
      optional_float_key("threshold", -1e4, 1e4, "Decision threshold (default: the manifest's for the metric)",
                         FACEID_FIELD(threshold)),
      with_aliases(number_key<int>("candidates", 1, 100, "People reported per face (best, runner-up, ...)",
                                   FACEID_FIELD(candidates)),
                   {"top_k", "prediction_count"}),
      enum_key<ScoreNorm>("score_norm", "Cohort score normalisation (the gallery's other people are the cohort)",
                          FACEID_FIELD(normalization.norm)),
      number_key<int>("cohort_top_k", 1, 100000, "Cohort scores kept by asnorm", FACEID_FIELD(normalization.top_k)),
      number_key<std::size_t>("cohort_min", 0, 1e7, "Fewer cohort faces than this: scores stay raw",
                              FACEID_FIELD(normalization.min_cohort)),
      number_key<std::size_t>("cohort_max_gallery", 0, 1e7, "Gallery faces taken into the cohort at most",
                              FACEID_FIELD(normalization.max_gallery_cohort)),
      string_key("cohort_gallery", "Extra cohort: a gallery store of other people's faces (never matched)",
                 FACEID_FIELD(cohort_gallery)),
  };
}

std::vector<Entry> index_keys() {
  return {
      enum_key<IndexKind>("index", "Face search (auto: exact, HNSW from auto_hnsw_from faces)",
                          FACEID_FIELD(index.kind)),
      string_key("index_snapshot", "With index hnsw: keep the graph in this file and reuse it at the next start",
                 FACEID_FIELD(index.snapshot_file)),
      number_key<std::size_t>("auto_hnsw_from", 1, 1e10, "Index auto switches to HNSW at this many faces",
                              FACEID_FIELD(index.auto_hnsw_from)),
      number_key<int>("hnsw_m", 2, 512, "HNSW graph degree: recall and memory grow with it", FACEID_FIELD(index.hnsw_m)),
      number_key<int>("hnsw_ef_construction", 1, 100000, "HNSW build-time beam width",
                      FACEID_FIELD(index.hnsw_ef_construction)),
      number_key<int>("hnsw_ef_search", 1, 100000, "HNSW query-time beam width: latency vs recall",
                      FACEID_FIELD(index.hnsw_ef_search)),
      number_key<double>("hnsw_compact_fraction", 0.01, 1, "HNSW is rebuilt when this share of it is deleted faces",
                         FACEID_FIELD(index.hnsw_compact_fraction)),
      number_key<std::size_t>("ivf_train_from", 1, 1e9, "IVF-SQ8 serves exactly until it holds this many faces",
                              FACEID_FIELD(index.ivf_train_from)),
      number_key<int>("ivf_nprobe", 1, 65536, "IVF-SQ8 lists scanned per query: latency vs recall",
                      FACEID_FIELD(index.ivf_nprobe)),
  };
}

std::vector<Entry> liveness_keys() {
  return {
      bool_key("liveness", "Anti-spoofing of every identified, verified and enrolled face",
               FACEID_FIELD(liveness.enabled)),
      string_key("liveness_model", "Liveness model name from the manifest", FACEID_FIELD(liveness.model)),
      string_key("liveness_file", "Use this liveness model file instead of the manifest's",
                 FACEID_FIELD(liveness.model_file)),
      optional_float_key("liveness_threshold", 0, 1, "Live score a face needs (default: the manifest's)",
                         FACEID_FIELD(liveness.threshold)),
      number_key<int>("liveness_min_face", 0, 100000, "Faces lower than this (pixels) cannot be judged",
                      FACEID_FIELD(liveness.min_face_pixels)),
      number_key<float>("liveness_min_context", 0, 1, "Least share of the liveness crop that must lie in the image",
                        FACEID_FIELD(liveness.min_context)),
  };
}

#undef FACEID_FIELD

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> all;
    for (auto group : {model_keys(), pipeline_keys(), matching_keys(), index_keys(), liveness_keys()})
      for (auto& entry : group) all.push_back(std::move(entry));
    return all;
  }();
  return table;
}

const Entry* find_entry(const std::string& name) {
  for (const auto& entry : entries()) {
    if (entry.key.name == name) return &entry;
    for (const auto& alias : entry.key.aliases)
      if (alias == name) return &entry;
  }
  return nullptr;
}

const Entry& entry_of(const std::string& name) {
  if (const Entry* entry = find_entry(name)) return *entry;
  std::vector<std::string> names;
  for (const auto& e : entries()) names.push_back(e.key.name);
  throw Error(ErrorCode::kBadRequest, "unknown configuration key '" + name + "' (known keys: " + join(names, ", ") + ")");
}

// What a JSON value must be for `key`, in words.
std::string expected_json(const ConfigKey& key) {
  switch (key.type) {
    case ConfigType::kString: return "a string";
    case ConfigType::kStringList: return "an array of strings";
    case ConfigType::kInt: return "an integer from " + range_text(key);
    case ConfigType::kFloat: return "a number from " + range_text(key);
    case ConfigType::kBool: return "true or false";
    case ConfigType::kEnum: return "one of: " + join(key.choices, ", ");
  }
  return "a value";
}

void set_from_json(EngineConfig& config, const Entry& entry, const json& value) {
  const ConfigKey& key = entry.key;
  const auto wrong = [&] { bad(key.name, "expected " + expected_json(key) + ", got " + value.dump()); };
  if (value.is_null()) {
    if (!key.optional) wrong();
    entry.set(config, "");
    return;
  }
  switch (key.type) {
    case ConfigType::kString:
    case ConfigType::kEnum:
      if (!value.is_string()) wrong();
      entry.set(config, value.get<std::string>());
      return;
    case ConfigType::kStringList: {
      if (!value.is_array()) wrong();
      std::vector<std::string> items;
      for (const auto& item : value) {
        if (!item.is_string()) wrong();
        items.push_back(item.get<std::string>());
      }
      entry.set_list(config, std::move(items));
      return;
    }
    case ConfigType::kInt:
    case ConfigType::kFloat:
      if (!value.is_number()) wrong();
      entry.set(config, value.dump());
      return;
    case ConfigType::kBool:
      if (!value.is_boolean()) wrong();
      entry.set(config, value.get<bool>() ? "true" : "false");
      return;
  }
}

}  // namespace

const char* config_type_name(ConfigType type) {
  switch (type) {
    case ConfigType::kString: return "string";
    case ConfigType::kStringList: return "string list";
    case ConfigType::kInt: return "integer";
    case ConfigType::kFloat: return "number";
    case ConfigType::kBool: return "boolean";
    case ConfigType::kEnum: return "choice";
  }
  return "string";
}

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& entry : entries()) out.push_back(entry.key);
    return out;
  }();
  return keys;
}

const ConfigKey* find_config_key(const std::string& name) {
  const Entry* entry = find_entry(name);
  // config_keys() lists the table's keys in the same order.
  return entry ? &config_keys()[static_cast<std::size_t>(entry - entries().data())] : nullptr;
}

void set_config_value(EngineConfig& config, const std::string& key, const std::string& value) {
  EngineConfig changed = config;  // unchanged on error
  entry_of(key).set(changed, value);
  config = std::move(changed);
}

std::string config_value(const EngineConfig& config, const std::string& key) { return entry_of(key).get(config); }

EngineConfig config_from_pairs(const std::vector<std::pair<std::string, std::string>>& pairs, EngineConfig base) {
  for (const auto& [key, value] : pairs) entry_of(key).set(base, value);
  return base;
}

EngineConfig config_from_json(const std::string& json_text, EngineConfig base) {
  json object;
  try {
    object = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::kBadRequest, std::string("configuration is not valid JSON: ") + e.what());
  }
  if (!object.is_object()) throw Error(ErrorCode::kBadRequest, "configuration must be a JSON object of keys");
  for (const auto& [key, value] : object.items()) set_from_json(base, entry_of(key), value);
  return base;
}

EngineConfig load_config_file(const std::string& path, EngineConfig base) {
  const auto bytes = read_file_bytes(path, 1u << 20);
  try {
    return config_from_json(std::string(bytes.begin(), bytes.end()), std::move(base));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kBadRequest) throw;
    throw Error(ErrorCode::kBadRequest, path + ": " + e.what());
  }
}

std::string config_to_json(const EngineConfig& config) {
  json object = json::object();
  for (const auto& entry : entries()) {
    const ConfigKey& key = entry.key;
    const std::string text = entry.get(config);
    switch (key.type) {
      case ConfigType::kString:
      case ConfigType::kEnum: object[key.name] = text; break;
      case ConfigType::kStringList: object[key.name] = entry.get_list(config); break;
      case ConfigType::kBool: object[key.name] = text == "true"; break;
      case ConfigType::kInt:
      case ConfigType::kFloat:
        // The text form, read as a JSON number, keeps the shortest exact digits.
        object[key.name] = text.empty() ? json(nullptr) : json::parse(text);
        break;
    }
  }
  return object.dump(2);
}

Metric metric_from_name(const std::string& name, const std::string& what) {
  return enum_from_name<Metric>(name, what);
}
MatchPolicy match_policy_from_name(const std::string& name, const std::string& what) {
  return enum_from_name<MatchPolicy>(name, what);
}
IndexKind index_kind_from_name(const std::string& name, const std::string& what) {
  return enum_from_name<IndexKind>(name, what);
}
ScoreNorm score_norm_from_name(const std::string& name, const std::string& what) {
  return enum_from_name<ScoreNorm>(name, what);
}

}  // namespace faceid
