#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "faceid/error.hpp"
#include "faceid/models.hpp"
#include "models/builtin_manifest.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace faceid {
namespace {

ModelKind parse_kind(const std::string& name, const std::string& origin) {
  if (name == "detector") return ModelKind::kDetector;
  if (name == "landmarks") return ModelKind::kLandmarks;
  if (name == "embedder") return ModelKind::kEmbedder;
  if (name == "liveness") return ModelKind::kLiveness;
  throw Error(ErrorCode::kBadRequest, origin + ": unknown model kind '" + name + "'");
}

ModelSpec spec_from_json(const json& j, const std::string& origin) {
  ModelSpec s;
  s.name = j.at("name").get<std::string>();
  s.version = j.value("version", "1");
  s.kind = parse_kind(j.at("kind").get<std::string>(), origin);
  s.format = j.at("format").get<std::string>();
  // A fusion has no file of its own: its members have.
  s.file = s.format == "fusion" ? j.value("file", "") : j.at("file").get<std::string>();
  s.sha256 = j.value("sha256", "");
  s.config = j.value("config", "");
  s.config_sha256 = j.value("config_sha256", "");
  s.package = j.value("package", "");
  s.package_path = j.value("package_path", "");
  if (j.contains("input_size")) {
    const auto& size = j.at("input_size");
    s.input_size = cv::Size(size.at(0).get<int>(), size.at(1).get<int>());
  }
  s.rgb = j.value("rgb", false);
  s.mean = j.value("mean", 0.f);
  s.std = j.value("std", 1.f);
  if (s.std == 0.f) throw Error(ErrorCode::kBadRequest, origin + ": model " + s.name + " has std 0");
  s.output_dim = j.value("output_dim", 0);
  s.output = j.value("output", "");
  s.landmarks = j.value("landmarks", "");
  s.crop_scale = j.value("crop_scale", 1.f);
  s.square_crop = j.value("square_crop", false);
  s.live_class = j.value("live_class", 0);
  if (s.crop_scale <= 0.f) throw Error(ErrorCode::kBadRequest, origin + ": model " + s.name + " has crop_scale <= 0");
  s.members = j.value("members", std::vector<std::string>{});
  s.weights = j.value("weights", std::vector<float>{});
  if (s.format == "fusion" && s.members.empty())
    throw Error(ErrorCode::kBadRequest, origin + ": fusion model " + s.name + " lists no members");
  if (j.contains("thresholds"))
    s.thresholds = j.at("thresholds").get<std::map<std::string, float>>();
  if (j.contains("identify_thresholds"))
    s.identify_thresholds = j.at("identify_thresholds").get<std::map<std::string, float>>();
  s.source = j.value("source", "");
  s.license = j.value("license", "");
  return s;
}

json spec_to_json(const ModelSpec& s) {
  json j = {{"name", s.name},     {"version", s.version}, {"kind", model_kind_name(s.kind)},
            {"format", s.format}, {"file", s.file}};
  auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("sha256", s.sha256);
  put("config", s.config);
  put("config_sha256", s.config_sha256);
  put("package", s.package);
  put("package_path", s.package_path);
  if (!s.input_size.empty()) j["input_size"] = {s.input_size.width, s.input_size.height};
  j["rgb"] = s.rgb;
  j["mean"] = s.mean;
  j["std"] = s.std;
  if (s.output_dim) j["output_dim"] = s.output_dim;
  put("output", s.output);
  put("landmarks", s.landmarks);
  if (s.kind == ModelKind::kLiveness) {
    j["crop_scale"] = s.crop_scale;
    j["square_crop"] = s.square_crop;
    j["live_class"] = s.live_class;
  }
  if (!s.members.empty()) j["members"] = s.members;
  if (!s.weights.empty()) j["weights"] = s.weights;
  if (!s.thresholds.empty()) j["thresholds"] = s.thresholds;
  if (!s.identify_thresholds.empty()) j["identify_thresholds"] = s.identify_thresholds;
  put("source", s.source);
  put("license", s.license);
  return j;
}

}  // namespace

const char* model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kDetector: return "detector";
    case ModelKind::kLandmarks: return "landmarks";
    case ModelKind::kEmbedder: return "embedder";
    case ModelKind::kLiveness: return "liveness";
  }
  return "unknown";
}

ModelManifest ModelManifest::parse(const std::string& json_text, const std::string& origin) {
  ModelManifest manifest;
  try {
    const json root = json::parse(json_text);
    if (root.value("format", "") != "faceid-model-manifest")
      throw Error(ErrorCode::kBadRequest, origin + ": not a FaceID model manifest");
    for (const auto& entry : root.at("models")) manifest.upsert(spec_from_json(entry, origin));
    for (const auto& entry : root.value("assets", json::array())) {
      manifest.assets_.push_back({entry.at("file").get<std::string>(), entry.value("sha256", ""),
                                  entry.value("package", ""), entry.value("package_path", "")});
    }
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kBadRequest, origin + ": invalid model manifest: " + e.what());
  }
  return manifest;
}

ModelManifest ModelManifest::builtin() {
  return parse(detail::builtin_manifest_json(), "builtin manifest");
}

ModelManifest ModelManifest::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open model manifest " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

ModelManifest ModelManifest::for_model_dir(const std::string& model_dir) {
  ModelManifest manifest = builtin();
  const fs::path local = fs::path(model_dir) / "manifest.json";
  if (fs::exists(local)) {
    const ModelManifest overlay = load(local.string());
    for (const auto& spec : overlay.models()) manifest.upsert(spec);
  }
  return manifest;
}

std::string ModelManifest::to_json() const {
  json root = {{"format", "faceid-model-manifest"}, {"version", 1}, {"models", json::array()}};
  for (const auto& spec : models_) root["models"].push_back(spec_to_json(spec));
  json assets = json::array();
  for (const auto& a : assets_)
    assets.push_back({{"file", a.file}, {"sha256", a.sha256}, {"package", a.package},
                      {"package_path", a.package_path}});
  root["assets"] = assets;
  return root.dump(2) + "\n";
}

void ModelManifest::save(const std::string& path) const {
  // Write-then-rename so a crash never leaves a half-written manifest.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_json();
    if (!out.flush()) throw Error(ErrorCode::kIo, "cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot replace " + path + ": " + ec.message());
}

const ModelSpec* ModelManifest::find(const std::string& name) const {
  for (const auto& spec : models_)
    if (spec.name == name) return &spec;
  return nullptr;
}

const ModelSpec& ModelManifest::get(const std::string& name) const {
  if (const ModelSpec* spec = find(name)) return *spec;
  std::string known;
  for (const auto& spec : models_) known += (known.empty() ? "" : ", ") + spec.name;
  throw Error(ErrorCode::kNotFound, "unknown model '" + name + "' (known: " + known + ")");
}

void ModelManifest::upsert(const ModelSpec& spec) {
  for (auto& existing : models_) {
    if (existing.name == spec.name) {
      existing = spec;
      return;
    }
  }
  models_.push_back(spec);
}

std::string default_model_dir() {
  if (const char* env = std::getenv("FACEID_MODEL_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return (fs::path(xdg) / "faceid" / "models").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home && *home ? home : ".") / ".cache" / "faceid" / "models").string();
}

}  // namespace faceid
