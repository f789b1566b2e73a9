#pragma once
// A running REST server for tests: in-process, on 127.0.0.1 (any free port), over a
// fresh data folder (or `data_dir`, shared with another server), with an admin key.
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "faceid/server.hpp"
#include "server/http.hpp"
#include "test_support.hpp"

namespace faceid::test {

// The installed default models (and an in-memory gallery, should an engine share them):
// servers keep their galleries in collections.
inline std::shared_ptr<const Pipeline> open_server_models() {
  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = model_dir();
  return Pipeline::open(config);
}

class ServerHarness {
 public:
  explicit ServerHarness(const Pipeline& models, ServerOptions options = {}, const std::string& store_template = "",
                         const std::string& data_dir = "")
      : data_dir_(data_dir.empty() ? temp_dir("server") : data_dir),
        collections_(models, {data_dir_, store_template}),
        keys_(data_dir_ + "/keys.json") {
    admin_key = keys_.create("").secret;
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<RestServer>(models, collections_, keys_, options);
    port = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~ServerHarness() { stop(); }
  ServerHarness(const ServerHarness&) = delete;
  ServerHarness& operator=(const ServerHarness&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }

  // A client sending `key` (if any) as its bearer token.
  std::unique_ptr<httplib::Client> client(const std::string& key) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(60, 0);
    if (!key.empty()) c->set_default_headers({{"Authorization", "Bearer " + key}});
    return c;
  }
  std::unique_ptr<httplib::Client> admin() const { return client(admin_key); }

  // A new collection and a key scoped to it.
  std::string collection(const std::string& name) {
    const auto r = admin()->Post("/v1/collections", nlohmann::json{{"name", name}}.dump(), "application/json");
    EXPECT_EQ(r ? r->status : 0, 201) << (r ? r->body : "no response");
    return keys_.create(name).secret;
  }

  ApiKeyStore& keys() { return keys_; }
  const std::string& data_dir() const { return data_dir_; }

  std::string admin_key;
  int port = 0;

 private:
  std::string data_dir_;
  CollectionSet collections_;
  ApiKeyStore keys_;
  std::unique_ptr<RestServer> server_;
  std::thread thread_;
};

}  // namespace faceid::test
