// The REST server's browser pages (src/server/console.cpp): the compiled-in console, its headers,
// and Swagger UI served from the model folder only when its files have the pinned hashes.
#include <filesystem>
#include <fstream>
#include <thread>

#include "faceid/engine.hpp"
#include "faceid/models.hpp"
#include "faceid/server.hpp"
#include "server/http.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

namespace fs = std::filesystem;

// A server whose engine looks for Swagger UI in `model_dir` (the default models are linked in).
class ConsoleServer {
 public:
  explicit ConsoleServer(const std::string& model_dir) : data_dir_(test::temp_dir("console")) {
    for (const char* file : {"fr_detect.onnx", "fr_landmark.onnx", "fr_feature.onnx"})
      fs::create_symlink(fs::path(test::model_dir()) / file, fs::path(model_dir) / file);
    EngineConfig config;
    config.gallery = ":memory:";
    config.model_dir = model_dir;
    models_ = Pipeline::open(config);
    collections_ = std::make_unique<CollectionSet>(*models_, CollectionSetOptions{data_dir_, ""});
    keys_ = std::make_unique<ApiKeyStore>(data_dir_ + "/keys.json");
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<RestServer>(*models_, *collections_, *keys_, options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~ConsoleServer() {
    server_->stop();
    thread_.join();
  }
  httplib::Result get(const std::string& path, const httplib::Headers& headers = {}) {
    httplib::Client client("127.0.0.1", port_);
    return client.Get(path, headers);
  }

 private:
  std::string data_dir_;
  std::shared_ptr<const Pipeline> models_;
  std::unique_ptr<CollectionSet> collections_;
  std::unique_ptr<ApiKeyStore> keys_;
  std::unique_ptr<RestServer> server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(Console, PagesLoadWithoutAKeyWithSelfOnlyPolicy) {
  FACEID_REQUIRE_MODELS();
  ConsoleServer server(test::temp_dir("console-models"));
  const auto page = server.get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("/console/console.js"), std::string::npos);
  const std::string policy = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("connect-src 'self'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe"), std::string::npos) << "the console needs no inline code: " << policy;
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");

  const auto script = server.get("/console/console.js");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  const std::string etag = script->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  const auto cached = server.get("/console/console.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->status, 304);
  EXPECT_TRUE(cached->body.empty());

  const auto absent = server.get("/console/absent.js");
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->status, 404);
  EXPECT_NE(absent->body.find("\"not_found\""), std::string::npos) << absent->body;
  // The pages are public; the API behind them is not, and its answers are never cached.
  const auto api = server.get("/v1/collections");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_EQ(api->get_header_value("Cache-Control"), "no-store");
}

TEST(Console, SwaggerUiIsServedOnlyWhenInstalledWithThePinnedHashes) {
  FACEID_REQUIRE_MODELS();
  std::vector<AssetSpec> swagger;
  const ModelManifest manifest = ModelManifest::builtin();
  for (const auto& asset : manifest.assets())
    if (asset.file.rfind("swagger-ui/", 0) == 0) swagger.push_back(asset);
  ASSERT_FALSE(swagger.empty()) << "the manifest pins Swagger UI's files";

  const std::string models = test::temp_dir("console-models");
  ConsoleServer server(models);
  const auto missing = server.get("/docs");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("faceid models install"), std::string::npos) << missing->body;
  EXPECT_NE(missing->body.find(swagger.front().file + " is not in the model folder"), std::string::npos) << missing->body;
  EXPECT_EQ(server.get("/docs/swagger-ui-bundle.js")->status, 404);

  // Files that are there but are not the pinned ones are refused too.
  fs::create_directories(fs::path(models) / "swagger-ui");
  for (const auto& asset : swagger) std::ofstream(fs::path(models) / asset.file) << "not swagger";
  const auto tampered = server.get("/docs");
  ASSERT_TRUE(tampered);
  EXPECT_EQ(tampered->status, 404);
  EXPECT_NE(tampered->body.find("has SHA-256"), std::string::npos) << tampered->body;

  // The installed package (when `faceid models install` has run here) is served as it is.
  const std::string installed = find_model_file(swagger.front().file, {test::model_dir()});
  if (installed.empty()) GTEST_SKIP() << "Swagger UI is not installed in " << test::model_dir();
  for (const auto& asset : swagger)
    fs::copy_file(fs::path(test::model_dir()) / asset.file, fs::path(models) / asset.file,
                  fs::copy_options::overwrite_existing);
  const auto docs = server.get("/docs");
  ASSERT_TRUE(docs);
  EXPECT_EQ(docs->status, 200);
  EXPECT_NE(docs->body.find("/docs/swagger-ui-bundle.js"), std::string::npos);
  const auto bundle = server.get("/docs/swagger-ui-bundle.js");
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->status, 200);
  EXPECT_EQ(sha256_hex(bundle->body.data(), bundle->body.size()),
            sha256_file((fs::path(models) / "swagger-ui/swagger-ui-bundle.js").string()));
}

}  // namespace
}  // namespace faceid
