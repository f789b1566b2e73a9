// End-to-end tests of the REST server: a real server on 127.0.0.1 (any free port),
// real HTTP clients, real face photos (crops of the installed group photos).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/embedding_codec.hpp"
#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/server.hpp"
#include "server/http.hpp"
#include "server/rest_request.hpp"
#include "server_harness.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string sample(int n) { return test::model_dir() + "/samples/sample" + std::to_string(n) + ".jpg"; }

std::string to_string(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::string jpeg(const cv::Mat& image, int quality = 92) {
  std::vector<std::uint8_t> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
  return to_string(bytes);
}

// A photo of one face: the region around a detected face with `margin` box sizes
// of context, shifted by `shift` pixels (each variant is a distinct file).
std::string face_photo(const cv::Mat& photo, const Detection& face, float margin, int shift = 0) {
  const float side = std::max(face.box.width, face.box.height) * margin;
  const cv::Point2f centre(face.box.x + face.box.width / 2 + shift, face.box.y + face.box.height / 2);
  cv::Rect region(cv::Point(cvRound(centre.x - side / 2), cvRound(centre.y - side / 2)),
                  cv::Size(cvRound(side), cvRound(side)));
  region &= cv::Rect(0, 0, photo.cols, photo.rows);
  cv::Mat crop;
  cv::resize(photo(region), crop, cv::Size(), 240.0 / region.width, 240.0 / region.width);
  return jpeg(crop);
}

json parse(const httplib::Result& result) {
  if (!result) return json{{"transport_error", httplib::to_string(result.error())}};
  return json::parse(result->body, nullptr, false);
}

// The shared harness, with the connection and queue sizes these cases need: they check
// results under concurrency, not load shedding (tests/hostile/server_test.cpp does that).
class Harness : public test::ServerHarness {
 public:
  explicit Harness(const Pipeline& models, ServerOptions options = {}, const std::string& store_template = "",
                   const std::string& data_dir = "")
      : test::ServerHarness(models, concurrent(options), store_template, data_dir) {}

 private:
  static ServerOptions concurrent(ServerOptions options) {
    options.threads = 8;
    options.max_waiting = 64;
    return options;
  }
};

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::models_installed()) return;
    models_ = test::open_server_models();
    ServerOptions options;
    options.max_body_bytes = 4u << 20;
    options.image_limits.max_decoded_pixels = 20'000'000;
    server_ = new Harness(*models_, options);
    // Three different people, each as several distinct one-face photos.
    group_ = cv::imread(sample(1));
    auto faces = models_->detect(group_);
    ASSERT_GE(faces.size(), 3u) << sample(1) << " should show at least three people";
    for (int person = 0; person < 3; ++person) {
      std::vector<std::string> photos;
      for (int variant = 0; variant < 8; ++variant)
        photos.push_back(face_photo(group_, faces[person], 2.0f + 0.15f * variant, variant % 3 - 1));
      people_.push_back(photos);
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    models_.reset();
  }
  void SetUp() override { FACEID_REQUIRE_MODELS(); }

  static httplib::Result post_json(httplib::Client& c, const std::string& path, const json& body) {
    return c.Post(path.c_str(), body.dump(), "application/json");
  }
  static json image_json(const std::string& bytes) { return base64_encode(bytes.data(), bytes.size()); }

  static void expect_error(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    const json body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.contains("error")) << r->body;
    EXPECT_EQ(body["error"]["code"], code) << r->body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }

  static inline std::shared_ptr<const Pipeline> models_;
  static inline Harness* server_ = nullptr;
  static inline cv::Mat group_;
  static inline std::vector<std::vector<std::string>> people_;
};

TEST_F(ServerTest, HealthAndOpenApiArePublic) {
  auto c = server_->client("");
  const json health = parse(c->Get("/health"));
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["model"], models_->embedder_model_id());
  const json spec = parse(c->Get("/openapi.json"));
  ASSERT_TRUE(spec.contains("paths"));
  EXPECT_TRUE(spec["paths"].contains("/v1/collections/{collection}/recognize"));
  EXPECT_TRUE(spec["paths"].contains("/v1/verify"));
}

TEST_F(ServerTest, AuthFailuresAreRefused) {
  const std::string key = server_->collection("auth_a");
  server_->collection("auth_b");
  expect_error(server_->client("")->Get("/v1/collections/auth_a/people"), 401, "unauthorized");
  expect_error(server_->client("fid_0000_nope")->Get("/v1/collections/auth_a/people"), 401, "unauthorized");
  expect_error(server_->client(key + "x")->Get("/v1/collections/auth_a/people"), 401, "unauthorized");
  EXPECT_EQ(server_->client(key)->Get("/v1/collections/auth_a/people")->status, 200);
  expect_error(server_->client(key)->Get("/v1/collections/auth_b/people"), 403, "forbidden");
  expect_error(server_->client(key)->Get("/v1/collections"), 403, "forbidden");
  expect_error(server_->client(key)->Get("/metrics"), 403, "forbidden");
  auto by_header = server_->client("");
  by_header->set_default_headers({{"X-API-Key", key}});
  EXPECT_EQ(by_header->Get("/v1/collections/auth_a")->status, 200);

  // Rotation invalidates the old secret at once; revocation the key.
  std::string id;
  for (const auto& info : server_->keys().list())
    if (info.collection == "auth_a") id = info.id;
  const std::string rotated = server_->keys().rotate(id).secret;
  expect_error(server_->client(key)->Get("/v1/collections/auth_a"), 401, "unauthorized");
  EXPECT_EQ(server_->client(rotated)->Get("/v1/collections/auth_a")->status, 200);
  server_->keys().revoke(id);
  expect_error(server_->client(rotated)->Get("/v1/collections/auth_a"), 401, "unauthorized");
}

TEST_F(ServerTest, KeysAreStoredHashedOnly) {
  const auto created = server_->keys().create("hashed");
  std::ifstream in(server_->data_dir() + "/keys.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(created.secret), std::string::npos);
  EXPECT_NE(text.find(created.info.id), std::string::npos);
  EXPECT_EQ(fs::status(server_->data_dir() + "/keys.json").permissions() & fs::perms::others_read, fs::perms::none);
  ASSERT_TRUE(server_->keys().authenticate(created.secret));
  std::string wrong = created.secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';  // a different last character, whatever it was
  EXPECT_FALSE(server_->keys().authenticate(wrong));
}

// Every route x every kind of caller: the admin key, a key of the collection in the path, a key
// of another collection, no key. "Allowed" means the request got past authorisation (any status
// but 401 / 403: an empty body is a 400, a missing subject a 404).
TEST_F(ServerTest, AuthMatrixOfEveryRoute) {
  const std::string own_key = server_->collection("matrix_own");
  const std::string other_key = server_->collection("matrix_other");
  enum class Who { kAdmin, kOwn, kOther, kNone };
  enum class Rule { kPublic, kAdmin, kCollection, kAnyKey };
  struct Route {
    const char* method;
    std::string path;
    Rule rule;
  };
  const std::string c = "/v1/collections/matrix_own";
  const std::vector<Route> routes = {
      {"GET", "/health", Rule::kPublic},
      {"GET", "/openapi.json", Rule::kPublic},
      {"GET", "/metrics", Rule::kAdmin},
      {"GET", "/v1/audit", Rule::kAdmin},
      {"GET", "/v1/collections", Rule::kAdmin},
      {"POST", "/v1/collections", Rule::kAdmin},
      {"DELETE", "/v1/collections/matrix_absent", Rule::kAdmin},
      {"GET", c, Rule::kCollection},
      {"POST", c + "/recognize", Rule::kCollection},
      {"POST", c + "/recognize/embedding", Rule::kCollection},
      {"POST", c + "/verify", Rule::kCollection},
      {"GET", c + "/people", Rule::kCollection},
      {"POST", c + "/people", Rule::kCollection},
      {"GET", c + "/people/nobody", Rule::kCollection},
      {"PATCH", c + "/people/nobody", Rule::kCollection},
      {"PUT", c + "/people/nobody", Rule::kCollection},
      {"DELETE", c + "/people/nobody", Rule::kCollection},
      {"GET", c + "/people/nobody/faces", Rule::kCollection},
      {"POST", c + "/people/nobody/faces", Rule::kCollection},
      {"DELETE", c + "/people/nobody/faces", Rule::kCollection},
      {"DELETE", c + "/people/nobody/faces/1", Rule::kCollection},
      {"GET", c + "/people/nobody/faces/1/crop", Rule::kCollection},
      {"POST", "/v1/verify", Rule::kAnyKey},
      {"POST", "/v1/detect", Rule::kAnyKey},
      {"POST", "/v1/embed", Rule::kAnyKey},
  };
  auto expected_allowed = [](Rule rule, Who who) {
    switch (rule) {
      case Rule::kPublic: return true;
      case Rule::kAdmin: return who == Who::kAdmin;
      case Rule::kCollection: return who == Who::kAdmin || who == Who::kOwn;
      case Rule::kAnyKey: return who != Who::kNone;
    }
    return false;
  };
  const std::map<Who, std::string> keys = {
      {Who::kAdmin, server_->admin_key}, {Who::kOwn, own_key}, {Who::kOther, other_key}, {Who::kNone, ""}};
  const std::map<Who, const char*> names = {
      {Who::kAdmin, "admin"}, {Who::kOwn, "own"}, {Who::kOther, "other"}, {Who::kNone, "none"}};
  for (const auto& route : routes) {
    for (const auto& [who, key] : keys) {
      auto client = server_->client(key);
      const std::string method = route.method;
      httplib::Result r = method == "GET"      ? client->Get(route.path.c_str())
                          : method == "POST"   ? client->Post(route.path.c_str(), "{}", "application/json")
                          : method == "PUT"    ? client->Put(route.path.c_str(), "{}", "application/json")
                          : method == "PATCH"  ? client->Patch(route.path.c_str(), "{}", "application/json")
                                               : client->Delete(route.path.c_str());
      ASSERT_TRUE(r) << method << " " << route.path;
      const std::string what = method + " " + route.path + " with " + names.at(who) + " key: " +
                               std::to_string(r->status) + " " + r->body;
      if (expected_allowed(route.rule, who)) {
        EXPECT_NE(r->status, 401) << what;
        EXPECT_NE(r->status, 403) << what;
      } else {
        EXPECT_EQ(r->status, who == Who::kNone ? 401 : 403) << what;
      }
    }
  }
  EXPECT_EQ(parse(server_->admin()->Get("/v1/collections/matrix_own"))["name"], "matrix_own");
}

// A collection's key opens nothing once the collection is deleted: deleting it revokes its keys
// (401 on every route), and a namesake created later is not opened by them either.
TEST_F(ServerTest, AKeyOfADeletedCollectionOpensNothing) {
  const std::string key = server_->collection("short_lived");
  EXPECT_EQ(server_->client(key)->Get("/v1/collections/short_lived")->status, 200);
  ASSERT_EQ(server_->admin()->Delete("/v1/collections/short_lived")->status, 200);
  for (const char* path : {"/v1/collections/short_lived", "/v1/collections/short_lived/people"}) {
    const auto r = server_->client(key)->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path << ": " << r->body;
  }
  const auto enroll = server_->client(key)->Post("/v1/collections/short_lived/people", "{}", "application/json");
  ASSERT_TRUE(enroll);
  EXPECT_GE(enroll->status, 400) << enroll->body;
  EXPECT_EQ(server_->admin()->Get("/v1/collections/short_lived")->status, 404) << "not re-created by the attempt";
  ASSERT_EQ(post_json(*server_->admin(), "/v1/collections", {{"name", "short_lived"}})->status, 201);
  const auto reused = server_->client(key)->Get("/v1/collections/short_lived");
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->status, 401) << "a deleted collection's key opened its namesake: " << reused->body;
}

TEST_F(ServerTest, CollectionsAreCreatedListedAndDeleted) {
  auto admin = server_->admin();
  server_->collection("life");
  expect_error(post_json(*admin, "/v1/collections", {{"name", "life"}}), 409, "conflict");
  expect_error(post_json(*admin, "/v1/collections", {{"name", "../etc"}}), 400, "bad_request");
  expect_error(post_json(*admin, "/v1/collections", json::object()), 400, "bad_request");
  const json list = parse(admin->Get("/v1/collections"));
  const auto& all = list["collections"];
  EXPECT_TRUE(std::any_of(all.begin(), all.end(), [](const json& c) { return c["name"] == "life"; }));
  EXPECT_EQ(admin->Delete("/v1/collections/life")->status, 200);
  expect_error(admin->Get("/v1/collections/life"), 404, "not_found");
  expect_error(admin->Delete("/v1/collections/life"), 404, "not_found");
  EXPECT_FALSE(fs::exists(server_->data_dir() + "/collections/life.db"));
}

TEST_F(ServerTest, AuditLogNamesTheKeyOfEveryWriteAndIsForTheAdminOnly) {
  const std::string key = server_->collection("audited");
  const std::string key_id = key.substr(4, key.find('_', 4) - 4);  // fid_<id>_<secret>
  const std::string admin_id = server_->admin_key.substr(4, server_->admin_key.find('_', 4) - 4);
  auto c = server_->client(key);
  auto admin = server_->admin();
  ASSERT_EQ(post_json(*c, "/v1/collections/audited/people", {{"name", "ann"}, {"images", {image_json(people_[0][0])}}})->status,
            201);
  const auto issued = post_json(*admin, "/v1/keys", {{"collection", "audited"}});
  ASSERT_EQ(issued->status, 201);
  const std::string issued_secret = json::parse(issued->body)["key"];
  ASSERT_EQ(admin->Delete("/v1/collections/audited/people/ann")->status, 200);

  expect_error(c->Get("/v1/audit"), 403, "forbidden");
  expect_error(server_->client("")->Get("/v1/audit"), 401, "unauthorized");
  expect_error(admin->Get("/v1/audit?limit=0"), 400, "bad_request");
  expect_error(admin->Get("/v1/audit?limit=100000"), 400, "bad_request");
  expect_error(admin->Get("/v1/audit?since=tomorrow"), 400, "bad_request");
  const auto read = admin->Get("/v1/audit?limit=1000");
  ASSERT_EQ(read->status, 200) << read->body;
  EXPECT_EQ(read->body.find(issued_secret), std::string::npos) << "a key's secret is never logged";
  EXPECT_EQ(read->body.find(key), std::string::npos) << "a key's secret is never logged";
  std::map<std::string, json> of_audited;  // action -> the newest entry about the collection
  const json log = json::parse(read->body);
  for (const auto& entry : log["audit"]) {
    const std::string action = entry["action"];
    if (entry["collection"] == "audited" && !of_audited.count(action)) of_audited[action] = entry;
  }
  ASSERT_TRUE(of_audited.count("enroll")) << read->body;
  EXPECT_EQ(of_audited["enroll"]["actor"], "key:" + key_id);
  EXPECT_EQ(of_audited["enroll"]["person"], "ann");
  EXPECT_EQ(of_audited["enroll"]["face_count"], 1);
  ASSERT_TRUE(of_audited.count("remove_person")) << read->body;
  EXPECT_EQ(of_audited["remove_person"]["actor"], "key:" + admin_id);
  ASSERT_TRUE(of_audited.count("collection_create")) << read->body;
  EXPECT_EQ(of_audited["collection_create"]["actor"], "key:" + admin_id);
  ASSERT_TRUE(of_audited.count("key_create")) << read->body;
  EXPECT_EQ(of_audited["key_create"]["actor"], "key:" + admin_id);
  EXPECT_EQ(of_audited["key_create"]["key_id"], json::parse(issued->body)["id"]);
  EXPECT_TRUE(json::parse(admin->Get("/v1/audit?since=2999-01-01")->body)["audit"].empty());
  EXPECT_EQ(json::parse(admin->Get("/v1/audit?limit=2")->body)["audit"].size(), 2u);
}

TEST_F(ServerTest, PeopleAndFacesRoundTrip) {
  auto c = server_->client(server_->collection("people"));
  // A subject is created with its first faces: by multipart upload or by base64 JSON.
  expect_error(post_json(*c, "/v1/collections/people/people", {{"name", "ann"}}), 400, "bad_request");
  httplib::MultipartFormDataItems form = {{"name", "ann", "", ""},
                                          {"images", people_[0][0], "a0.jpg", "image/jpeg"},
                                          {"images", people_[0][1], "a1.jpg", "image/jpeg"}};
  auto added = c->Post("/v1/collections/people/people", form);
  ASSERT_EQ(added->status, 201) << added->body;
  const json multipart = json::parse(added->body);
  EXPECT_EQ(multipart["added"], 2);
  EXPECT_EQ(multipart["results"][0]["source"], "a0.jpg");
  const auto base64 = post_json(*c, "/v1/collections/people/people",
                                {{"name", "bob"}, {"images", {image_json(people_[1][0]), image_json(people_[1][1])}}});
  ASSERT_EQ(base64->status, 201) << base64->body;
  expect_error(c->Post("/v1/collections/people/people", form), 409, "conflict");
  // The same photo again adds nothing.
  form.erase(form.begin());
  expect_error(c->Post("/v1/collections/people/people/ann/faces", form), 409, "conflict");

  const json listed = parse(c->Get("/v1/collections/people/people"));
  ASSERT_EQ(listed["people"].size(), 2u);
  EXPECT_EQ(listed["people"][0]["name"], "ann");
  EXPECT_EQ(listed["people"][0]["faces"], 2);

  const json faces = parse(c->Get("/v1/collections/people/people/ann/faces"));
  ASSERT_EQ(faces["faces"].size(), 2u);
  const std::int64_t first = faces["faces"][0]["id"], second = faces["faces"][1]["id"];
  const auto crop = c->Get(("/v1/collections/people/people/ann/faces/" + std::to_string(first) + "/crop").c_str());
  ASSERT_EQ(crop->status, 200);
  EXPECT_EQ(crop->get_header_value("Content-Type"), "image/jpeg");
  const cv::Mat decoded = cv::imdecode(std::vector<std::uint8_t>(crop->body.begin(), crop->body.end()), cv::IMREAD_COLOR);
  EXPECT_EQ(decoded.size(), cv::Size(112, 112));
  // A face of another subject is not reachable through this one.
  const std::int64_t bobs = parse(c->Get("/v1/collections/people/people/bob/faces"))["faces"][0]["id"];
  expect_error(c->Delete(("/v1/collections/people/people/ann/faces/" + std::to_string(bobs)).c_str()), 404, "not_found");

  // Rename, delete one face, delete many, delete the subject.
  expect_error(c->Patch("/v1/collections/people/people/ann", json{{"name", "bob"}}.dump(), "application/json"), 409, "conflict");
  EXPECT_EQ(c->Patch("/v1/collections/people/people/ann", json{{"name", "anna"}}.dump(), "application/json")->status, 200);
  expect_error(c->Get("/v1/collections/people/people/ann"), 404, "not_found");
  EXPECT_EQ(c->Delete(("/v1/collections/people/people/anna/faces/" + std::to_string(first)).c_str())->status, 200);
  const json many = parse(c->Delete("/v1/collections/people/people/anna/faces", json{{"ids", {second, 999999}}}.dump(), "application/json"));
  EXPECT_EQ(many["removed"], json::array({second}));
  EXPECT_EQ(many["not_found"], json::array({999999}));
  EXPECT_EQ(parse(c->Get("/v1/collections/people/people/anna"))["faces"], 0);
  // Faces added to an emptied subject are searchable again.
  const auto again = c->Post("/v1/collections/people/people/anna/faces", form);
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(parse(c->Post("/v1/collections/people/recognize", people_[0][5], "image/jpeg"))["faces"][0]["person"], "anna");
  EXPECT_EQ(c->Delete("/v1/collections/people/people/anna")->status, 200);
  expect_error(c->Get("/v1/collections/people/people/anna/faces"), 404, "not_found");
}

TEST_F(ServerTest, RecognizeFindsEnrolledPeopleAndRejectsStrangers) {
  auto c = server_->client(server_->collection("rec"));
  for (int person = 0; person < 2; ++person) {
    json images = json::array();
    for (int v = 0; v < 3; ++v) images.push_back(image_json(people_[person][v]));
    const auto r = post_json(*c, "/v1/collections/rec/people", {{"name", "p" + std::to_string(person)}, {"images", images}});
    ASSERT_EQ(r->status, 201) << r->body;
  }
  // A held-back photo of p1, as multipart, with two candidates.
  httplib::MultipartFormDataItems form = {{"image", people_[1][6], "probe.jpg", "image/jpeg"}, {"top_k", "2", "", ""}};
  const json found = parse(c->Post("/v1/collections/rec/recognize", form));
  ASSERT_EQ(found["faces"].size(), 1u) << found.dump();
  EXPECT_EQ(found["faces"][0]["person"], "p1");
  ASSERT_EQ(found["faces"][0]["candidates"].size(), 2u);
  EXPECT_EQ(found["faces"][0]["candidates"][1]["person"], "p0");
  EXPECT_GT(found["faces"][0]["candidates"][0]["score"].get<float>(), found["faces"][0]["candidates"][1]["score"].get<float>());

  // Person 2 was never enrolled: unknown at the default threshold.
  const json stranger = parse(post_json(*c, "/v1/collections/rec/recognize", {{"image", image_json(people_[2][0])}}));
  ASSERT_EQ(stranger["faces"].size(), 1u);
  EXPECT_TRUE(stranger["faces"][0]["unknown"].get<bool>());
  EXPECT_TRUE(stranger["faces"][0]["person"].is_null());
  // An impossible threshold makes even p1 unknown; a raw image/jpeg body works too.
  const json strict = parse(c->Post("/v1/collections/rec/recognize?threshold=1.01", people_[1][6], "image/jpeg"));
  EXPECT_TRUE(strict["faces"][0]["unknown"].get<bool>()) << strict.dump();

  // The group photo: every face, or the largest one with limit=1, or boxes only.
  const std::string group = jpeg(group_);
  const json all = parse(post_json(*c, "/v1/collections/rec/recognize", {{"image", image_json(group)}}));
  EXPECT_GE(all["faces"].size(), 3u);
  const json one = parse(post_json(*c, "/v1/collections/rec/recognize", {{"image", image_json(group)}, {"limit", 1}}));
  EXPECT_EQ(one["faces"].size(), 1u);
  const json boxes = parse(post_json(*c, "/v1/collections/rec/recognize", {{"image", image_json(group)}, {"detect_only", true}}));
  ASSERT_EQ(boxes["faces"].size(), all["faces"].size());
  EXPECT_FALSE(boxes["faces"][0].contains("person"));
  EXPECT_TRUE(boxes["faces"][0].contains("detection"));

  // Against one stored subject.
  const json same = parse(post_json(*c, "/v1/collections/rec/verify", {{"image", image_json(people_[0][7])}, {"person", "p0"}}));
  EXPECT_TRUE(same["same_person"].get<bool>()) << same.dump();
  const json other = parse(post_json(*c, "/v1/collections/rec/verify", {{"image", image_json(people_[1][7])}, {"person", "p0"}}));
  EXPECT_FALSE(other["same_person"].get<bool>()) << other.dump();
  expect_error(post_json(*c, "/v1/collections/rec/verify", {{"image", image_json(people_[0][7])}, {"person", "nobody"}}), 404, "not_found");
}

TEST_F(ServerTest, VerifyDetectEmbedAndRecognizeByEmbedding) {
  auto c = server_->admin();
  const json same = parse(post_json(*c, "/v1/verify", {{"image_a", image_json(people_[2][0])}, {"image_b", image_json(people_[2][5])}}));
  EXPECT_TRUE(same["same_person"].get<bool>()) << same.dump();
  const json different = parse(post_json(*c, "/v1/verify", {{"image_a", image_json(people_[2][0])}, {"image_b", image_json(people_[0][0])}}));
  EXPECT_FALSE(different["same_person"].get<bool>()) << different.dump();
  EXPECT_EQ(different["metric"], "cosine");

  const json detected = parse(post_json(*c, "/v1/detect", {{"image", image_json(jpeg(group_))}}));
  ASSERT_GE(detected["faces"].size(), 3u);
  EXPECT_EQ(detected["faces"][0]["landmarks"].size(), 5u);
  EXPECT_GT(detected["faces"][0]["quality"]["score"].get<float>(), 0.f);
  EXPECT_EQ(detected["image"]["width"], group_.cols);

  const json embedded = parse(post_json(*c, "/v1/embed", {{"image", image_json(people_[2][3])}}));
  ASSERT_EQ(embedded["faces"].size(), 1u);
  const json vector = embedded["faces"][0]["embedding"];
  EXPECT_EQ(vector.size(), 512u);
  EXPECT_EQ(embedded["model"], models_->embedder_model_id());

  server_->collection("vec");
  EXPECT_EQ(post_json(*c, "/v1/collections/vec/people", {{"name", "carol"}, {"images", {image_json(people_[2][1])}}})->status, 201);
  const json by_vector = parse(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", vector}}));
  EXPECT_EQ(by_vector["results"][0]["person"], "carol") << by_vector.dump();
  expect_error(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", {1.0, 2.0}}}), 409, "model_mismatch");
  expect_error(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", json::array()}}), 400, "bad_request");
  expect_error(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", {0.0, 0.0}}}), 400, "bad_request");
  expect_error(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", vector}, {"model", "other@1"}}), 409, "model_mismatch");
  EXPECT_EQ(post_json(*c, "/v1/collections/vec/recognize/embedding", {{"embedding", vector}, {"model", embedded["model"]}})->status, 200);
}

// The same knobs as the CLI and CompreFace's names for them; the previous release's names still work.
TEST_F(ServerTest, DetectionKnobsTopKAndPreviousNamesAreAccepted) {
  auto c = server_->client(server_->collection("knobs"));
  for (int person = 0; person < 2; ++person)
    ASSERT_EQ(post_json(*c, "/v1/collections/knobs/people",
                        {{"name", "k" + std::to_string(person)}, {"images", {image_json(people_[person][0])}}})->status, 201);
  const std::string group = jpeg(group_);
  const auto faces_with = [&](const std::string& path, const json& extra) {
    json body = {{"image", image_json(group)}};
    body.update(extra);
    return parse(post_json(*c, path, body))["faces"].size();
  };
  const std::string recognize = "/v1/collections/knobs/recognize";
  const std::size_t all = faces_with(recognize, json::object());
  ASSERT_GE(all, 3u);
  EXPECT_EQ(faces_with(recognize, {{"det_threshold", 1.0}}), 0u) << "no face scores above 1";
  EXPECT_EQ(faces_with(recognize, {{"det_prob_threshold", 1.0}}), 0u) << "CompreFace's name";
  EXPECT_EQ(faces_with(recognize, {{"min_face_size", 100000}}), 0u);
  EXPECT_EQ(faces_with("/v1/detect", {{"min_face_size", 100000}}), 0u);
  EXPECT_EQ(faces_with("/v1/detect", {{"det_threshold", 0.0}}), faces_with("/v1/detect", json::object()));
  expect_error(post_json(*c, recognize, {{"image", image_json(group)}, {"det_threshold", 1.5}}), 400, "bad_request");
  const json two = parse(post_json(*c, recognize, {{"image", image_json(people_[1][5])}, {"prediction_count", 2}}));
  ASSERT_EQ(two["faces"][0]["candidates"].size(), 2u) << two.dump();
  EXPECT_EQ(two["faces"][0]["person"], "k1");
  EXPECT_EQ(two["faces"][0]["subject"], "k1") << "the previous name, alongside";
  EXPECT_EQ(two["faces"][0]["detection"]["box"], two["faces"][0]["box"]);
  EXPECT_EQ(parse(c->Get("/v1/collections/knobs/subjects"))["subjects"].size(), 2u);
  EXPECT_EQ(parse(post_json(*c, "/v1/collections/knobs/verify", {{"image", image_json(people_[0][5])}, {"subject", "k0"}}))["person"], "k0");
  const auto blocked = post_json(*c, "/v1/collections/knobs/verify",
                                 {{"image", image_json(people_[0][5])}, {"person", "k0"}, {"min_face_size", 100000}});
  expect_error(blocked, 422, "no_face");
}

// --max-faces bounds what one image costs: never more faces embedded and reported than the cap.
TEST_F(ServerTest, FacesPerImageAreCapped) {
  ServerOptions options;
  options.max_faces_per_image = 2;
  Harness capped(*models_, options);
  capped.collection("cap");
  const json found = parse(post_json(*capped.admin(), "/v1/collections/cap/recognize", {{"image", image_json(jpeg(group_))}, {"limit", 10}}));
  EXPECT_EQ(found["faces"].size(), 2u) << found.dump();
  EXPECT_EQ(parse(post_json(*capped.admin(), "/v1/detect", {{"image", image_json(jpeg(group_))}}))["faces"].size(), 2u);
}

TEST_F(ServerTest, BadInputGetsTheErrorShapeNeverA500) {
  auto c = server_->admin();
  server_->collection("bad");
  const std::string recognize = "/v1/collections/bad/recognize";
  expect_error(c->Post(recognize.c_str(), "{not json", "application/json"), 400, "bad_request");
  expect_error(post_json(*c, recognize, json::object()), 400, "bad_request");
  expect_error(post_json(*c, recognize, {{"image", "%%%not base64%%%"}}), 400, "bad_request");
  expect_error(post_json(*c, recognize, {{"image", 42}}), 400, "bad_request");
  const std::string photo = people_[0][0];
  expect_error(post_json(*c, recognize, {{"image", image_json(photo.substr(0, 200))}}), 400, "bad_image");
  expect_error(post_json(*c, recognize, {{"image", image_json("just some text, not an image")}}), 400, "bad_image");
  expect_error(c->Post(recognize.c_str(), "", "image/jpeg"), 400, "bad_request");
  expect_error(post_json(*c, recognize, {{"image", image_json(photo)}, {"threshold", "high"}}), 400, "bad_request");
  expect_error(post_json(*c, recognize, {{"image", image_json(photo)}, {"top_k", 0}}), 400, "bad_request");
  expect_error(c->Get("/v1/no/such/route"), 404, "not_found");
  expect_error(c->Get("/v1/collections/missing/people"), 404, "not_found");
  expect_error(c->Get("/v1/collections/bad/people/x/faces/notanumber/crop"), 404, "not_found");

  // Over the 4 MiB body limit of this server.
  expect_error(c->Post(recognize.c_str(), std::string(5u << 20, 'x'), "image/jpeg"), 413, "too_large");
  // A decompression bomb: a small PNG file of 25 million pixels (the limit is 20 million).
  std::vector<std::uint8_t> bomb;
  cv::imencode(".png", cv::Mat(5000, 5000, CV_8UC1, cv::Scalar(0)), bomb);
  ASSERT_LT(bomb.size(), 1u << 20);
  expect_error(c->Post(recognize.c_str(), to_string(bomb), "image/png"), 400, "bad_image");

  // A real photo without a face: nothing recognised, nothing enrolled.
  const cv::Mat wall = group_(cv::Rect(0, group_.rows - 60, 60, 60)).clone();
  EXPECT_EQ(parse(post_json(*c, recognize, {{"image", image_json(jpeg(wall))}}))["faces"].size(), 0u);
  expect_error(post_json(*c, "/v1/collections/bad/people", {{"name", "x"}, {"images", {image_json(jpeg(wall))}}}), 422, "no_face");
  expect_error(post_json(*c, "/v1/verify", {{"image_a", image_json(jpeg(wall))}, {"image_b", image_json(photo)}}), 422, "no_face");
  expect_error(post_json(*c, "/v1/collections/bad/people", {{"name", "bad name"}}), 400, "bad_request");
  // The server is still healthy after all that.
  EXPECT_EQ(c->Get("/health")->status, 200);
}

TEST_F(ServerTest, EnrollResultsNameTheErrorCodeOfEverySkippedImage) {
  auto c = server_->client(server_->collection("codes"));
  const std::string photo = people_[2][0];
  const std::string wall = jpeg(group_(cv::Rect(0, group_.rows - 60, 60, 60)).clone());
  const json batch = {image_json(photo), image_json(photo), image_json(wall), image_json("not an image")};
  const auto added = post_json(*c, "/v1/collections/codes/people", {{"name", "dora"}, {"images", batch}});
  ASSERT_TRUE(added);
  ASSERT_EQ(added->status, 201) << added->body;
  const json results = json::parse(added->body).at("results");
  ASSERT_EQ(results.size(), 4u) << results.dump();
  EXPECT_EQ(results[0].at("status"), "enrolled");
  EXPECT_FALSE(results[0].contains("code")) << results[0].dump();
  const std::vector<std::pair<std::string, std::string>> skipped = {
      {"duplicate", "conflict"}, {"no_face", "no_face"}, {"bad_image", "bad_image"}};
  for (std::size_t i = 0; i < skipped.size(); ++i) {
    EXPECT_EQ(results[i + 1].at("status"), skipped[i].first) << results[i + 1].dump();
    EXPECT_EQ(results[i + 1].at("code"), skipped[i].second) << results[i + 1].dump();
  }
  // Nothing added: the error is the first image's code, the items are in its details.
  const auto refused = post_json(*c, "/v1/collections/codes/people/dora/faces", {{"images", {image_json(photo)}}});
  expect_error(refused, 409, "conflict");
  const json details = json::parse(refused->body).at("error").at("details");
  EXPECT_EQ(details.at(0).at("status"), "duplicate") << details.dump();
  EXPECT_EQ(details.at(0).at("code"), "conflict") << details.dump();
}

// An enrollment refused by liveness was answered 400 (as bad_image) before it had codes of its own.
TEST(ServerHttpStatus, LivenessRefusalsKeepTheStatusTheyHad) {
  EXPECT_EQ(server_detail::http_status(ErrorCode::kSpoof), 400);
  EXPECT_EQ(server_detail::http_status(ErrorCode::kCannotJudge), 400);
}

TEST_F(ServerTest, MetricsReportRequestsAndGallerySize) {
  auto c = server_->admin();
  server_->collection("metered");
  EXPECT_EQ(post_json(*c, "/v1/collections/metered/people", {{"name", "m"}, {"images", {image_json(people_[0][2])}}})->status, 201);
  const auto r = c->Get("/metrics");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("faceid_http_requests_total{route=\"people\",method=\"POST\",status=\"201\"}"), std::string::npos);
  EXPECT_NE(r->body.find("faceid_http_request_duration_seconds_bucket{route=\"people\",le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(r->body.find("faceid_gallery_faces{collection=\"metered\"} 1"), std::string::npos) << r->body;
}

// Writers and readers at once: afterwards the collection holds exactly the faces
// that were added and not deleted, in memory and on disk.
TEST_F(ServerTest, ConcurrentAddRecognizeDeleteLosesNothing) {
  const std::string key = server_->collection("busy");
  std::mutex mutex;
  std::set<std::int64_t> added, deleted;
  std::vector<std::int64_t> deletable;
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};

  std::vector<std::thread> threads;
  for (int person = 0; person < 3; ++person)
    threads.emplace_back([&, person] {
      auto c = server_->client(key);
      for (int v = 0; v < 6; ++v) {
        httplib::MultipartFormDataItems form = {{"images", people_[person][v], "p.jpg", "image/jpeg"}};
        const auto r = c->Post(("/v1/collections/busy/people/s" + std::to_string(person) + "/faces").c_str(), form);
        if (!r || r->status != 201) { ++failures; continue; }
        const std::int64_t id = json::parse(r->body)["results"][0]["face_id"];
        std::lock_guard lock(mutex);
        added.insert(id);
        if (v % 2 == 1) deletable.push_back(id);
      }
    });
  threads.emplace_back([&] {
    auto c = server_->client(key);
    while (!writers_done) {
      const auto r = c->Post("/v1/collections/busy/recognize", people_[1][7], "image/jpeg");
      if (!r || r->status != 200) ++failures;
    }
  });
  threads.emplace_back([&] {
    auto c = server_->client(key);
    for (;;) {
      std::int64_t id = 0;
      {
        std::lock_guard lock(mutex);
        if (!deletable.empty()) {
          id = deletable.back();
          deletable.pop_back();
        }
      }
      if (id == 0) {
        if (writers_done) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      json ids = json::array({id});
      bool removed = false;
      for (int s = 0; s < 3 && !removed; ++s) {
        const auto r = c->Delete(("/v1/collections/busy/people/s" + std::to_string(s) + "/faces").c_str(),
                                 json{{"ids", ids}}.dump(), "application/json");
        removed = r && r->status == 200 && !json::parse(r->body)["removed"].empty();
      }
      if (!removed) { ++failures; continue; }
      std::lock_guard lock(mutex);
      deleted.insert(id);
    }
  });
  for (int i = 0; i < 3; ++i) threads[i].join();
  writers_done = true;
  for (std::size_t i = 3; i < threads.size(); ++i) threads[i].join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(added.size(), 18u);
  EXPECT_EQ(deleted.size(), 9u);

  std::set<std::int64_t> expected;
  std::set_difference(added.begin(), added.end(), deleted.begin(), deleted.end(), std::inserter(expected, expected.end()));
  const auto listed = [&](const std::function<json(const std::string&)>& get) {
    std::set<std::int64_t> ids;
    for (int s = 0; s < 3; ++s)
    for (int s = 0; s < 3; ++s) {
      const json listing = get("s" + std::to_string(s));
      for (const auto& f : listing["faces"]) ids.insert(f["id"].get<std::int64_t>());
    }
    return ids;
  };
  auto c = server_->client(key);
  EXPECT_EQ(listed([&](const std::string& s) { return parse(c->Get(("/v1/collections/busy/people/" + s + "/faces").c_str())); }), expected);
  EXPECT_EQ(parse(c->Get("/v1/collections/busy"))["faces"], expected.size());
  // What is on disk agrees: a fresh store of the same file lists the same faces.
  auto store = open_store(server_->data_dir() + "/collections/busy.db");
  std::set<std::int64_t> on_disk;
  for (const auto& face : store->faces(false)) on_disk.insert(face.id);
  EXPECT_EQ(on_disk, expected);
}

// The library API without HTTP: a collection reopened from its store finds the same
// people, and an emptied collection accepts faces again after a restart.
// One set of models for a process: collections and an engine over one Pipeline load nothing
// again, and each searches its own gallery with those models.
TEST_F(ServerTest, CollectionsAndAnEngineShareOnePipeline) {
  const auto engine = Engine::open(models_);
  EXPECT_EQ(&engine->pipeline(), models_.get());
  EXPECT_EQ(&engine->detector(), &models_->detector()) << "the engine loaded a detector of its own";
  CollectionSet set(*models_, {test::temp_dir("shared_pipeline"), ""});
  const auto lobby = set.create("lobby");
  const auto hall = set.create("hall");
  for (const auto& collection : {lobby, hall}) {
    EXPECT_EQ(collection->gallery().options().model_id, engine->embedder_model_id());
    EXPECT_EQ(collection->gallery().options().threshold, engine->threshold());
  }
  const auto bytes = [](const std::string& photo) { return std::vector<std::uint8_t>(photo.begin(), photo.end()); };
  ASSERT_EQ(lobby->add_faces("p0", {{"photo", bytes(people_[0][0])}}, ImageLimits{}, "test").front().error,
            std::nullopt);
  ASSERT_EQ(engine->enroll("p1", {{"photo", bytes(people_[1][0])}}).front().error, std::nullopt);
  const auto probe = [&](int person) { return cv::imdecode(bytes(people_[person][4]), cv::IMREAD_COLOR); };
  EXPECT_EQ(lobby->recognize(probe(0), {}).at(0).person.value_or(""), "p0");
  EXPECT_EQ(engine->identify(probe(1)).at(0).person.value_or(""), "p1");
  EXPECT_EQ(hall->recognize(probe(0), {}).at(0).person, std::nullopt);
  EXPECT_FALSE(engine->gallery().has_person("p0"));
  EXPECT_FALSE(lobby->gallery().has_person("p1"));
}

TEST_F(ServerTest, CollectionsReopenFromTheirStores) {
  const std::string dir = test::temp_dir("reopen");
  const ImageLimits limits;
  const auto enroll = [&](Collection& c, const std::string& subject, const std::string& photo) {
    const auto outcomes =
        c.add_faces(subject, {{"photo", std::vector<std::uint8_t>(photo.begin(), photo.end())}}, limits, "test");
    EXPECT_EQ(outcomes.front().error, std::nullopt) << outcomes.front().message;
    return outcomes.front().face_id.value_or(0);
  };
  const auto probe = [](const std::string& photo) { return cv::imdecode(std::vector<std::uint8_t>(photo.begin(), photo.end()), cv::IMREAD_COLOR); };
  std::int64_t emptied_face = 0;
  {
    CollectionSet set(*models_, {dir, ""});
    auto kept = set.create("kept");
    enroll(*kept, "p0", people_[0][0]);
    enroll(*kept, "p1", people_[1][0]);
    emptied_face = enroll(*set.create("emptied"), "p2", people_[2][0]);
    EXPECT_EQ(set.get("emptied")->gallery().remove_faces("p2", {emptied_face}, "test"), std::vector<std::int64_t>{emptied_face});
  }
  CollectionSet reopened(*models_, {dir, ""});
  ASSERT_EQ(reopened.list().size(), 2u);
  const auto kept = reopened.get("kept");
  EXPECT_EQ(kept->gallery().face_count(), 2u);
  const auto found = kept->recognize(probe(people_[1][4]), {});
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].person.value_or("unknown"), "p1");
  const auto emptied = reopened.get("emptied");
  EXPECT_EQ(emptied->gallery().face_count(), 0u);
  enroll(*emptied, "p2", people_[2][1]);
  EXPECT_EQ(emptied->recognize(probe(people_[2][4]), {}).at(0).person.value_or("unknown"), "p2");
  EXPECT_THROW(reopened.create("kept"), Error);
  EXPECT_THROW(reopened.get("never"), Error);
}

TEST_F(ServerTest, StopFinishesRequestsInFlight) {
  Harness local(*models_);
  auto c = local.admin();
  const std::string group = jpeg(group_);
  std::atomic<int> status{0};
  std::thread request([&] {
    const auto r = c->Post("/v1/detect", group, "image/jpeg");
    status = r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  local.stop();
  request.join();
  EXPECT_EQ(status, 200);
  EXPECT_FALSE(static_cast<bool>(local.admin()->Get("/health")));  // no longer listening
}

TEST_F(ServerTest, ServesHttpsWithCertificate) {
  const std::string dir = test::temp_dir("tls");
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
                              " -out " + cert + " > /dev/null 2>&1";
  if (std::system(command.c_str()) != 0) GTEST_SKIP() << "needs the openssl command to make a test certificate";
  ServerOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  Harness tls(*models_, options);
  httplib::SSLClient client("127.0.0.1", tls.port);
  client.enable_server_certificate_verification(false);
  const auto r = client.Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  options.tls_key_file = dir + "/missing.pem";
  CollectionSet collections(*models_, {test::temp_dir("tls_bad"), ""});
  ApiKeyStore keys(test::temp_dir("tls_keys") + "/keys.json");
  EXPECT_THROW({ RestServer refused(*models_, collections, keys, options); }, Error);
}

// Whether `check` holds within `timeout`, polled every 10 ms; returns how long it took.
std::optional<std::chrono::milliseconds> within(std::chrono::milliseconds timeout, const std::function<bool()>& check) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (check()) return waited;
    if (waited > timeout) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Two processes on one SQLite file (a server and the CLI, say): SQLite pushes no news, so
// the other side's index catches up by its periodic version check.
TEST_F(ServerTest, CollectionsOnOneSqliteFileCatchUpByPolling) {
  const std::string dir = test::temp_dir("polling");
  const ImageLimits limits;
  CollectionSet first(*models_, {dir, ""});
  auto writer = first.create("shared");
  CollectionSet second(*models_, {dir, ""});
  auto reader = second.get("shared");
  EXPECT_EQ(reader->gallery().face_count(), 0u);
  const auto& photo = people_[0][0];
  const auto outcomes =
      writer->add_faces("p0", {{"photo", std::vector<std::uint8_t>(photo.begin(), photo.end())}}, limits, "test");
  ASSERT_EQ(outcomes.front().error, std::nullopt);
  const auto probe = cv::imdecode(std::vector<std::uint8_t>(people_[0][4].begin(), people_[0][4].end()), cv::IMREAD_COLOR);
  EXPECT_TRUE(within(Collection::kSyncInterval + std::chrono::seconds(2), [&] {
    return reader->recognize(probe, {}).at(0).person.value_or("") == "p0";
  })) << "the second process never saw the new face";
  reader->gallery().remove_person("p0", "test");
  EXPECT_TRUE(within(Collection::kSyncInterval + std::chrono::seconds(2), [&] { return writer->gallery().face_count() == 0; }));
}

// Replicas sharing a data folder (and so the catalog): a collection created on one is found by
// the other without a restart, changes made on both are all kept, and a removal reaches both.
void expect_replicas_share_the_catalog(const Pipeline& models, const std::string& store_template) {
  const std::string dir = test::temp_dir("catalog_replicas");
  CollectionSet a(models, {dir, store_template});
  CollectionSet b(models, {dir, store_template});
  const std::string lobby = test::unique_name("lobby"), hall = test::unique_name("hall");
  EXPECT_FALSE(b.contains(lobby));
  a.create(lobby, true);
  ASSERT_TRUE(b.contains(lobby)) << "a collection created on replica A is unknown to B";
  EXPECT_TRUE(b.info(lobby).liveness);
  EXPECT_EQ(b.get(lobby)->gallery().face_count(), 0u);
  b.create(hall);
  EXPECT_THROW(a.create(hall), Error);  // created on B: A must not make a second one
  std::set<std::string> listed;
  for (const auto& info : a.list()) listed.insert(info.name);
  EXPECT_EQ(listed, (std::set<std::string>{lobby, hall})) << "B's write must not drop A's collection";
  b.remove(lobby);
  EXPECT_FALSE(a.contains(lobby));
  EXPECT_THROW(a.get(lobby), Error);
  EXPECT_TRUE(a.contains(hall));
}

TEST_F(ServerTest, ReplicasOnOneDataFolderSeeEachOthersCollections) {
  expect_replicas_share_the_catalog(*models_, "");
}

// Removed and created again on replica B while A holds it open: A must use the new one (its
// SQLite file is a new file), not go on reading and writing the deleted one.
TEST_F(ServerTest, AReplicaReopensACollectionRemovedAndCreatedAgainElsewhere) {
  const std::string dir = test::temp_dir("catalog_generations");
  CollectionSet a(*models_, {dir, ""});
  CollectionSet b(*models_, {dir, ""});
  const std::string hall = test::unique_name("hall");
  a.create(hall);
  const auto old_on_a = a.get(hall);
  b.remove(hall);
  b.create(hall);
  const std::string& photo = people_[1][0];
  const auto outcomes = b.get(hall)->add_faces("p1", {{"p1.jpg", std::vector<std::uint8_t>(photo.begin(), photo.end())}},
                                               ImageLimits{}, "test");
  ASSERT_EQ(outcomes.at(0).error, std::nullopt) << outcomes.at(0).message;
  const auto on_a = a.get(hall);
  EXPECT_TRUE(on_a != old_on_a) << "replica A kept the removed collection open";
  EXPECT_EQ(on_a->gallery().face_count(), 1u);
}

TEST_F(ServerTest, ReplicasOnOnePostgresDatabaseSeeEachOthersCollections) {
  FACEID_REQUIRE_POSTGRES();
  expect_replicas_share_the_catalog(*models_, test::postgres_url());
}

// Two replicas of the server on one PostgreSQL database: a face enrolled on one is
// recognised by the other within a second (LISTEN/NOTIFY), and so is a removal.
TEST_F(ServerTest, ReplicasOnOnePostgresDatabaseShareFacesWithinASecond) {
  FACEID_REQUIRE_POSTGRES();
  const std::string dir = test::temp_dir("replicas");  // shared: the same API keys and catalog
  const std::string collection = test::unique_name("replicas");
  Harness a(*models_, {}, test::postgres_url(), dir);
  const std::string key = a.collection(collection);
  Harness b(*models_, {}, test::postgres_url(), dir);
  auto on_a = a.client(key);
  auto on_b = b.client(key);
  const std::string base = "/v1/collections/" + collection;
  const auto subject_seen_by_b = [&] {
    const json found = parse(on_b->Post((base + "/recognize").c_str(), people_[1][6], "image/jpeg"));
    return found["faces"].size() == 1 && found["faces"][0]["person"] == "p1";
  };
  EXPECT_FALSE(subject_seen_by_b());  // B has loaded the empty collection

  json images = json::array();
  for (int v = 0; v < 3; ++v) images.push_back(image_json(people_[1][v]));
  const auto added = post_json(*on_a, base + "/people", {{"name", "p1"}, {"images", images}});
  ASSERT_EQ(added ? added->status : 0, 201) << (added ? added->body : "no response");
  const auto seen = within(std::chrono::milliseconds(1000), subject_seen_by_b);
  EXPECT_TRUE(seen) << "replica B did not recognise the face enrolled on A within a second";
  if (seen) std::cerr << "replica B recognised the new face after " << seen->count() << " ms\n";

  const auto removed = on_b->Delete((base + "/people/p1").c_str());
  ASSERT_TRUE(removed);
  EXPECT_LT(removed->status, 300) << removed->body;
  EXPECT_TRUE(within(std::chrono::milliseconds(1000), [&] {
    const json found = parse(on_a->Post((base + "/recognize").c_str(), people_[1][6], "image/jpeg"));
    return found["faces"].size() == 1 && found["faces"][0]["unknown"] == true;
  })) << "replica A still recognises a subject removed on B";
}

// A replica's own writes reach its index once: the change feed does not replay them, so an
// HNSW index keeps no tombstone per local enrollment (and needs no rebuild for them), while
// the other replica's writes still arrive.
TEST_F(ServerTest, ReplicaOwnWritesAreNotReplayedIntoItsHnswIndex) {
  FACEID_REQUIRE_POSTGRES();
  EngineConfig config = models_->config();
  config.index.kind = IndexKind::kHnsw;
  const auto hnsw_models = Pipeline::open(config);
  const std::string url = test::postgres_url();
  const std::string uri =
      url + (url.find('?') == std::string::npos ? "?" : "&") + "gallery=" + test::unique_name("own_writes");
  Collection replica("own_writes", *hnsw_models, open_store(uri));
  Collection other("own_writes", *hnsw_models, open_store(uri));
  const ImageLimits limits;
  const auto enroll = [&](Collection& on, int person, int variant) {
    const auto& photo = people_[person][variant];
    const auto outcomes = on.add_faces("p" + std::to_string(person),
                                       {{"photo", std::vector<std::uint8_t>(photo.begin(), photo.end())}}, limits,
                                       "test");
    ASSERT_EQ(outcomes.front().error, std::nullopt) << outcomes.front().message;
  };
  // Enough faces from the other replica that one tombstone stays below the compaction fraction.
  for (int person = 0; person < 2; ++person)
    for (int variant = 0; variant < 8; ++variant) enroll(other, person, variant);
  ASSERT_TRUE(within(Collection::kSyncInterval + std::chrono::seconds(2), [&] { return replica.gallery().face_count() == 16; }));
  EXPECT_EQ(replica.gallery().index_tombstones(), 0u);

  for (int variant = 0; variant < 2; ++variant) enroll(replica, 2, variant);
  std::this_thread::sleep_for(Collection::kSyncInterval + std::chrono::milliseconds(500));  // feed and poll ran
  replica.gallery().sync();
  EXPECT_EQ(replica.gallery().face_count(), 18u);
  EXPECT_EQ(replica.gallery().index_tombstones(), 0u) << "the replica replayed its own enrollment from the change feed";
  EXPECT_TRUE(within(Collection::kSyncInterval + std::chrono::seconds(2), [&] { return other.gallery().face_count() == 18; }));
}

// Replica B follows A through what LISTEN / NOTIFY alone would lose: a collection created on A
// after B started (each replica with its own data folder, the collection created on both, as
// docs/replicas.md says), a rename, and a write made while B's notification connection is down
// (the database restarted under both): B must catch up from the store, not only from notifications.
TEST_F(ServerTest, ReplicaCatchesUpOnNewCollectionsRenamesAndAfterADroppedListen) {
  FACEID_REQUIRE_POSTGRES();
  test::ScratchPostgres database;
  ASSERT_FALSE(database.url().empty());
  Harness a(*models_, {}, database.url());
  Harness b(*models_, {}, database.url());
  const std::string base = "/v1/collections/late";
  auto on_a = a.client(a.collection("late"));
  json images = json::array();
  for (int v = 0; v < 3; ++v) images.push_back(image_json(people_[0][v]));
  ASSERT_EQ(post_json(*on_a, base + "/people", {{"name", "p0"}, {"images", images}})->status, 201);
  // Created on B too: it opens the gallery A filled.
  auto on_b = b.client(b.collection("late"));
  const auto b_names = [&](int person) {
    const json found = parse(on_b->Post((base + "/recognize").c_str(), people_[person][6], "image/jpeg"));
    const json& faces = found.contains("faces") ? found["faces"] : json::array();
    // null while B's index is being rebuilt after the reconnection: not a name yet.
    return faces.is_array() && faces.size() == 1 && faces[0].value("person", json()).is_string()
               ? faces[0]["person"].get<std::string>()
               : std::string();
  };
  const auto timeout = Collection::kSyncInterval + std::chrono::seconds(2);
  EXPECT_EQ(b_names(0), "p0") << "B did not open the gallery A filled";

  const auto renamed = on_a->Patch((base + "/people/p0").c_str(), json{{"name", "zoe"}}.dump(), "application/json");
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->status, 200) << renamed->body;
  EXPECT_TRUE(within(timeout, [&] { return b_names(0) == "zoe"; })) << "B still names p0 after the rename on A";

  // Every connection, B's LISTEN included, is cut; A writes as soon as the server is back.
  database.pause();
  database.resume();
  json more = json::array();
  for (int v = 0; v < 3; ++v) more.push_back(image_json(people_[1][v]));
  EXPECT_TRUE(within(std::chrono::seconds(10), [&] {
    const auto r = post_json(*on_a, base + "/people", {{"name", "p1"}, {"images", more}});
    return r && r->status == 201;
  })) << "A could not write after the restart";
  EXPECT_TRUE(within(timeout, [&] { return b_names(1) == "p1"; }))
      << "B missed the face written while its LISTEN connection was down";
  EXPECT_EQ(b_names(0), "zoe");
}

// The database goes away under a running server: writes and store reads answer 503 (and
// write nothing), searches go on from memory, and all is well once it is back.
TEST_F(ServerTest, DatabaseLostMidRunAnswers503AndRecovers) {
  FACEID_REQUIRE_POSTGRES();
  test::ScratchPostgres database;
  ASSERT_FALSE(database.url().empty());
  Harness server(*models_, {}, database.url());
  const std::string key = server.collection("outage");
  auto c = server.client(key);
  const auto enroll = [&](const std::string& subject, const std::string& photo) {
    httplib::MultipartFormDataItems form = {{"images", photo, "p.jpg", "image/jpeg"}};
    return c->Post(("/v1/collections/outage/people/" + subject + "/faces").c_str(), form);
  };
  ASSERT_EQ(enroll("p0", people_[0][0])->status, 201);

  database.pause();
  expect_error(enroll("p1", people_[1][0]), 503, "unavailable");
  expect_error(c->Get("/v1/collections/outage/people"), 503, "unavailable");
  const json found = parse(c->Post("/v1/collections/outage/recognize", people_[0][5], "image/jpeg"));
  EXPECT_EQ(found["faces"][0]["person"], "p0") << found.dump();
  database.resume();

  const auto again = enroll("p1", people_[1][0]);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 201) << again->body;
  const json subjects = parse(c->Get("/v1/collections/outage/people"));
  EXPECT_EQ(subjects.dump().find("p1") != std::string::npos, true) << subjects.dump();
  EXPECT_EQ(parse(c->Get("/v1/collections/outage"))["faces"], 2);
}

TEST(ServerKeysCli, CreateListRotateRevoke) {
  const std::string dir = test::temp_dir("keys_cli");
  const std::string cli = std::string(FACEID_CLI_PATH) + " keys --data-dir " + dir;
  const auto run = [](const std::string& command) {
    std::string output;
    FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r");
    char buffer[512];
    while (pipe && fgets(buffer, sizeof buffer, pipe)) output += buffer;
    const int status = pipe ? pclose(pipe) : -1;
    return std::make_pair(status, output);
  };
  const auto [created_status, created] = run(cli + " create --collection shop");
  ASSERT_EQ(created_status, 0);
  const json key = json::parse(created);
  EXPECT_EQ(key["collection"], "shop");
  ApiKeyStore store(dir + "/keys.json");
  const auto info = store.authenticate(key["key"]);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->collection, "shop");
  EXPECT_EQ(json::parse(run(cli + " create --admin").second)["scope"], "admin");
  const auto [list_status, listed] = run(cli + " list");
  EXPECT_EQ(list_status, 0);
  EXPECT_NE(listed.find(key["id"].get<std::string>()), std::string::npos);
  EXPECT_EQ(listed.find(key["key"].get<std::string>()), std::string::npos);  // secrets never listed
  const json rotated = json::parse(run(cli + " rotate " + key["id"].get<std::string>()).second);
  EXPECT_FALSE(store.authenticate(key["key"]));
  EXPECT_TRUE(store.authenticate(rotated["key"]));
  EXPECT_EQ(run(cli + " revoke " + key["id"].get<std::string>()).first, 0);
  EXPECT_FALSE(store.authenticate(rotated["key"]));
  EXPECT_NE(run(cli + " revoke " + key["id"].get<std::string>()).first, 0);
}

TEST_F(ServerTest, LivenessCollectionRefusesAndNeverNamesAPrintedPhoto) {
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  if (!std::filesystem::exists(test::model_dir() + "/fr_liveness.onnx"))
    FAIL() << "fr_liveness.onnx is not installed: run `faceid models install`";
  auto bytes_of = [](const std::string& path) {
    const auto bytes = read_file_bytes(path, 16u << 20);
    return image_json(std::string(bytes.begin(), bytes.end()));
  };
  const json real = bytes_of(spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg");
  const json print = bytes_of(spoof + "/images/spoof/nuaa/0004_0004_01_01_03_0.jpg");
  auto admin = server_->admin();
  const json created = parse(post_json(*admin, "/v1/collections", {{"name", "guarded"}, {"liveness", true}}));
  EXPECT_TRUE(created.at("liveness").get<bool>()) << created.dump();
  auto c = server_->admin();
  const json enrolled = parse(post_json(*c, "/v1/collections/guarded/people", {{"name", "s0004"}, {"images", {real, print}}}));
  ASSERT_EQ(enrolled.at("results").size(), 2u) << enrolled.dump();
  EXPECT_EQ(enrolled.at("results")[0].at("status"), "enrolled") << enrolled.dump();
  EXPECT_EQ(enrolled.at("results")[1].at("status"), "spoof") << enrolled.dump();

  // The collection default applies; liveness=false turns it off for one request.
  const json attack = parse(post_json(*c, "/v1/collections/guarded/recognize", {{"image", print}}));
  ASSERT_FALSE(attack.at("faces").empty()) << attack.dump();
  EXPECT_TRUE(attack.at("faces")[0].at("person").is_null()) << attack.dump();
  EXPECT_EQ(attack.at("faces")[0].at("status"), "spoof");
  EXPECT_FALSE(attack.at("faces")[0].at("live").at("is_live").get<bool>());
  const json unchecked = parse(post_json(*c, "/v1/collections/guarded/recognize", {{"image", print}, {"liveness", false}}));
  EXPECT_FALSE(unchecked.at("faces")[0].contains("live")) << unchecked.dump();
  const json genuine = parse(post_json(*c, "/v1/collections/guarded/recognize", {{"image", real}}));
  EXPECT_EQ(genuine.at("faces")[0].at("person"), "s0004") << genuine.dump();
  EXPECT_TRUE(genuine.at("faces")[0].at("live").at("is_live").get<bool>());

  const json verified = parse(post_json(*c, "/v1/collections/guarded/verify", {{"image", print}, {"person", "s0004"}}));
  EXPECT_FALSE(verified.at("same_person").get<bool>()) << verified.dump();
  const json pair = parse(post_json(*c, "/v1/verify", {{"image_a", real}, {"image_b", print}, {"liveness", true}}));
  EXPECT_FALSE(pair.at("same_person").get<bool>()) << pair.dump();
  EXPECT_FALSE(pair.at("face_b").at("live").at("is_live").get<bool>());

  cv::Mat grey = cv::imread(spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg", cv::IMREAD_GRAYSCALE);
  std::vector<std::uint8_t> grey_jpeg;
  cv::imencode(".jpg", grey, grey_jpeg);
  const json detected = parse(post_json(*c, "/v1/detect", {{"image", image_json(std::string(grey_jpeg.begin(), grey_jpeg.end()))}, {"liveness", true}}));
  ASSERT_FALSE(detected.at("faces").empty()) << detected.dump();
  EXPECT_TRUE(detected.at("faces")[0].at("live").is_null()) << detected.dump();
  EXPECT_NE(detected.at("faces")[0].at("live_reason").get<std::string>().find("grayscale"), std::string::npos);
  expect_error(post_json(*c, "/v1/detect", {{"image", real}, {"liveness", "maybe"}}), 400, "bad_request");
}

}  // namespace
}  // namespace faceid
