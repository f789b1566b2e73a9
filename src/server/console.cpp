// The console and Swagger UI pages. The console's own files are compiled in (web/); Swagger UI
// is the npm package swagger-ui-dist, installed with the models and served from the model folder.
#include "server/console.hpp"

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

#include "faceid/error.hpp"
#include "faceid/models.hpp"
#include "server/web_assets.hpp"

namespace faceid::server_detail {
namespace {

// Manifest assets under this folder of the model directory are Swagger UI's files.
constexpr std::string_view kSwaggerFolder = "swagger-ui/";

// Pages load scripts, styles and data from this server only. Webcam frames are drawn from
// blob:/mediastream: URLs; face crops are fetched with the key and shown as blob: images.
constexpr const char* kConsolePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";
// Swagger UI sets inline styles and draws its icons from data: URLs.
constexpr const char* kDocsPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct StaticFile {
  std::string body;
  std::string content_type;
  std::string etag;
};

std::string content_type_of(std::string_view path) {
  const auto ends_with = [path](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  return "text/plain; charset=utf-8";
}

StaticFile static_file(std::string body, std::string_view path) {
  StaticFile file{std::move(body), content_type_of(path), {}};
  file.etag = "\"" + sha256_hex(file.body.data(), file.body.size()).substr(0, 32) + "\"";
  return file;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void set_page_headers(httplib::Response& res, const char* policy) {
  res.set_header("Content-Security-Policy", policy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Permissions-Policy", "camera=(self), microphone=(), geolocation=()");
}

// The file, or 304 when the browser's copy (If-None-Match) is current. Browsers revalidate
// every time (no-cache), so a new binary's console is picked up at once.
void send_file(const httplib::Request& req, httplib::Response& res, const StaticFile& file, const char* policy) {
  set_page_headers(res, policy);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("ETag", file.etag);
  if (req.get_header_value("If-None-Match") == file.etag) {
    res.status = 304;
    return;
  }
  res.set_content(file.body, file.content_type);
}

// Swagger UI's files from the model folders, loaded and hash-checked on first use and
// kept; retried on each request until they are installed.
class SwaggerUi {
 public:
  explicit SwaggerUi(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}

  using Files = std::map<std::string, StaticFile>;  // by name inside swagger-ui/

  // The files, or nullptr with the reason in `why`.
  std::shared_ptr<const Files> files(std::string& why) {
    std::lock_guard lock(mutex_);
    if (loaded_) return loaded_;
    auto files = std::make_shared<Files>();
    const ModelManifest manifest = ModelManifest::builtin();
    for (const auto& asset : manifest.assets()) {
      if (asset.file.rfind(kSwaggerFolder, 0) != 0) continue;
      const std::string path = find_model_file(asset.file, dirs_);
      if (path.empty()) {
        why = asset.file + " is not in the model folder " + dirs_.front();
        return nullptr;
      }
      if (const std::string actual = sha256_file(path); actual != asset.sha256) {
        why = path + " has SHA-256 " + actual + ", expected " + asset.sha256 + " (" + asset.package + ")";
        return nullptr;
      }
      std::ifstream in(path, std::ios::binary);
      std::ostringstream body;
      body << in.rdbuf();
      if (!in) {
        why = "cannot read " + path;
        return nullptr;
      }
      const std::string name = asset.file.substr(kSwaggerFolder.size());
      files->emplace(name, static_file(body.str(), name));
    }
    if (files->empty()) {
      why = "the model manifest lists no Swagger UI files";
      return nullptr;
    }
    loaded_ = files;
    return loaded_;
  }

 private:
  std::vector<std::string> dirs_;
  std::mutex mutex_;
  std::shared_ptr<const Files> loaded_;
};

}  // namespace

void add_console_routes(httplib::Server& http, const EngineConfig& config) {
  auto compiled = std::make_shared<std::map<std::string, StaticFile>>();
  for (const auto& asset : web_assets())
    compiled->emplace(std::string(asset.path), static_file(std::string(asset.body), asset.path));
  const auto page = [compiled](const std::string& path) -> const StaticFile& {
    const auto it = compiled->find(path);
    if (it == compiled->end()) throw Error(ErrorCode::kIo, "web/" + path + " was not compiled in");
    return it->second;
  };
  std::vector<std::string> dirs{config.model_dir};
  dirs.insert(dirs.end(), config.extra_model_dirs.begin(), config.extra_model_dirs.end());
  auto swagger = std::make_shared<SwaggerUi>(dirs);

  const StaticFile console_index = page("console/index.html");
  const StaticFile docs_index = page("docs/index.html");
  const std::string missing_template(page("docs/missing.html").body);

  http.Get("/", [console_index](const httplib::Request& req, httplib::Response& res) {
    send_file(req, res, console_index, kConsolePolicy);
  });
  // An unknown name answers 404 with an empty body, which the server's error handler fills in.
  http.Get(R"(/console/([A-Za-z0-9_.-]+))", [compiled](const httplib::Request& req, httplib::Response& res) {
    const auto it = compiled->find("console/" + req.matches[1].str());
    if (it == compiled->end()) {
      res.status = 404;
      return;
    }
    send_file(req, res, it->second, kConsolePolicy);
  });
  http.Get("/docs", [swagger, docs_index, missing_template](const httplib::Request& req, httplib::Response& res) {
    std::string why;
    if (swagger->files(why)) return send_file(req, res, docs_index, kDocsPolicy);
    set_page_headers(res, kConsolePolicy);
    res.set_header("Cache-Control", "no-store");
    std::string body = missing_template;
    const std::string placeholder = "{{reason}}";
    if (const auto at = body.find(placeholder); at != std::string::npos) body.replace(at, placeholder.size(), html_escape(why));
    res.status = 404;
    res.set_content(body, "text/html; charset=utf-8");
  });
  http.Get(R"(/docs/([A-Za-z0-9_.-]+))", [swagger, compiled](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1].str();
    if (const auto it = compiled->find("docs/" + name); it != compiled->end())
      return send_file(req, res, it->second, kDocsPolicy);
    std::string why;
    if (const auto files = swagger->files(why)) {
      if (const auto it = files->find(name); it != files->end()) return send_file(req, res, it->second, kDocsPolicy);
    }
    res.status = 404;
  });
}

}  // namespace faceid::server_detail
