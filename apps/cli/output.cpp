#include "output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "faceid/error.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace faceid::cli {

namespace {
json round2(float v) { return std::round(v * 100.f) / 100.f; }
json round4(float v) { return std::round(v * 10000.f) / 10000.f; }
}  // namespace

json to_json(const Detection& d) {
  json landmarks = json::array();
  for (const auto& p : d.landmarks) landmarks.push_back({round2(p.x), round2(p.y)});
  return {{"box", {round2(d.box.x), round2(d.box.y), round2(d.box.width), round2(d.box.height)}},
          {"detection_score", round4(d.score)},
          {"landmarks", landmarks}};
}

json to_json(const FaceResult& face) {
  json j = to_json(face.detection);
  j["person"] = face.person ? json(*face.person) : json("unknown");
  j["score"] = round4(face.score);
  j["threshold"] = round4(face.threshold);
  j["best"] = face.best ? json{{"person", face.best->person}, {"score", round4(face.best->score)}} : json(nullptr);
  j["runner_up"] =
      face.runner_up ? json{{"person", face.runner_up->person}, {"score", round4(face.runner_up->score)}}
                     : json(nullptr);
  return j;
}

json to_json(const EnrollOutcome& o) {
  json j = {{"source", o.source}, {"status", enroll_status_name(o.status)}, {"faces_found", o.faces_found}};
  if (o.face_id) j["face_id"] = *o.face_id;
  if (o.detection) j["face"] = to_json(*o.detection);
  if (!o.message.empty()) j["message"] = o.message;
  return j;
}

json to_json(const VerifyResult& r) {
  return {{"same_person", r.same_person}, {"score", round4(r.score)},     {"threshold", round4(r.threshold)},
          {"metric", metric_name(r.metric)}, {"norm", score_norm_name(r.norm)},
          {"faces_in_a", r.faces_in_a}, {"faces_in_b", r.faces_in_b},
          {"face_a", to_json(r.face_a)},   {"face_b", to_json(r.face_b)}};
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
  if (!fs::exists(path)) throw Error(ErrorCode::kNotFound, "no such file or folder: " + path);
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp")
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace faceid::cli
