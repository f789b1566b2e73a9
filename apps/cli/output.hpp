#pragma once
// JSON shapes and table rendering shared by the CLI commands.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceid/engine.hpp"

namespace faceid::cli {

nlohmann::json to_json(const Detection& detection);
nlohmann::json to_json(const FaceResult& face);
nlohmann::json to_json(const EnrollOutcome& outcome);
nlohmann::json to_json(const VerifyResult& result);
// {"score", "is_live", "threshold"} of a judged face; null when not judged (the reason is
// then put under "live_reason" by add_liveness()).
void add_liveness(nlohmann::json& face, const std::optional<LivenessResult>& liveness);
nlohmann::json error_json(const std::string& code, const std::string& message);

// Prints rows as aligned columns with a header line.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

std::string format_score(float value);

// Image files of a folder (jpg, jpeg, png, bmp, webp), sorted by name; a file path as it is.
// Error(kBadRequest) for a folder without images.
std::vector<std::string> expand_image_paths(const std::string& path);

}  // namespace faceid::cli
