// Enrolls one photo per person into a throw-away gallery, then names the faces of another photo.
//
//   who_is_this PHOTO alice=alice.jpg bob=bob.jpg ...
//
// Uses the installed default models (`faceid models install`); exits 2 on any error.
#include <faceid/faceid.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " PHOTO NAME=ENROLL_PHOTO...\n";
    return 2;
  }
  try {
    faceid::EngineConfig config;
    config.gallery = ":memory:";
    const auto engine = faceid::Engine::open(config);
    for (int i = 2; i < argc; ++i) {
      const std::string arg = argv[i];
      const auto eq = arg.find('=');
      if (eq == std::string::npos || eq == 0)
        throw faceid::Error(faceid::ErrorCode::kBadRequest, "expected NAME=PHOTO, got " + arg);
      const std::string name = arg.substr(0, eq), path = arg.substr(eq + 1);
      const auto bytes = faceid::read_file_bytes(path, faceid::ImageLimits{}.max_file_bytes);
      const auto outcomes = engine->enroll(name, {{path, bytes}}, /*strict=*/true);
      std::cout << "enrolled " << name << " (" << faceid::enroll_status_name(outcomes.at(0).error) << ")\n";
    }
    const cv::Mat photo = faceid::load_image(argv[1]);
    for (const auto& face : engine->identify(photo))
      std::cout << face.person.value_or("unknown") << " score " << face.score << " at " << face.detection.box << "\n";
    return 0;
  } catch (const faceid::Error& e) {
    std::cerr << faceid::error_code_name(e.code()) << ": " << e.what() << "\n";
    return 2;
  }
}
