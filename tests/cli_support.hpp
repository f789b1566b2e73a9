#pragma once
// Running the `faceid` binary from tests: exit status and the JSON lines it prints.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_shell.hpp"

namespace faceid::test {

using RunResult = ShellResult;

// `faceid --gallery G --model-dir M ARGS`, stderr dropped; M "" = the installed models.
RunResult run_cli(const std::string& gallery, const std::string& args, const std::string& model_dir = "");
std::vector<nlohmann::json> json_lines(const std::string& text);
// DB/<person>/<person><k>.jpg, the layout the team already uses.
std::string make_people_folder(const std::string& root, const std::map<std::string, std::vector<std::string>>& people);

}  // namespace faceid::test
