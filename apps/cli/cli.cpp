#include "cli.hpp"

#include <iostream>

#include "faceid/config.hpp"
#include "faceid/error.hpp"
#include "faceid/store.hpp"

namespace faceid::cli {

namespace {

std::string flag_name(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

std::string flag_names(const ConfigKey& key) {
  std::string names = flag_name(key.name);
  for (const auto& alias : key.aliases) names += "," + flag_name(alias);
  return names;
}

std::string help_of(const ConfigKey& key) {
  std::string help = key.help;
  if (key.type == ConfigType::kEnum) {
    help += ": ";
    for (std::size_t i = 0; i < key.choices.size(); ++i) help += (i ? " | " : "") + key.choices[i];
  }
  if (key.type == ConfigType::kStringList) help += " (repeatable)";
  return help;
}

}  // namespace

std::string cli_audit_actor() { return local_audit_actor("cli"); }

OutputFormat GlobalOptions::output_format() const {
  return format == "table" ? OutputFormat::kTable : OutputFormat::kJson;
}

void GlobalOptions::resolve_config() {
  const EngineConfig base = config_file.empty() ? EngineConfig{} : load_config_file(config_file);
  config = config_from_pairs(flags, base);
}

void add_config_flags(CLI::App& app, GlobalOptions& globals) {
  app.add_option("--config", globals.config_file,
                 "JSON file of configuration keys (the flags below, in snake_case); flags override it");
  const EngineConfig defaults;
  auto& flags = globals.flags;
  for (const ConfigKey& key : config_keys()) {
    const std::string name = key.name;
    if (key.type == ConfigType::kBool) {
      app.add_flag_callback(flag_names(key), [&flags, name] { flags.emplace_back(name, "true"); }, help_of(key));
      app.add_flag_callback(flag_name("no_" + name), [&flags, name] { flags.emplace_back(name, "false"); },
                            "Turns " + flag_name(name) + " off");
      continue;
    }
    CLI::Option* option = nullptr;
    if (key.type == ConfigType::kStringList) {
      option = app.add_option_function<std::vector<std::string>>(
          flag_names(key),
          [&flags, name](const std::vector<std::string>& items) {
            std::string joined;
            for (const auto& item : items) joined += (joined.empty() ? "" : ":") + item;
            flags.emplace_back(name, joined);
          },
          help_of(key));
    } else {
      option = app.add_option_function<std::string>(
          flag_names(key), [&flags, name](const std::string& value) { flags.emplace_back(name, value); },
          help_of(key));
    }
    option->type_name(key.type == ConfigType::kInt     ? "INT"
                      : key.type == ConfigType::kFloat ? "NUMBER"
                      : key.type == ConfigType::kEnum  ? "NAME"
                                                       : "TEXT");
    if (!key.env.empty()) option->envname(key.env);
    const std::string default_text = config_value(defaults, name);
    if (!default_text.empty()) option->default_str(default_text);
  }
}

void print_json_line(const nlohmann::json& value) { std::cout << value.dump() << "\n" << std::flush; }

}  // namespace faceid::cli
