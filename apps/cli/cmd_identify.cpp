// faceid identify IMAGE...
#include <algorithm>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

void add_identify_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("identify", "Find every face in images and name who it is (or unknown)");
  cmd->add_option("images", *paths, "Image files or folders")->required();
  cmd->callback([paths, &globals, &state] {
    auto engine = Engine::open(globals.engine_config());
    std::vector<std::vector<std::string>> table;
    std::vector<std::string> error_messages;  // the table keeps the JSON's explanation, once per distinct error
    bool failed = false;
    for (const auto& path : *paths) {
      for (const auto& file : expand_image_paths(path)) {
        nlohmann::json line = {{"image", file}};
        try {
          const auto faces = engine->identify(load_image(file, engine->config().limits));
          line["faces"] = nlohmann::json::array();
          for (const auto& face : faces) {
            line["faces"].push_back(to_json(face));
            const auto& b = face.detection.box;
            table.push_back({file, face.person.value_or("unknown"), format_score(face.score),
                             face.runner_up ? face.runner_up->person + " " + format_score(face.runner_up->score)
                                            : "-",
                             std::to_string(int(b.x)) + "," + std::to_string(int(b.y)) + " " +
                                 std::to_string(int(b.width)) + "x" + std::to_string(int(b.height))});
          }
          if (faces.empty()) table.push_back({file, "(no face)", "-", "-", "-"});
        } catch (const Error& e) {
          failed = true;
          line["error"] = error_json(error_code_name(e.code()), e.what());
          table.push_back({file, std::string("error: ") + error_code_name(e.code()), "-", "-", "-"});
          const std::string message = std::string(error_code_name(e.code())) + ": " + e.what();
          if (std::find(error_messages.begin(), error_messages.end(), message) == error_messages.end())
            error_messages.push_back(message);
        }
        if (globals.output_format() == OutputFormat::kJson) print_json_line(line);
      }
    }
    if (globals.output_format() == OutputFormat::kTable) {
      print_table({"IMAGE", "PERSON", "SCORE", "RUNNER-UP", "BOX"}, table);
      for (const auto& message : error_messages) std::cout << message << "\n";
    }
    state.exit_code = failed ? 1 : 0;
  });
}

}  // namespace faceid::cli
