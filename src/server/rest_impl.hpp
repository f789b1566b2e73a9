#pragma once
// The REST server's state and its one route wrapper, shared by the route files
// (rest_routes_*.cpp): every route is registered with route(), which authenticates, parses
// the request once, waits for a worker when the route does image work, turns every error
// into the JSON error shape, and records metrics. Handlers only read the Call and return JSON.
#include <atomic>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "faceid/server.hpp"
#include "server/http.hpp"
#include "server/metrics.hpp"
#include "server/rest_request.hpp"
#include "server/work_queue.hpp"

namespace faceid {

enum class Access { kPublic, kAnyKey, kCollection, kAdmin };
// Whether a route waits for a worker of the work queue (image work, writes) or runs at once.
enum class Work { kNone, kQueued };

// What a JSON handler answers.
struct Reply {
  nlohmann::json body;
  int status = 200;
};

struct RestServer::Impl {
  const Pipeline& models;
  // The cohort of /v1/verify, which compares two images outside any collection: the faces of
  // the cohort gallery (EngineConfig::cohort_gallery) only, as an engine over an empty gallery has.
  std::unique_ptr<Gallery> verify_cohort;
  CollectionSet& collections;
  ApiKeyStore& keys;
  ServerOptions options;
  std::unique_ptr<httplib::Server> http;
  server_detail::RequestMetrics metrics;
  server_detail::WorkQueue work;
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};

  Impl(const Pipeline& m, CollectionSet& c, ApiKeyStore& k, ServerOptions o);

  using Call = server_detail::Call;
  using JsonHandler = std::function<Reply(const Call&)>;
  // A handler that writes its own (non-JSON) answer: a crop, the metrics text.
  using RawHandler = std::function<void(const Call&, httplib::Response&)>;

  // `label` names the route in metrics; `pattern` is a regex over the path.
  void route(const std::string& method, const std::string& pattern, const std::string& label, Access access,
             Work work, JsonHandler handler);
  void raw_route(const std::string& method, const std::string& pattern, const std::string& label, Access access,
                 RawHandler handler);

  // ---- shared by the handlers
  std::shared_ptr<Collection> collection(const Call& call) const { return collections.get(call.path(1)); }
  cv::Mat image(const std::vector<std::uint8_t>& bytes) const;
  int face_limit(const Call& call) const;                    // `limit`, capped by max_faces_per_image
  DetectionFilter detection_filter(const Call& call) const;  // det_threshold, min_face_size
  RecognizeOptions recognize_options(const Call& call) const;
  // `liveness=true|false` of a request; without it, the collection's default (if any) or the server's.
  bool liveness_param(const Call& call, const Collection* c = nullptr) const;
  // The largest faces that pass the request's detection filter, at most `limit`.
  std::vector<Detection> faces_of(const cv::Mat& bgr, const Call& call) const;
  // Enrolls the request's images ('images' and 'image') under `person`.
  Reply enroll(const Call& call, const std::string& person);

  void add_routes();
  void add_health_routes();
  void add_key_routes();
  void add_collection_routes();
  void add_audit_routes();
  void add_person_routes();
  void add_face_routes();
  void add_recognition_routes();
  void add_model_routes();

 private:
  // Who the request's writes are recorded as: "key:ID", or "no-auth" when keys are off.
  std::string authorize(const httplib::Request& req, Access access) const;
  void admit(httplib::Response& res, std::optional<server_detail::WorkQueue::Turn>& turn);
  void serve(const httplib::Request& req, httplib::Response& res, const std::string& label, Access access,
             Work work, const RawHandler& handler);
  void register_handler(const std::string& method, const std::string& pattern, httplib::Server::Handler handler);
};

}  // namespace faceid
