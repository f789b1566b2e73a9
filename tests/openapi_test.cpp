// docs/openapi.json against the server it describes: a real `faceid serve` on 127.0.0.1 is
// called on every documented route, for its success and its error answers, and each JSON
// answer is checked against the schema the spec gives for that route and status
// (openapi_check.hpp). Every documented operation must have been checked at least once.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "engine/embedding_codec.hpp"
#include "openapi_check.hpp"
#include "run_shell.hpp"
#include "server/http.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

using nlohmann::json;

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// `faceid serve` as a child process on 127.0.0.1 (any free port), over a fresh data folder
// with an admin key. Stopped with SIGTERM, as an operator would.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& serve_args) : data_dir_(test::temp_dir("openapi")) {
    const auto created = test::run_shell(std::string(FACEID_CLI_PATH) + " keys --data-dir '" + data_dir_ +
                                         "' create --admin 2>/dev/null");
    admin_key = json::parse(created.out, nullptr, false).value("key", "");
    std::vector<std::string> args = {FACEID_CLI_PATH, "--model-dir", test::model_dir(), "serve", "--data-dir",
                                     data_dir_,       "--host",      "127.0.0.1",       "--port", "0"};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    start(args);
  }
  ~ServeProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  std::unique_ptr<httplib::Client> client(const std::string& key) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
    c->set_read_timeout(60, 0);
    if (!key.empty()) c->set_default_headers({{"Authorization", "Bearer " + key}});
    return c;
  }
  std::string log() const { return file_text(log_); }

  std::string admin_key;
  int port = 0;

 private:
  void start(const std::vector<std::string>& args) {
    log_ = data_dir_ + "/serve.log";
    pid_ = fork();
    if (pid_ == 0) {
      const int log = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, STDERR_FILENO);
      dup2(open("/dev/null", O_WRONLY), STDOUT_FILENO);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // The server says where it listens once its models are loaded.
    const std::regex serving(R"(serving http://127\.0\.0\.1:(\d+))");
    for (int waited = 0; waited < 1200 && port == 0; ++waited) {
      std::smatch found;
      const std::string text = log();
      if (std::regex_search(text, found, serving)) port = std::stoi(found[1]);
      else if (waitpid(pid_, nullptr, WNOHANG) == pid_) break;
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::string data_dir_;
  std::string log_;
  pid_t pid_ = -1;
};

std::string photo(int n) {
  return file_text(test::model_dir() + "/samples/sample" + std::to_string(n) + ".jpg");
}

json b64(const std::string& bytes) { return base64_encode(bytes.data(), bytes.size()); }

// Sends requests to a server and checks every JSON answer against the spec; remembers which
// documented operations were checked with which statuses.
class SpecChecker {
 public:
  explicit SpecChecker(const test::OpenApiSpec& spec) : spec_(spec) {}

  // The answer's JSON, after checking it (and, when `expected` is set, its status).
  json call(httplib::Client& c, const std::string& method, const std::string& path, const json& body = nullptr,
            std::optional<int> expected = std::nullopt) {
    const httplib::Result r = send(c, method, path, body);
    EXPECT_TRUE(r) << method << " " << path << ": no answer";
    if (!r) return json();
    if (expected) EXPECT_EQ(r->status, *expected) << method << " " << path << ": " << r->body.substr(0, 300);
    return record(method, path, r->status, r->body);
  }
  json call_multipart(httplib::Client& c, const std::string& path, const httplib::MultipartFormDataItems& form,
                      int expected) {
    const httplib::Result r = c.Post(path.c_str(), form);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, expected) << path << ": " << r->body.substr(0, 300);
    return record("POST", path, r->status, r->body);
  }
  json record(const std::string& method, const std::string& target, int status, const std::string& text) {
    const std::string path = target.substr(0, target.find('?'));
    const json body = json::parse(text, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << method << " " << path << " " << status << ": not JSON: " << text.substr(0, 200);
    for (const auto& problem : spec_.violations(method, path, status, body)) ADD_FAILURE() << problem;
    mark(method, path, status);
    return body;
  }
  // Counts an answer the spec does not describe as JSON (a crop is a JPEG).
  void mark(const std::string& method, const std::string& path, int status) {
    if (const auto name = spec_.path_template(path)) {
      std::string op = method;
      std::transform(op.begin(), op.end(), op.begin(), [](unsigned char ch) { return std::tolower(ch); });
      (status < 300 ? succeeded_ : failed_).insert(op + " " + *name);
    }
  }
  const std::set<std::string>& succeeded() const { return succeeded_; }
  const std::set<std::string>& failed() const { return failed_; }

 private:
  static httplib::Result send(httplib::Client& c, const std::string& method, const std::string& path,
                              const json& body) {
    const std::string text = body.is_null() ? "" : body.dump();
    if (method == "GET") return c.Get(path.c_str());
    if (method == "DELETE") return body.is_null() ? c.Delete(path.c_str()) : c.Delete(path.c_str(), text, "application/json");
    if (method == "PUT") return c.Put(path.c_str(), text, "application/json");
    if (method == "PATCH") return c.Patch(path.c_str(), text, "application/json");
    return c.Post(path.c_str(), text.empty() ? "{}" : text, "application/json");
  }

  const test::OpenApiSpec& spec_;
  std::set<std::string> succeeded_, failed_;
};

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override { FACEID_REQUIRE_MODELS(); }
  static test::OpenApiSpec spec() {
    return test::OpenApiSpec(json::parse(file_text(std::string(FACEID_SOURCE_DIR) + "/docs/openapi.json")));
  }
};

// The checker itself catches what it is there to catch.
TEST_F(OpenApiTest, CheckerRefusesWrongTypesMissingAndUndocumentedFields) {
  const auto s = spec();
  const json person = {{"name", "ann"}, {"faces", 2}, {"created_at", "2026-01-01"}};
  const json schema = {{"$ref", "#/components/schemas/Person"}};
  EXPECT_TRUE(s.check(person, schema, "person").empty());
  EXPECT_FALSE(s.check(json{{"name", "ann"}, {"faces", 2}}, schema, "p").empty()) << "missing created_at";
  EXPECT_FALSE(s.check(json{{"name", "ann"}, {"faces", "2"}, {"created_at", ""}}, schema, "p").empty()) << "faces as text";
  json extra = person;
  extra["age"] = 3;
  EXPECT_FALSE(s.check(extra, schema, "p").empty()) << "undocumented field";
  EXPECT_FALSE(s.violations("GET", "/v1/nowhere", 200, json::object()).empty());
  EXPECT_FALSE(s.violations("GET", "/health", 418, json::object()).empty());
}

// Every documented route, its success and its usual refusals, on a real `faceid serve`.
TEST_F(OpenApiTest, RealAnswersOfEveryRouteMatchTheSpec) {
  const auto s = spec();
  ServeProcess server({});
  ASSERT_GT(server.port, 0) << "faceid serve did not start: " << server.log();
  SpecChecker check(s);
  auto admin = server.client(server.admin_key);
  auto nobody = server.client("");
  const std::string c = "/v1/collections/spec";
  const std::string group = photo(1);

  check.call(*nobody, "GET", "/health", nullptr, 200);
  check.call(*nobody, "GET", "/health/live", nullptr, 200);
  check.call(*nobody, "GET", "/health/ready", nullptr, 200);
  check.call(*nobody, "GET", "/v1/collections", nullptr, 401);
  check.call(*admin, "POST", "/v1/collections", {{"name", "spec"}}, 201);
  check.call(*admin, "POST", "/v1/collections", {{"name", "spec"}}, 409);
  check.call(*admin, "GET", "/v1/collections", nullptr, 200);
  check.call(*admin, "GET", c, nullptr, 200);
  check.call(*admin, "GET", "/v1/collections/absent", nullptr, 404);

  const json key = check.call(*admin, "POST", "/v1/keys", {{"collection", "spec"}}, 201);
  auto scoped = server.client(key.value("key", ""));
  check.call(*scoped, "GET", "/v1/collections", nullptr, 403);
  check.call(*scoped, "GET", "/v1/keys", nullptr, 403);
  check.call(*scoped, "GET", "/v1/audit", nullptr, 403);
  check.call(*admin, "POST", "/v1/keys", json::object(), 400);
  check.call(*admin, "GET", "/v1/keys", nullptr, 200);
  check.call(*admin, "POST", "/v1/keys/" + key.value("id", "") + "/rotate", nullptr, 200);
  check.call(*admin, "POST", "/v1/keys/nokey/rotate", nullptr, 404);
  check.call(*admin, "DELETE", "/v1/keys/" + key.value("id", ""), nullptr, 200);
  check.call(*admin, "DELETE", "/v1/keys/nokey", nullptr, 404);

  for (const std::string people : {"/people", "/subjects"}) {
    // Each person with photos of their own: a photo already enrolled is a 409.
    const bool first_round = people == "/people";
    const std::string name = first_round ? "ann" : "bob";
    const std::string one = photo(first_round ? 2 : 4), more = photo(first_round ? 1 : 5);
    const std::string p = c + people + "/" + name;
    check.call(*admin, "POST", c + people, {{"name", name}}, 400);
    check.call(*admin, "POST", c + people, {{"name", name}, {"images", {b64(one)}}}, 201);
    check.call(*admin, "POST", c + people, {{"name", name}, {"images", {b64(one)}}}, 409);
    check.call_multipart(*admin, p + "/faces", {{"images", more, "g.jpg", "image/jpeg"}}, 201);
    check.call(*admin, "POST", p + "/faces", {{"images", {b64(one)}}}, 409);
    check.call(*admin, "GET", c + people, nullptr, 200);
    check.call(*admin, "GET", "/v1/collections/absent" + people, nullptr, 404);
    check.call(*admin, "GET", p, nullptr, 200);
    check.call(*admin, "GET", c + people + "/nobody", nullptr, 404);
    const json faces = check.call(*admin, "GET", p + "/faces", nullptr, 200);
    check.call(*admin, "GET", c + people + "/nobody/faces", nullptr, 404);
    const std::int64_t first = faces["faces"][0]["id"], second = faces["faces"][1]["id"];
    const auto crop = admin->Get((p + "/faces/" + std::to_string(first) + "/crop").c_str());
    ASSERT_TRUE(crop);
    EXPECT_EQ(crop->status, 200);
    EXPECT_EQ(crop->get_header_value("Content-Type"), "image/jpeg");
    check.mark("GET", p + "/faces/1/crop", crop->status);  // the spec's 200 is a JPEG: counted, not parsed
    check.call(*admin, "GET", p + "/faces/999999/crop", nullptr, 404);
    check.call(*admin, "DELETE", p + "/faces/" + std::to_string(first), nullptr, 200);
    check.call(*admin, "DELETE", p + "/faces/999999", nullptr, 404);
    check.call(*admin, "DELETE", p + "/faces", {{"ids", {second, 999999}}}, 200);
    check.call(*admin, "DELETE", p + "/faces", json::object(), 400);
    check.call(*admin, "POST", p + "/faces", {{"images", {b64(photo(first_round ? 3 : 6))}}}, 201);
    check.call(*admin, "PATCH", p, {{"name", name + "2"}}, 200);
    check.call(*admin, "PUT", c + people + "/" + name + "2", {{"name", name}}, 200);
    check.call(*admin, "PUT", c + people + "/nobody", {{"name", "x"}}, 404);
    check.call(*admin, "PATCH", p, json::object(), 400);
  }

  const json recognized = check.call(*admin, "POST", c + "/recognize", {{"image", b64(group)}, {"top_k", 2}}, 200);
  EXPECT_FALSE(recognized["faces"].empty());
  check.call(*admin, "POST", c + "/recognize?prediction_count=2&det_prob_threshold=0.9&min_face_size=30",
             {{"image", b64(group)}}, 200);
  check.call(*admin, "POST", c + "/recognize", {{"image", b64(group)}, {"detect_only", true}}, 200);
  check.call(*admin, "POST", c + "/recognize", {{"image", b64(group)}, {"top_k", 0}}, 400);
  check.call(*admin, "POST", c + "/recognize", {{"image", b64("not an image")}}, 400);
  check.call(*admin, "POST", "/v1/collections/absent/recognize", {{"image", b64(group)}}, 404);
  const std::string one = photo(2);
  const json embedded = check.call(*admin, "POST", "/v1/embed", {{"image", b64(one)}, {"det_threshold", 0.7}}, 200);
  check.call(*admin, "POST", "/v1/embed", json::object(), 400);
  ASSERT_FALSE(embedded["faces"].empty());
  check.call(*admin, "POST", c + "/recognize/embedding", {{"embedding", embedded["faces"][0]["embedding"]}}, 200);
  check.call(*admin, "POST", c + "/recognize/embedding", {{"embedding", json::array()}}, 400);
  check.call(*admin, "POST", c + "/recognize/embedding", {{"embedding", {1.0, 2.0}}}, 409);  // another model's length
  check.call(*admin, "POST", c + "/recognize/embedding",
             {{"embedding", embedded["faces"][0]["embedding"]}, {"model", "other@1"}}, 409);
  check.call(*admin, "POST", c + "/verify", {{"image", b64(one)}, {"person", "ann"}}, 200);
  check.call(*admin, "POST", c + "/verify", {{"image", b64(photo(4))}, {"subject", "bob"}, {"min_face_size", 10}}, 200);
  check.call(*admin, "POST", c + "/verify", {{"image", b64(one)}, {"person", "nobody"}}, 404);
  check.call(*admin, "POST", c + "/verify", {{"image", b64(one)}}, 400);
  check.call(*admin, "POST", "/v1/verify", {{"image_a", b64(one)}, {"image_b", b64(photo(3))}}, 200);
  check.call(*admin, "POST", "/v1/verify", {{"image_a", b64(one)}, {"image_b", b64(one)}, {"det_threshold", 2}}, 400);
  check.call(*admin, "POST", "/v1/detect", {{"image", b64(group)}, {"det_prob_threshold", 0.8}}, 200);
  check.call(*admin, "POST", "/v1/detect", {{"image", b64(group)}, {"min_face_size", -1}}, 400);
  check.call(*nobody, "POST", "/v1/detect", {{"image", b64(group)}}, 401);

  for (const std::string people : {"/people", "/subjects"}) {
    const std::string name = people == "/people" ? "ann" : "bob";
    check.call(*admin, "DELETE", c + people + "/" + name, nullptr, 200);
    check.call(*admin, "DELETE", c + people + "/" + name, nullptr, 404);
  }
  check.call(*admin, "DELETE", c, nullptr, 200);
  check.call(*admin, "DELETE", c, nullptr, 404);
  check.call(*admin, "GET", "/v1/audit?limit=5&since=2020-01-01", nullptr, 200);
  check.call(*admin, "GET", "/v1/audit?limit=0", nullptr, 400);
  check.call(*nobody, "GET", "/v1/audit", nullptr, 401);

  // Every JSON operation was checked answering both ways (the pages and /metrics are not JSON).
  const std::set<std::string> not_json = {"get /", "get /docs", "get /openapi.json", "get /metrics"};
  const std::set<std::string> never_refused = {"get /health", "get /health/live", "get /health/ready"};
  for (const auto& op : s.operations()) {
    if (not_json.count(op)) continue;
    EXPECT_TRUE(check.succeeded().count(op)) << op << ": no success answer checked";
    if (!never_refused.count(op) && op != "get " + std::string("/v1/collections/{collection}/people/{person}/faces/{face_id}/crop") &&
        op != "get /v1/collections/{collection}/subjects/{subject}/faces/{face_id}/crop")
      EXPECT_TRUE(check.failed().count(op)) << op << ": no error answer checked";
  }
}

// Load shedding answers as documented: 503 with Retry-After and the error shape, when a
// request waited past --queue-timeout-ms.
TEST_F(OpenApiTest, ShedRequestsAnswer503AsDocumented) {
  const auto s = spec();
  ServeProcess server({"--workers", "1", "--queue", "16", "--queue-timeout-ms", "0", "--no-auth"});
  ASSERT_GT(server.port, 0) << server.log();
  const std::string group = photo(1);
  std::vector<std::future<httplib::Result>> answers;
  for (int i = 0; i < 6; ++i)
    answers.push_back(std::async(std::launch::async, [&] {
      return server.client("")->Post("/v1/detect", json{{"image", b64(group)}}.dump(), "application/json");
    }));
  int shed = 0;
  for (auto& answer : answers) {
    const httplib::Result r = answer.get();
    ASSERT_TRUE(r);
    if (r->status != 503) continue;
    ++shed;
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    EXPECT_NE(r->body.find("waited"), std::string::npos) << r->body;
    for (const auto& problem : s.violations("POST", "/v1/detect", 503, json::parse(r->body))) ADD_FAILURE() << problem;
  }
  EXPECT_GE(shed, 1) << "six detections at once on one worker, none allowed to wait";
}

}  // namespace
}  // namespace faceid
