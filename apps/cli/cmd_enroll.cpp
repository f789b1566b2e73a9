// faceid enroll --name NAME PATH...   |   faceid enroll --from-dir DB/
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "faceid/error.hpp"
#include "faceid/video.hpp"
#include "output.hpp"

namespace fs = std::filesystem;

namespace faceid::cli {
namespace {

struct EnrollOptions {
  std::string name;
  std::vector<std::string> paths;
  std::string from_dir;
  std::string video;
  bool strict = false;
  bool liveness = false;
};

// Images of a run that were not enrolled: no face or not judged live (exit 1), unreadable (exit 2).
struct Skipped {
  int no_face = 0;
  int not_live = 0;  // --liveness: a spoof, or a face liveness cannot judge
  int bad_image = 0;
  Skipped& operator+=(const Skipped& other) {
    no_face += other.no_face;
    not_live += other.not_live;
    bad_image += other.bad_image;
    return *this;
  }
};

// Enrolls one person; returns the images skipped as unusable.
Skipped enroll_person(Engine& engine, const std::string& person, const std::vector<EnrollImage>& images,
                  const EnrollOptions& options, const GlobalOptions& globals,
                  std::vector<std::vector<std::string>>& table) {
  if (images.empty()) throw Error(ErrorCode::kBadRequest, "no images to enroll for " + person);
  Skipped skipped;
  int enrolled = 0;
  for (const auto& outcome : engine.enroll(person, images, options.strict)) {
    if (outcome.error == ErrorCode::kNoFace) ++skipped.no_face;
    if (outcome.error == ErrorCode::kBadImage) ++skipped.bad_image;
    if (outcome.error == ErrorCode::kSpoof || outcome.error == ErrorCode::kCannotJudge) ++skipped.not_live;
    if (!outcome.error) ++enrolled;
    if (globals.output_format() == OutputFormat::kJson) {
      auto j = enroll_outcome_json(outcome);
      j["person"] = person;
      print_json_line(j);
    } else {
      table.push_back({person, outcome.source, enroll_status_name(outcome.error),
                       std::to_string(outcome.faces_found), outcome.message});
    }
  }
  const int unusable = skipped.no_face + skipped.not_live + skipped.bad_image;
  std::cerr << person << ": " << enrolled << " enrolled, " << unusable << " skipped, "
            << images.size() - enrolled - unusable << " already enrolled\n";
  return skipped;
}

std::vector<EnrollImage> read_images(const Engine& engine, const std::vector<std::string>& paths) {
  std::vector<EnrollImage> images;
  for (const auto& path : paths)
    for (const auto& file : expand_image_paths(path))
      images.push_back({file, read_file_bytes(file, engine.config().limits.max_file_bytes)});
  return images;
}

// The sharpest, most varied face crops of the one person in a video.
std::vector<EnrollImage> video_images(const Engine& engine, const std::string& video) {
  std::vector<EnrollImage> images;
  const auto faces = capture_faces(engine, video);
  for (std::size_t k = 0; k < faces.size(); ++k)
    images.push_back(captured_face_image(faces[k], video + "#" + std::to_string(k + 1)));
  return images;
}

}  // namespace

void add_enroll_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto options = std::make_shared<EnrollOptions>();
  auto* cmd = app.add_subcommand("enroll", "Enroll a person from images or folders, or a folder of people");
  cmd->add_option("--name", options->name, "Person (user ID) to enroll the images under");
  cmd->add_option("paths", options->paths, "Image files or folders of images");
  cmd->add_option("--from-dir", options->from_dir,
                  "Folder with one sub-folder per person (DB/Username/Username1.jpg ...)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--video", options->video, "Enroll --name from the best face crops of a video or camera");
  cmd->add_flag("--strict", options->strict, "Fail (and enroll nothing) if any image has no usable face");
  add_liveness_flag(cmd, options->liveness);
  cmd->callback([options, &globals, &state] {
    if (options->from_dir.empty() == options->name.empty())
      throw Error(ErrorCode::kBadRequest, "give either --name NAME PATH... or --from-dir DB/");
    if (!options->name.empty() && options->paths.empty() && options->video.empty())
      throw Error(ErrorCode::kBadRequest, "--name needs images, folders or --video");
    EngineConfig config = globals.engine_config();
    config.liveness.enabled = config.liveness.enabled || options->liveness;  // the flag here, or the global key
    auto engine = Engine::open(config);
    engine->set_audit_actor(cli_audit_actor());
    std::vector<std::vector<std::string>> table;
    Skipped skipped;
    if (!options->name.empty()) {
      auto images = read_images(*engine, options->paths);
      if (!options->video.empty()) {
        auto from_video = video_images(*engine, options->video);
        images.insert(images.end(), from_video.begin(), from_video.end());
      }
      skipped = enroll_person(*engine, options->name, images, *options, globals, table);
    } else {
      std::vector<fs::path> people;
      for (const auto& entry : fs::directory_iterator(options->from_dir))
        if (entry.is_directory()) people.push_back(entry.path());
      std::sort(people.begin(), people.end());
      if (people.empty()) throw Error(ErrorCode::kBadRequest, options->from_dir + " has no person sub-folders");
      for (const auto& dir : people)
        skipped += enroll_person(*engine, dir.filename().string(), read_images(*engine, {dir.string()}), *options,
                                 globals, table);
    }
    if (globals.output_format() == OutputFormat::kTable)
      print_table({"PERSON", "SOURCE", "STATUS", "FACES", "NOTE"}, table);
    state.exit_code = skipped.bad_image > 0 ? 2 : skipped.no_face + skipped.not_live > 0 ? 1 : 0;
  });
}

}  // namespace faceid::cli
