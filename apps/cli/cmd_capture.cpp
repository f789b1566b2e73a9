// faceid capture VIDEO --name NAME: the best face crops of one person from a video,
// saved as DIR/NAME/NAME_k.jpg and/or enrolled.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/json_numbers.hpp"
#include "faceid/video.hpp"
#include "output.hpp"

namespace fs = std::filesystem;

namespace faceid::cli {
namespace {

struct CaptureCommand {
  std::string video;
  std::string name;
  std::string out;
  bool enroll = false;
  CaptureOptions capture;
};

void check_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find_first_of("/\\") != std::string::npos)
    throw Error(ErrorCode::kBadRequest, "--name must be a plain name usable as a folder name, got '" + name + "'");
}

// The next free k in DIR/NAME/NAME_k.jpg: earlier captures are never overwritten.
int first_free_index(const fs::path& folder, const std::string& name) {
  int highest = 0;
  if (!fs::exists(folder)) return 1;
  const std::regex pattern(std::regex_replace(name, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                           R"(_(\d+)\.jpg)");
  for (const auto& entry : fs::directory_iterator(folder)) {
    std::smatch match;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, match, pattern)) highest = std::max(highest, std::stoi(match[1].str()));
  }
  return highest + 1;
}

void write_file(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!file) throw Error(ErrorCode::kIo, "cannot write " + path.string());
}

nlohmann::json frame_counts(const CaptureSummary& summary) {
  return {{"frames", summary.frames},
          {"frames_with_face", summary.frames_with_face},
          {"frames_with_several", summary.frames_with_several}};
}

// Writes each kept face as FOLDER/NAME_k.jpg (when `folder` is set) and lists it; returns the
// images to enroll.
std::vector<EnrollImage> save_faces(const CaptureCommand& command, const fs::path& folder,
                                    const std::vector<CapturedFace>& faces, bool json,
                                    std::vector<std::vector<std::string>>& table) {
  std::vector<EnrollImage> images;
  int index = folder.empty() ? 1 : first_free_index(folder, command.name);
  if (!folder.empty()) fs::create_directories(folder);
  for (const auto& face : faces) {
    const std::string label = command.name + "_" + std::to_string(index++) + ".jpg";
    const std::string file = folder.empty() ? std::string() : (folder / label).string();
    images.push_back(captured_face_image(face, file.empty() ? command.video + "#" + label : file));
    if (!file.empty()) write_file(file, images.back().bytes);
    nlohmann::json line = {{"file", file.empty() ? nlohmann::json(nullptr) : nlohmann::json(file)},
                           {"time", std::round(face.timestamp * 1000.) / 1000.},
                           {"quality", json_score(face.quality.score)},
                           {"sharpness", json_score(face.quality.sharpness)},
                           {"pose", json_score(face.quality.pose)}};
    line.update(detection_json(face.detection));
    if (json) print_json_line(line);
    table.push_back({file.empty() ? label : file, format_score(face.timestamp), format_score(face.quality.score)});
  }
  return images;
}

void run_capture(const CaptureCommand& command, const GlobalOptions& globals, RunState& state) {
  check_name(command.name);
  const bool json = globals.output_format() == OutputFormat::kJson;
  const std::string out = command.out.empty() && !command.enroll ? "." : command.out;
  auto engine = Engine::open(globals.engine_config());
  engine->set_audit_actor(cli_audit_actor());

  CaptureSummary summary;
  std::vector<CapturedFace> faces;
  try {
    faces = capture_faces(*engine, command.video, command.capture, &summary);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kBadRequest && e.code() != ErrorCode::kNoFace) throw;
    // A refusal is an answer about the video, not a crash: say why, with the figures.
    nlohmann::json refusal = {{"video", command.video}, {"name", command.name}, {"refused", true}, {"reason", e.what()}};
    refusal.update(frame_counts(summary));
    print_json_line({{"capture", refusal}});
    std::cerr << "faceid capture: " << e.what() << "\n";
    state.exit_code = 1;
    return;
  }

  std::vector<std::vector<std::string>> table;
  const fs::path folder = out.empty() ? fs::path() : fs::path(out) / command.name;
  const auto images = save_faces(command, folder, faces, json, table);
  int enrolled = 0;
  if (command.enroll) {
    for (const auto& outcome : engine->enroll(command.name, images)) {
      enrolled += outcome.error ? 0 : 1;
      if (json) print_json_line({{"enroll", enroll_outcome_json(outcome)}});
    }
  }
  nlohmann::json result = {{"video", command.video},
                           {"name", command.name},
                           {"saved", folder.empty() ? 0 : int(faces.size())},
                           {"folder", folder.empty() ? nlohmann::json(nullptr) : nlohmann::json(folder.string())},
                           {"enrolled", enrolled},
                           {"candidates", summary.candidates}};
  result.update(frame_counts(summary));
  if (json) {
    print_json_line({{"capture", result}});
  } else {
    print_table({"CROP", "TIME", "QUALITY"}, table);
    std::cout << faces.size() << " faces kept" << (command.enroll ? ", " + std::to_string(enrolled) + " enrolled" : "")
              << "\n";
  }
  state.exit_code = 0;
}

}  // namespace

void add_capture_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto command = std::make_shared<CaptureCommand>();
  auto* cmd = app.add_subcommand(
      "capture", "Keep the best, varied face crops of the one person in a video: save DIR/NAME/NAME_k.jpg, enroll");
  cmd->add_option("video", command->video, "Video file or camera (0, /dev/video0)")->required();
  cmd->add_option("--name", command->name, "Person (user ID); also the folder and file name")->required();
  cmd->add_option("--count", command->capture.count, "Crops to keep")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--min-count", command->capture.min_count, "Refuse when fewer good faces are found")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out", command->out, "Folder to save DIR/NAME/NAME_k.jpg in (default . unless --enroll)");
  cmd->add_flag("--enroll", command->enroll, "Enroll the kept faces under NAME in the gallery");
  cmd->add_option("--min-quality", command->capture.min_quality, "Faces below this quality (0..1) are never kept")
      ->capture_default_str()
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--stride", command->capture.frame_stride, "Analyse every k-th frame")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->callback([command, &globals, &state] {
    if (command->capture.min_count > command->capture.count) command->capture.min_count = command->capture.count;
    run_capture(*command, globals, state);
  });
}

}  // namespace faceid::cli
