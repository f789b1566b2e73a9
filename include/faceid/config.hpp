#pragma once
// One configuration parser for every front-end: the CLI's global flags, Python's keyword
// arguments and `faceid serve --config FILE.json` all read EngineConfig through the table of
// keys below, so each knob has one name, one type, one range and one help text everywhere.
//
//   EngineConfig config = config_from_pairs({{"metric", "cosine"}, {"min_face_size", "40"}});
//   EngineConfig same = config_from_json(R"({"metric": "cosine", "min_face_size": 40})");
//
// A key is snake_case (`min_face_size`); the CLI spells it `--min-face-size`.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faceid/engine.hpp"
#include "faceid/index.hpp"
#include "faceid/metric.hpp"
#include "faceid/score_norm.hpp"

namespace faceid {

enum class ConfigType { kString, kStringList, kInt, kFloat, kBool, kEnum };
const char* config_type_name(ConfigType type);  // "string", "string list", "integer", "number", "boolean", "choice"

struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::kString;
  std::string help;
  std::vector<std::string> choices;  // kEnum: the accepted names
  double min = 0, max = 0;           // kInt, kFloat: the accepted range (inclusive)
  bool optional = false;             // may be unset ("" / JSON null = the manifest's value)
  std::string env;                   // environment variable read for its default, if any
  std::vector<std::string> aliases;  // other accepted names (earlier or other tools' spellings)
};

// Every key, in the order the CLI's help lists them.
const std::vector<ConfigKey>& config_keys();
// The key named `name` or one of its aliases; nullptr when there is none.
const ConfigKey* find_config_key(const std::string& name);

// Sets one key from its text form: numbers in C notation, booleans true/false (also 1/0,
// yes/no, on/off), a string list as entries separated by ':' (like PATH), "" to unset an
// optional key. Error(kBadRequest) naming the key and what it accepts, for an unknown key
// or a bad value; `config` is unchanged then.
void set_config_value(EngineConfig& config, const std::string& key, const std::string& value);
// The text form of one key's value (set_config_value of it gives the same config back).
std::string config_value(const EngineConfig& config, const std::string& key);

// `base` with the given keys set, in order (a later pair wins).
EngineConfig config_from_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                               EngineConfig base = {});
// `base` with the keys of a JSON object set: strings for string and choice keys, numbers,
// booleans, arrays of strings for list keys, null to unset an optional key. The same
// checks and errors as set_config_value.
EngineConfig config_from_json(const std::string& json_text, EngineConfig base = {});
// config_from_json of a file (at most 1 MiB); its errors name the file. Error(kNotFound) or
// Error(kIo) when it cannot be read.
EngineConfig load_config_file(const std::string& path, EngineConfig base = {});
// Every key's value as one JSON object (config_from_json of it gives the same config).
std::string config_to_json(const EngineConfig& config);

// The one way to read each enumeration's name; an unknown name is Error(kBadRequest)
// naming `what` (the key or flag it came from) and the accepted names.
Metric metric_from_name(const std::string& name, const std::string& what = "metric");
MatchPolicy match_policy_from_name(const std::string& name, const std::string& what = "policy");
IndexKind index_kind_from_name(const std::string& name, const std::string& what = "index");
ScoreNorm score_norm_from_name(const std::string& name, const std::string& what = "score_norm");

}  // namespace faceid
