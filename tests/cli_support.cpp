#include "cli_support.hpp"

#include <filesystem>
#include <sstream>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid::test {

RunResult run_cli(const std::string& gallery, const std::string& args, const std::string& model_dir) {
  const std::string command = std::string(FACEID_CLI_PATH) + " --gallery '" + gallery + "' --model-dir '" +
                              (model_dir.empty() ? test::model_dir() : model_dir) + "' " + args + " 2>/dev/null";
  return run_shell(command);
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

std::string make_people_folder(const std::string& root, const std::map<std::string, std::vector<std::string>>& people) {
  for (const auto& [person, files] : people) {
    fs::create_directories(fs::path(root) / person);
    for (std::size_t k = 0; k < files.size(); ++k)
      fs::copy_file(files[k], fs::path(root) / person / (person + std::to_string(k + 1) + ".jpg"));
  }
  return root;
}

}  // namespace faceid::test
