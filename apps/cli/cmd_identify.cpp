// faceid identify IMAGE...
#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "faceid/batch.hpp"
#include "faceid/error.hpp"
#include "output.hpp"

namespace faceid::cli {

namespace {

// The table's PERSON cell: the name, the liveness refusal, or "unknown".
std::string person_cell(const nlohmann::json& face) {
  if (face["person"].is_string()) return face["person"].get<std::string>();
  return face.contains("status") ? face["status"].get<std::string>() : "unknown";
}

// The candidates after the best one, "name score" each.
std::string others_cell(const FaceResult& face) {
  std::string cell;
  for (std::size_t i = 1; i < face.candidates.size(); ++i)
    cell += (cell.empty() ? "" : ", ") + face.candidates[i].person + " " + format_score(face.candidates[i].score);
  return cell.empty() ? "-" : cell;
}

std::string box_cell(const cv::Rect2f& b) {
  return std::to_string(int(b.x)) + "," + std::to_string(int(b.y)) + " " + std::to_string(int(b.width)) + "x" +
         std::to_string(int(b.height));
}

// Image files of the given paths; a path that names no image is reported and sets `failed`.
std::vector<std::string> image_files(const std::vector<std::string>& paths, bool& failed) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    try {
      for (const auto& file : expand_image_paths(path)) files.push_back(file);
    } catch (const Error& e) {
      failed = true;
      std::cerr << "faceid: " << error_code_name(e.code()) << ": " << e.what() << "\n";
    }
  }
  return files;
}

}  // namespace

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
    const auto files = image_files(*paths, failed);
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
          line["faces"].push_back(face_json(face));
          table.push_back({file, person_cell(line["faces"].back()), format_score(face.score), others_cell(face),
                           box_cell(face.detection.box)});
        }
        if (result.faces.empty()) table.push_back({file, "(no face)", "-", "-", "-"});
      }
      if (globals.output_format() == OutputFormat::kJson) print_json_line(line);
    });
    if (globals.output_format() == OutputFormat::kTable) {
      print_table({"IMAGE", "PERSON", "SCORE", "CANDIDATES", "BOX"}, table);
      for (const auto& message : error_messages) std::cout << message << "\n";
    }
    // Like verify: 2 when an input could not be read or decoded.
    state.exit_code = failed ? 2 : 0;
  });
}

}  // namespace faceid::cli
