// faceid identify IMAGE...
#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "faceid/batch.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_identify_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto liveness = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("identify", "Find every face in images and name who it is (or unknown)");
  cmd->add_option("images", *paths, "Image files or folders")->required();
  add_liveness_flag(cmd, *liveness);
  cmd->callback([paths, liveness, &globals, &state] {
    EngineConfig config = globals.engine_config();
    config.liveness.enabled = config.liveness.enabled || *liveness;  // the flag here, or the global key
    auto engine = Engine::open(config);
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> error_messages;  // the table keeps the JSON's explanation, once per distinct error
    bool failed = false;
    std::vector<std::string> files;
    for (const auto& path : *paths) {
      try {
        for (const auto& file : expand_image_paths(path)) files.push_back(file);
      } catch (const Error& e) {
        failed = true;
        std::cerr << "faceid: " << error_code_name(e.code()) << ": " << e.what() << "\n";
      }
    }
    identify_files(*engine, files, [&](const FileIdentification& result) {
      const std::string& file = result.file;
      nlohmann::json line = {{"image", file}};
      if (result.error) {
        const Error& e = *result.error;
        failed = true;
        line["error"] = error_json(error_code_name(e.code()), e.what());
        table.push_back({file, std::string("error: ") + error_code_name(e.code()), "-", "-", "-"});
        const std::string message = std::string(error_code_name(e.code())) + ": " + e.what();
        if (std::find(error_messages.begin(), error_messages.end(), message) == error_messages.end())
          error_messages.push_back(message);
      } else {
        line["faces"] = nlohmann::json::array();
        for (const auto& face : result.faces) {
          line["faces"].push_back(to_json(face));
          const auto& b = face.detection.box;
          table.push_back({file, line["faces"].back()["person"].get<std::string>(), format_score(face.score),
                           face.runner_up ? face.runner_up->person + " " + format_score(face.runner_up->score)
                                          : "-",
                           std::to_string(int(b.x)) + "," + std::to_string(int(b.y)) + " " +
                               std::to_string(int(b.width)) + "x" + std::to_string(int(b.height))});
        }
        if (result.faces.empty()) table.push_back({file, "(no face)", "-", "-", "-"});
      }
      if (globals.output_format() == OutputFormat::kJson) print_json_line(line);
    });
    if (globals.output_format() == OutputFormat::kTable) {
      print_table({"IMAGE", "PERSON", "SCORE", "RUNNER-UP", "BOX"}, table);
      for (const auto& message : error_messages) std::cout << message << "\n";
    }
    // Like verify: 2 when an input could not be read or decoded.
    state.exit_code = failed ? 2 : 0;
  });
}

}  // namespace faceid::cli
