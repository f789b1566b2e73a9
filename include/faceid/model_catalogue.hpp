#pragma once
// The models catalogue: every model the manifest knows, what it is, how good it measured,
// whether it is installed here, and how to install it (npm package, official URL, or a local copy).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "faceid/models.hpp"

namespace faceid {

struct CatalogueEntry {
  ModelSpec spec;
  std::string url;          // the model's official release ("" = none recorded)
  std::int64_t size_bytes = 0;  // of `spec.file` (0 = not recorded)
  std::string accuracy;     // headline figure from docs/accuracy.md, with what it was measured on
  std::string status;       // "ok" (installed) | "missing" | "bad hash"
  std::string path;         // where the file was found ("" when missing)
  // How this model can be installed: any of "npm", "url", "from" (a local copy, always possible).
  std::vector<std::string> install_ways() const;
};

// The manifest's models with their catalogue fields (url, size, accuracy) and install status
// in `search_dirs`. `manifest_path` "" = the builtin manifest overlaid by <model-dir>/manifest.json.
std::vector<CatalogueEntry> model_catalogue(const std::string& manifest_path, const std::string& model_dir,
                                            const std::vector<std::string>& search_dirs);

// Installs model `name` (its file and its config file, if any) into `model_dir`, SHA-256 checked:
// from `from_path` (a file or a folder holding it) when given, else from its npm package, else
// from its URL. A fusion installs its members. Throws Error(kModelInvalid) naming the three ways
// when none works, Error(kNotFound) for an unknown name.
void install_model(const std::vector<CatalogueEntry>& catalogue, const std::string& name, const std::string& model_dir,
                   const std::string& from_path, const std::function<void(const std::string&)>& log);

// `problem` (e.g. "model file X not found (searched: ...)") followed by the three ways to install `spec`.
std::string install_hint(const ModelSpec& spec, const std::string& problem);

}  // namespace faceid
