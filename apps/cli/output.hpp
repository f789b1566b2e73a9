#pragma once
// Table rendering and input expansion shared by the CLI commands; the JSON of results
// is the library's (faceid/json.hpp), the same as the REST server's.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceid/engine.hpp"
#include "faceid/json.hpp"

namespace faceid::cli {

nlohmann::json error_json(const std::string& code, const std::string& message);

// Prints rows as aligned columns with a header line.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

std::string format_score(float value);

// Image files of a folder (jpg, jpeg, png, bmp, webp), sorted by name; a file path as it is.
// Error(kBadRequest) for a folder without images.
std::vector<std::string> expand_image_paths(const std::string& path);

}  // namespace faceid::cli
