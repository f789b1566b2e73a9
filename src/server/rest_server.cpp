// The REST front-end: HTTP plumbing over CollectionSet, ApiKeyStore and the pipeline.
// Every route runs inside one wrapper (Impl::serve) that authenticates, turns errors into the
// JSON error shape and records metrics, so no handler can answer with a bare 500. The routes
// themselves are in rest_routes_*.cpp.
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "server/console.hpp"
#include "server/guarded_http.hpp"
#include "server/openapi.hpp"
#include "server/rest_impl.hpp"

namespace faceid {

using nlohmann::json;
using server_detail::ApiError;
using server_detail::send_error;

namespace {

// A store of its own, in memory: no other writer to follow.
std::unique_ptr<Gallery> open_verify_cohort(const Pipeline& models) {
  GalleryOptions options = models.gallery_options("the verification cohort");
  options.follow_other_writers = false;
  return std::make_unique<Gallery>(open_store(":memory:"), std::move(options));
}

}  // namespace

RestServer::Impl::Impl(const Pipeline& m, CollectionSet& c, ApiKeyStore& k, ServerOptions o)
    : models(m),
      verify_cohort(open_verify_cohort(m)),
      collections(c),
      keys(k),
      options(std::move(o)),
      work(options.workers, options.max_waiting >= 0 ? options.max_waiting : options.workers) {}

std::string RestServer::Impl::authorize(const httplib::Request& req, Access access) const {
  if (!options.require_auth) return "no-auth";
  if (access == Access::kPublic) return "public";
  const std::string secret = server_detail::presented_key(req);
  if (secret.empty()) throw ApiError{ErrorCode::kUnauthorized, "missing API key (Authorization: Bearer KEY or X-API-Key)"};
  const auto key = keys.authenticate(secret);
  if (!key) throw ApiError{ErrorCode::kUnauthorized, "invalid API key"};
  const std::string actor = "key:" + key->id;
  if (key->admin() || access == Access::kAnyKey) return actor;
  if (access == Access::kAdmin) throw ApiError{ErrorCode::kForbidden, "this operation needs the admin key"};
  if (req.matches.size() < 2 || req.matches[1].str() != key->collection)
    throw ApiError{ErrorCode::kForbidden, "this key is for collection " + key->collection + " only"};
  return actor;
}

// Image work waits for a worker, or is shed: when too many wait, or when it waited past the deadline.
void RestServer::Impl::admit(httplib::Response& res, std::optional<server_detail::WorkQueue::Turn>& turn) {
  using Refusal = server_detail::WorkQueue::Refusal;
  auto admission = work.enter(std::chrono::milliseconds(options.max_queue_wait_ms));
  if (admission.turn) {
    turn.emplace(std::move(*admission.turn));
    return;
  }
  res.set_header("Retry-After", "1");
  if (admission.refusal == Refusal::kWaitedTooLong)
    throw ApiError{ErrorCode::kOverloaded, "the request waited " + std::to_string(options.max_queue_wait_ms) +
                                          " ms for a worker without getting one: retry later"};
  throw ApiError{ErrorCode::kOverloaded, "the server is busy (" + std::to_string(work.workers()) + " requests running, " +
                                        std::to_string(work.max_waiting()) + " waiting): retry later"};
}

void RestServer::Impl::serve(const httplib::Request& req, httplib::Response& res, const std::string& label,
                             Access access, Work queued, const RawHandler& handler) {
  const auto start = std::chrono::steady_clock::now();
  try {
    const Call call(req, authorize(req, access));
    std::optional<server_detail::WorkQueue::Turn> turn;
    if (queued == Work::kQueued) admit(res, turn);
    handler(call, res);
  } catch (const ApiError& e) {
    send_error(res, e.code, e.message, e.details);
  } catch (const Error& e) {
    send_error(res, e.code(), e.what());
  } catch (const json::exception& e) {
    send_error(res, ErrorCode::kBadRequest, std::string("malformed JSON field: ") + e.what());
  } catch (const std::bad_alloc&) {
    send_error(res, ErrorCode::kTooLarge, "the request needs more memory than the server can give it");
  } catch (const std::exception& e) {
    spdlog::error("{} {}: {}", req.method, req.path, e.what());
    send_error(res, ErrorCode::kInternal, "internal error");
  }
  if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  // Answers hold biometric data: never kept in a browser or proxy cache, never sniffed as a page.
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  metrics.record(label, req.method, res.status,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void RestServer::Impl::register_handler(const std::string& method, const std::string& pattern,
                                        httplib::Server::Handler handler) {
  if (method == "GET") http->Get(pattern, std::move(handler));
  else if (method == "POST") http->Post(pattern, std::move(handler));
  else if (method == "PUT") http->Put(pattern, std::move(handler));
  else if (method == "PATCH") http->Patch(pattern, std::move(handler));
  else if (method == "DELETE") http->Delete(pattern, std::move(handler));
  else throw std::logic_error("unsupported method " + method);
}

void RestServer::Impl::raw_route(const std::string& method, const std::string& pattern, const std::string& label,
                                 Access access, RawHandler handler) {
  register_handler(method, pattern, [this, label, access, handler](const httplib::Request& req, httplib::Response& res) {
    serve(req, res, label, access, Work::kNone, handler);
  });
}

void RestServer::Impl::route(const std::string& method, const std::string& pattern, const std::string& label,
                             Access access, Work queued, JsonHandler handler) {
  const RawHandler as_json = [handler](const Call& call, httplib::Response& res) {
    const Reply reply = handler(call);
    res.status = reply.status;
    res.set_content(reply.body.dump(), "application/json");
  };
  register_handler(method, pattern, [this, label, access, queued, as_json](const httplib::Request& req,
                                                                           httplib::Response& res) {
    serve(req, res, label, access, queued, as_json);
  });
}

cv::Mat RestServer::Impl::image(const std::vector<std::uint8_t>& bytes) const {
  return decode_image(bytes, options.image_limits);
}

int RestServer::Impl::face_limit(const Call& call) const {
  const int limit = call.integer({"limit"}).value_or(0);
  if (limit < 0) throw ApiError{ErrorCode::kBadRequest, "limit must be >= 0"};
  return limit == 0 ? options.max_faces_per_image : std::min(limit, options.max_faces_per_image);
}

DetectionFilter RestServer::Impl::detection_filter(const Call& call) const {
  DetectionFilter filter;
  filter.score_threshold = call.number({"det_threshold", "det_prob_threshold"});
  filter.min_face_size = call.integer({"min_face_size"});
  try {
    validate(filter);
  } catch (const Error& e) {
    throw ApiError{ErrorCode::kBadRequest, e.what()};
  }
  return filter;
}

RecognizeOptions RestServer::Impl::recognize_options(const Call& call) const {
  RecognizeOptions ro;
  ro.top_k = call.integer({"top_k", "prediction_count"}).value_or(1);
  if (ro.top_k < 1 || ro.top_k > 100) throw ApiError{ErrorCode::kBadRequest, "top_k must be between 1 and 100"};
  ro.threshold = call.number({"threshold"});
  ro.max_faces = face_limit(call);
  ro.detection = detection_filter(call);
  return ro;
}

bool RestServer::Impl::liveness_param(const Call& call, const Collection* c) const {
  if (call.has({"liveness"})) return call.flag({"liveness"});
  return models.config().liveness.enabled || (c && c->liveness_default());
}

std::vector<Detection> RestServer::Impl::faces_of(const cv::Mat& bgr, const Call& call) const {
  auto faces = filter_detections(models.detect(bgr), detection_filter(call));
  const auto limit = static_cast<std::size_t>(face_limit(call));
  if (faces.size() > limit) faces.resize(limit);  // detections come largest first
  return faces;
}

void RestServer::Impl::add_routes() {
  add_health_routes();
  add_key_routes();
  raw_route("GET", "/openapi.json", "openapi", Access::kPublic, [](const Call&, httplib::Response& res) {
    res.set_content(server_detail::openapi_json(), "application/json");
  });
  raw_route("GET", "/metrics", "metrics", Access::kAdmin, [this](const Call&, httplib::Response& res) {
    res.set_content(metrics.render(collections.list()), "text/plain; version=0.0.4");
  });
  add_collection_routes();
  add_audit_routes();
  add_person_routes();
  add_face_routes();
  add_recognition_routes();
  add_model_routes();
  server_detail::add_console_routes(*http, models.config());
}

namespace {

void require_valid(const ServerOptions& options) {
  // Face data must not be open to a network by accident.
  if (!options.require_auth && !server_detail::is_loopback(options.host) && !options.allow_public_without_auth)
    throw Error(ErrorCode::kBadRequest, "refusing to serve without API keys on " + options.host +
                                            ", which other machines can reach: listen on 127.0.0.1, use API keys, "
                                            "or confirm with --allow-public-no-auth");
  if (options.threads < 1) throw Error(ErrorCode::kBadRequest, "the server needs at least one thread");
  if (options.max_connections_per_client < 1)
    throw Error(ErrorCode::kBadRequest, "each client needs at least one connection");
  if (options.max_faces_per_image < 1) throw Error(ErrorCode::kBadRequest, "--max-faces must be at least 1");
  if (options.max_queue_wait_ms < 0) throw Error(ErrorCode::kBadRequest, "the queue wait cannot be negative");
}

// What httplib answers by itself (unknown route, body too large, bad HTTP) gets the same error shape.
void answer_unrouted(const ServerOptions& options, const httplib::Request& req, httplib::Response& res) {
  // Reading stopped by the connection guard: the rest of the request is not read, so the connection closes.
  switch (server_detail::current_read_stop()) {
    case server_detail::ReadStop::kTooLarge: res.status = 413; break;
    case server_detail::ReadStop::kDeadline: res.status = 408; break;
    case server_detail::ReadStop::kNone: break;
  }
  if (res.status == 408 || res.status == 413) res.set_header("Connection", "close");
  switch (res.status) {
    case 408:
      return send_error(res, ErrorCode::kRequestTimeout,
                        "the request was not received within " + std::to_string(options.read_timeout_seconds) + " s");
    case 404: return send_error(res, ErrorCode::kNotFound, "no route " + req.method + " " + req.path);
    case 413:
      return send_error(res, ErrorCode::kTooLarge,
                        "the request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
    case 414: return send_error(res, ErrorCode::kTooLarge, "the request URI is too long", nullptr, 414);
    default: return send_error(res, ErrorCode::kBadRequest, "the HTTP request was rejected", nullptr, res.status);
  }
}

}  // namespace

RestServer::RestServer(const Pipeline& models, CollectionSet& collections, ApiKeyStore& keys, ServerOptions options)
    : impl_(std::make_unique<Impl>(models, collections, keys, std::move(options))) {
  Impl& impl = *impl_;
  require_valid(impl.options);
  server_detail::ConnectionLimits limits;
  limits.request_deadline = std::chrono::seconds(impl.options.read_timeout_seconds);
  limits.write_timeout = std::chrono::seconds(impl.options.write_timeout_seconds);
  limits.max_body_bytes = impl.options.max_body_bytes;
  limits.max_connections_per_client = impl.options.max_connections_per_client;
  impl.http = server_detail::make_guarded_server(limits, impl.options.tls_cert_file, impl.options.tls_key_file);
  const auto threads = static_cast<std::size_t>(impl.options.threads);
  impl.http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Requests run in parallel, each on one OpenCV thread: less CPU per request than OpenCV's own
  // pool under concurrent load (docs/performance.md, "Threads").
  cv::setNumThreads(1);
  impl.http->set_payload_max_length(impl.options.max_body_bytes);
  impl.http->set_error_handler([&impl](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    answer_unrouted(impl.options, req, res);
    impl.metrics.record("unrouted", req.method, res.status, 0.);
  });
  impl.add_routes();
}

RestServer::~RestServer() { stop(); }

int RestServer::bind() {
  Impl& impl = *impl_;
  int port = impl.options.port;
  if (port == 0) {
    port = impl.http->bind_to_any_port(impl.options.host);
  } else if (!impl.http->bind_to_port(impl.options.host, port)) {
    port = -1;
  }
  if (port < 0)
    throw Error(ErrorCode::kIo, "cannot listen on " + impl.options.host + ":" + std::to_string(impl.options.port));
  server_detail::widen_backlog(*impl.http);
  return port;
}

void RestServer::run() {
  impl_->running = true;
  if (!impl_->stop_requested) impl_->http->listen_after_bind();
  impl_->running = false;
}

void RestServer::stop() {
  impl_->stop_requested = true;
  // run() may be between its check and httplib's start of listening: wait for one or the other.
  while (impl_->running && !impl_->http->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http->stop();
}

bool RestServer::tls() const { return !impl_->options.tls_cert_file.empty(); }

}  // namespace faceid
