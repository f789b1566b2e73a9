// The REST server under hostile clients: slowloris, oversized chunked bodies, overload,
// an unauthenticated public listener, a store that goes away, and API keys managed over
// REST. Every server here listens on 127.0.0.1 (any free port); the slow clients connect
// from 127.0.0.2, another loopback address, so that they count as one other client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/server.hpp"
#include "server/http.hpp"
#include "server_harness.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A TCP connection to 127.0.0.1:port from `source` (a loopback address); -1 on failure.
int connect_from(const char* source, int port) {
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (::bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(sock, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    ::close(sock);
    return -1;
  }
  return sock;
}

// What has arrived on `sock` within `wait`, without blocking longer; "" when nothing.
std::string received(int sock, std::chrono::milliseconds wait) {
  pollfd entry{sock, POLLIN, 0};
  if (::poll(&entry, 1, static_cast<int>(wait.count())) <= 0) return {};
  char buffer[4096];
  const ssize_t n = ::recv(sock, buffer, sizeof buffer, MSG_DONTWAIT);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
}

// True when the server answered on `sock` or closed it (EOF or reset) within `wait`.
bool answered_or_closed(int sock, std::chrono::milliseconds wait) {
  pollfd entry{sock, POLLIN, 0};
  if (::poll(&entry, 1, static_cast<int>(wait.count())) <= 0) return false;
  char byte = 0;
  return ::recv(sock, &byte, 1, MSG_DONTWAIT | MSG_PEEK) != -1 || errno != EAGAIN;
}

using Server = test::ServerHarness;

json body_of(const httplib::Result& r) { return r ? json::parse(r->body, nullptr, false) : json(); }

class HostileServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::models_installed()) return;
    models_ = test::open_server_models();
    // A small photo keeps each request short, so the timing cases measure the server, not the models.
    cv::Mat photo = cv::imread(test::model_dir() + "/samples/sample2.jpg");
    cv::resize(photo, photo_, cv::Size(), 480.0 / photo.cols, 480.0 / photo.cols);
  }
  static void TearDownTestSuite() {
    models_.reset();
  }
  void SetUp() override { FACEID_REQUIRE_MODELS(); }

  // The photo as a JPEG of its own bytes (`variant` changes them, not the face).
  static std::string photo_jpeg(int variant = 0) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", photo_, bytes, {cv::IMWRITE_JPEG_QUALITY, 95 - variant % 40, cv::IMWRITE_JPEG_RST_INTERVAL,
                                         variant / 40});
    return std::string(bytes.begin(), bytes.end());
  }

  static inline std::shared_ptr<const Pipeline> models_;
  static inline cv::Mat photo_;
};

// 200 connections trickling one byte each: /health and a recognize still answer at once,
// the connections past the per-address limit get 503 + Retry-After, and none blocks the rest.
TEST_F(HostileServerTest, SlowlorisDoesNotDelayHealthOrRecognize) {
  Server server(*models_);
  server.collection("slow");
  auto probe = server.client(server.admin_key);
  const std::string jpeg = photo_jpeg();
  auto start = Clock::now();
  ASSERT_EQ(probe->Post("/v1/collections/slow/recognize", jpeg, "image/jpeg")->status, 200);
  const double alone = seconds_since(start);

  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    const int sock = connect_from("127.0.0.2", server.port);
    ASSERT_GE(sock, 0) << "connection " << i;
    ASSERT_EQ(::send(sock, "P", 1, MSG_NOSIGNAL), 1);
    slow.push_back(sock);
  }
  std::atomic<bool> trickling{true};
  std::thread trickle([&] {
    const std::string head = "OST /v1/collections/slow/recognize HTTP/1.1\r\nHost: x\r\n";
    for (std::size_t i = 0; i < head.size() && trickling; ++i) {
      for (const int sock : slow) ::send(sock, &head[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      for (int wait = 0; wait < 10 && trickling; ++wait) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double worst_health = 0;
  for (int i = 0; i < 5; ++i) {
    auto fresh = server.client("");  // a new connection each time, as a load balancer probes
    start = Clock::now();
    const auto health = fresh->Get("/health");
    worst_health = std::max(worst_health, seconds_since(start));
    ASSERT_TRUE(health) << "no answer to /health during the slowloris";
    EXPECT_EQ(health->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  start = Clock::now();
  const auto recognized = server.client(server.admin_key)->Post("/v1/collections/slow/recognize", jpeg, "image/jpeg");
  const double loaded = seconds_since(start);
  EXPECT_LT(worst_health, 1.0) << "a /health probe waited behind the slow clients";
  ASSERT_TRUE(recognized);
  EXPECT_EQ(recognized->status, 200);
  EXPECT_LT(loaded, alone + 1.0) << "recognize alone " << alone << " s, during the slowloris " << loaded << " s";

  int refused = 0;
  for (const int sock : slow) {
    const std::string answer = received(sock, std::chrono::milliseconds(0));
    if (answer.rfind("HTTP/1.1 503", 0) == 0) {
      EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
      ++refused;
    }
  }
  EXPECT_GE(refused, 200 - ServerOptions{}.max_connections_per_client) << "connections past the per-address limit";
  trickling = false;
  trickle.join();
  for (const int sock : slow) ::close(sock);
}

// httplib restarted its read timeout on every byte: a request that keeps trickling must
// still be cut off at its whole-request deadline.
TEST_F(HostileServerTest, WholeRequestDeadlineCutsATrickle) {
  ServerOptions options;
  options.read_timeout_seconds = 2;
  Server server(*models_, options);
  const int sock = connect_from("127.0.0.1", server.port);
  ASSERT_GE(sock, 0);
  const std::string head = "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + std::string(200, 'a');
  const auto start = Clock::now();
  bool cut = false;
  for (std::size_t i = 0; i < head.size() && !cut && seconds_since(start) < 8; ++i) {
    if (::send(sock, &head[i], 1, MSG_NOSIGNAL) != 1) cut = true;
    cut = cut || answered_or_closed(sock, std::chrono::milliseconds(100));
  }
  const double lasted = seconds_since(start);
  ::close(sock);
  EXPECT_TRUE(cut) << "a request trickling one byte every 0.1 s was still read after " << lasted << " s";
  EXPECT_LT(lasted, 4.0);
}

// A chunked body is counted while it is read: 413 once --max-body-mb is passed, not after buffering it all.
TEST_F(HostileServerTest, ChunkedBodyPastTheLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 1u << 20;
  Server server(*models_, options);
  server.collection("chunked");
  const int sock = connect_from("127.0.0.1", server.port);
  ASSERT_GE(sock, 0);
  const std::string head = "POST /v1/collections/chunked/recognize HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " +
                           server.admin_key + "\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n";
  ASSERT_EQ(::send(sock, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string chunk = "10000\r\n" + std::string(0x10000, '\xff') + "\r\n";
  std::size_t sent = 0;
  std::string answer;
  const auto start = Clock::now();
  while (answer.empty() && sent < (64u << 20) && seconds_since(start) < 20) {
    if (::send(sock, chunk.data(), chunk.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(chunk.size())) break;
    sent += 0x10000;
    answer = received(sock, std::chrono::milliseconds(0));
  }
  // The head and the body of the answer may come in separate segments.
  for (int i = 0; i < 20 && answer.find("}}") == std::string::npos; ++i)
    answer += received(sock, std::chrono::milliseconds(100));
  ::close(sock);
  ASSERT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << "after " << (sent >> 20) << " MiB: " << answer.substr(0, 200);
  EXPECT_NE(answer.find("too_large"), std::string::npos) << answer;
  // Past the limit by at most what the socket buffers hold when the answer is sent.
  EXPECT_LT(sent, 16u << 20) << "the server read far past the 1 MiB limit";
}

// 64 clients against one worker with two places to wait: the excess is shed with 503 +
// Retry-After, every accepted enrollment is stored, none of the refused ones is, and the
// accepted requests keep a latency near that of a lone client.
TEST_F(HostileServerTest, OverloadIsShedWithoutLosingAcceptedWork) {
  ServerOptions options;
  options.workers = 1;
  options.max_waiting = 2;
  options.max_connections_per_client = 128;
  Server server(*models_, options);
  server.collection("load");
  std::vector<double> alone;
  for (int i = 0; i < 3; ++i) {
    const std::string path = "/v1/collections/load/people/solo" + std::to_string(i) + "/faces";
    const std::string photo = photo_jpeg(150 + i);
    auto c = server.client(server.admin_key);
    const auto start = Clock::now();
    const auto r = c->Post(path.c_str(), photo, "image/jpeg");
    alone.push_back(seconds_since(start));
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
  }
  std::sort(alone.begin(), alone.end());

  constexpr int kClients = 64;
  constexpr int kRequestsEach = 2;
  std::mutex mutex;
  std::set<std::string> accepted;
  std::vector<double> accepted_seconds;
  int shed = 0;
  std::vector<std::string> unexpected;
  std::vector<std::string> photos;
  for (int i = 0; i < kClients * kRequestsEach; ++i) photos.push_back(photo_jpeg(i));
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      auto c = server.client(server.admin_key);
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string subject = "p" + std::to_string(client) + "_" + std::to_string(i);
        const std::string path = "/v1/collections/load/people/" + subject + "/faces";
        const auto start = Clock::now();
        const auto r = c->Post(path.c_str(), photos[client * kRequestsEach + i], "image/jpeg");
        const double took = seconds_since(start);
        std::lock_guard lock(mutex);
        if (r && r->status == 201) {
          accepted.insert(subject);
          accepted_seconds.push_back(took);
        } else if (r && r->status == 503 && r->get_header_value("Retry-After") == "1" &&
                   body_of(r)["error"]["code"] == "overloaded") {
          ++shed;
        } else {
          unexpected.push_back(subject + ": " + (r ? std::to_string(r->status) + " " + r->body : "no response"));
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " answers neither 201 nor 503 + Retry-After, e.g. "
                                  << (unexpected.empty() ? "" : unexpected.front());
  EXPECT_GT(shed, 0) << "64 clients against one worker and two queue places were never refused";
  ASSERT_FALSE(accepted.empty());

  std::set<std::string> stored;
  const json subjects = body_of(server.client(server.admin_key)->Get("/v1/collections/load/people"));
  ASSERT_TRUE(subjects.contains("people")) << subjects.dump();
  for (const auto& s : subjects["people"])
    if (s["name"].get<std::string>().rfind("solo", 0) != 0) stored.insert(s["name"].get<std::string>());
  EXPECT_EQ(stored, accepted) << "an accepted enrollment was lost, or a refused one stored";

  std::sort(accepted_seconds.begin(), accepted_seconds.end());
  const double p99 = accepted_seconds[std::min(accepted_seconds.size() - 1, accepted_seconds.size() * 99 / 100)];
  // One running and two waiting: about 3x a lone request (docs/performance.md measures it); the margin
  // absorbs a shared, noisy 2-core machine. Without shedding all 128 would queue: p99 near 100x.
  EXPECT_LT(p99, 8 * alone[1]) << "p99 of accepted requests " << p99 << " s, a lone request " << alone[1] << " s";
}

TEST_F(HostileServerTest, NoAuthOnAPublicAddressNeedsAnExplicitFlag) {
  CollectionSet collections(*models_, {test::temp_dir("hostile_noauth")});
  ApiKeyStore keys(test::temp_dir("hostile_noauth_keys") + "/keys.json");
  ServerOptions options;
  options.require_auth = false;
  options.port = 0;
  // Constructing a server binds nothing: no socket is opened on these addresses.
  for (const char* host : {"0.0.0.0", "::", "192.0.2.10"}) {
    options.host = host;
    try {
      RestServer refused(*models_, collections, keys, options);
      ADD_FAILURE() << "--no-auth accepted on " << host;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
      EXPECT_NE(std::string(e.what()).find("--allow-public-no-auth"), std::string::npos) << e.what();
    }
  }
  options.allow_public_without_auth = true;
  EXPECT_NO_THROW(RestServer(*models_, collections, keys, options));
  options.allow_public_without_auth = false;
  for (const char* host : {"127.0.0.1", "localhost", "::1"}) {
    options.host = host;
    EXPECT_NO_THROW(RestServer(*models_, collections, keys, options)) << host;
  }
}

TEST_F(HostileServerTest, HealthIsSplitIntoLiveAndReady) {
  Server server(*models_);
  server.collection("health");
  auto c = server.client("");
  const auto live = c->Get("/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(body_of(live)["status"], "ok");
  const auto alias = c->Get("/health");
  ASSERT_TRUE(alias);
  EXPECT_EQ(alias->body, live->body);
  const auto ready = c->Get("/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_EQ(body_of(ready)["status"], "ready");
}

TEST_F(HostileServerTest, ReadyIs503WhilePostgresIsDown) {
  FACEID_REQUIRE_POSTGRES();
  test::ScratchPostgres database;
  ASSERT_FALSE(database.url().empty());
  Server server(*models_, {}, database.url());
  server.collection("replica");
  auto c = server.client("");
  EXPECT_EQ(c->Get("/health/ready")->status, 200);
  database.pause();
  const auto down = c->Get("/health/ready");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503) << down->body;
  EXPECT_EQ(body_of(down)["status"], "unavailable");
  EXPECT_TRUE(body_of(down)["unready_stores"].contains("replica")) << down->body;
  EXPECT_EQ(c->Get("/health/live")->status, 200) << "liveness does not depend on the store";
  database.resume();
  const auto back = c->Get("/health/ready");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 200) << back->body;
}

TEST_F(HostileServerTest, KeysAreManagedOverRestWithTheAdminKey) {
  Server server(*models_);
  server.collection("shop");
  auto admin = server.client(server.admin_key);
  const auto post = [](httplib::Client& c, const std::string& path, const json& body) {
    return c.Post(path.c_str(), body.dump(), "application/json");
  };

  const auto created = post(*admin, "/v1/keys", {{"collection", "shop"}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const json key = body_of(created);
  EXPECT_EQ(key["scope"], "collection");
  EXPECT_EQ(key["collection"], "shop");
  const std::string id = key["id"], secret = key["key"];
  EXPECT_EQ(server.client(secret)->Get("/v1/collections/shop/people")->status, 200);

  const auto listed = admin->Get("/v1/keys");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_NE(listed->body.find(id), std::string::npos);
  EXPECT_EQ(listed->body.find("fid_"), std::string::npos) << "a listing showed a secret: " << listed->body;
  EXPECT_EQ(listed->body.find("sha256"), std::string::npos) << listed->body;

  // Only the admin key manages keys.
  EXPECT_EQ(server.client("")->Get("/v1/keys")->status, 401);
  EXPECT_EQ(server.client(secret)->Get("/v1/keys")->status, 403);
  EXPECT_EQ(post(*server.client(secret), "/v1/keys", {{"admin", true}})->status, 403);
  EXPECT_EQ(server.client(secret)->Delete(("/v1/keys/" + id).c_str())->status, 403);
  // Bad requests say what is wrong.
  EXPECT_EQ(post(*admin, "/v1/keys", json::object())->status, 400);
  EXPECT_EQ(post(*admin, "/v1/keys", {{"collection", "shop"}, {"admin", true}})->status, 400);
  EXPECT_EQ(post(*admin, "/v1/keys", {{"collection", "nowhere"}})->status, 404);
  EXPECT_EQ(admin->Post("/v1/keys/000000000000/rotate")->status, 404);

  const auto rotated = admin->Post(("/v1/keys/" + id + "/rotate").c_str());
  ASSERT_TRUE(rotated);
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  const std::string new_secret = body_of(rotated)["key"];
  EXPECT_EQ(body_of(rotated)["id"], id);
  EXPECT_EQ(server.client(secret)->Get("/v1/collections/shop/people")->status, 401);
  EXPECT_EQ(server.client(new_secret)->Get("/v1/collections/shop/people")->status, 200);

  const auto revoked = admin->Delete(("/v1/keys/" + id).c_str());
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_EQ(server.client(new_secret)->Get("/v1/collections/shop/people")->status, 401);
  EXPECT_EQ(admin->Delete(("/v1/keys/" + id).c_str())->status, 404);

  const auto admin_created = post(*admin, "/v1/keys", {{"admin", true}});
  ASSERT_TRUE(admin_created);
  EXPECT_EQ(body_of(admin_created)["scope"], "admin");
  EXPECT_EQ(server.client(body_of(admin_created)["key"])->Get("/v1/collections")->status, 200);
}

}  // namespace
}  // namespace faceid
