#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "faceid/error.hpp"
#include "faceid/json_numbers.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace faceid::cli {

json to_json(const Detection& d) {
  json landmarks = json::array();
  for (const auto& p : d.landmarks) landmarks.push_back({json_pixels(p.x), json_pixels(p.y)});
  return {{"box", {json_pixels(d.box.x), json_pixels(d.box.y), json_pixels(d.box.width), json_pixels(d.box.height)}},
          {"detection_score", json_score(d.score)},
          {"landmarks", landmarks}};
}

void add_liveness(json& face, const std::optional<LivenessResult>& liveness) {
  if (!liveness) return;
  if (liveness->judged()) {
    face["live"] = {{"score", json_score(*liveness->score)}, {"is_live", liveness->is_live},
                    {"threshold", json_score(liveness->threshold)}};
  } else {
    face["live"] = nullptr;
    face["live_reason"] = liveness->reason;
  }
}

json to_json(const FaceResult& face) {
  json j = to_json(face.detection);
  // A face refused by liveness is reported as what it is, never under a name.
  const bool refused = face.liveness && liveness_refusal(*face.liveness);
  j["person"] = face.person ? json(*face.person) : refused ? json(liveness_status(*face.liveness)) : json("unknown");
  add_liveness(j, face.liveness);
  j["score"] = json_score(face.score);
  j["threshold"] = json_score(face.threshold);
  j["best"] = face.best ? json{{"person", face.best->person}, {"score", json_score(face.best->score)}} : json(nullptr);
  j["runner_up"] =
      face.runner_up ? json{{"person", face.runner_up->person}, {"score", json_score(face.runner_up->score)}}
                     : json(nullptr);
  return j;
}

json to_json(const EnrollOutcome& o) {
  json j = {{"source", o.source}, {"status", enroll_status_name(o.status)}, {"faces_found", o.faces_found}};
  if (o.face_id) j["face_id"] = *o.face_id;
  if (o.detection) j["face"] = to_json(*o.detection);
  if (!o.message.empty()) j["message"] = o.message;
  add_liveness(j, o.liveness);
  return j;
}

json to_json(const VerifyResult& r) {
  json j = {{"same_person", r.same_person}, {"score", json_score(r.score)},     {"threshold", json_score(r.threshold)},
            {"metric", metric_name(r.metric)}, {"norm", score_norm_name(r.norm)},
            {"faces_in_a", r.faces_in_a}, {"faces_in_b", r.faces_in_b},
            {"face_a", to_json(r.face_a)},   {"face_b", to_json(r.face_b)}};
  add_liveness(j["face_a"], r.liveness_a);
  add_liveness(j["face_b"], r.liveness_b);
  return j;
}

json error_json(const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}};
}

std::string format_score(float value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      std::cout << row[c];
      if (c + 1 < row.size()) std::cout << std::string(widths[c] - row[c].size() + 2, ' ');
    }
    std::cout << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
  std::cout << std::flush;
}

std::vector<std::string> expand_image_paths(const std::string& path) {
  std::error_code ec;
  // Anything but a folder (a file, a FIFO, a symlink loop, a missing path) goes to
  // read_file_bytes as it is, which refuses what is not a regular file with a clear message.
  if (!fs::is_directory(path, ec)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file(ec)) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp")
      files.push_back(entry.path().string());
  }
  if (files.empty())
    throw Error(ErrorCode::kBadRequest, "folder " + path + " has no images (.jpg, .jpeg, .png, .bmp, .webp)");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace faceid::cli
