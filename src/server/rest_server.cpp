// The REST front-end: HTTP plumbing over CollectionSet, ApiKeyStore and the engine.
// Every route runs inside one wrapper that authenticates, turns errors into the
// JSON error shape and records metrics, so no handler can answer with a bare 500.
#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>
#include <cmath>
#include <functional>

#include <arpa/inet.h>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <spdlog/spdlog.h>

#include "engine/embedding_codec.hpp"
#include "faceid/error.hpp"
#include "faceid/json_numbers.hpp"
#include "faceid/image.hpp"
#include "faceid/metric.hpp"
#include "faceid/quality.hpp"
#include "faceid/server.hpp"
#include "server/console.hpp"
#include "server/guarded_http.hpp"
#include "server/http.hpp"
#include "server/metrics.hpp"
#include "server/openapi.hpp"
#include "server/work_queue.hpp"

namespace faceid {

namespace {

using nlohmann::json;

// An HTTP-level refusal with the stable code of the error shape.
struct ApiError {
  int status;
  std::string code;
  std::string message;
  json details = nullptr;
};

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadImage: return 400;
    case ErrorCode::kBadRequest: return 400;
    case ErrorCode::kNoFace: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kModelMismatch: return 409;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kCorruptStore:
    case ErrorCode::kModelInvalid:
    case ErrorCode::kIo: return 500;
  }
  return 500;
}

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message,
                const json& details = nullptr) {
  json error = {{"code", code}, {"message", message}};
  if (!details.is_null()) error["details"] = details;
  res.status = status;
  res.set_content(json{{"error", error}}.dump(), "application/json");
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

// ---------------------------------------------------------------- request parsing

bool is_json(const httplib::Request& req) {
  return req.get_header_value("Content-Type").find("application/json") != std::string::npos;
}

json json_body(const httplib::Request& req) {
  if (!is_json(req)) return json::object();
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    throw ApiError{400, "bad_request", "the body is not a JSON object"};
  return body;
}

// A request parameter from the JSON body, a multipart text field, or the query string.
std::optional<std::string> text_param(const httplib::Request& req, const json& body, const std::string& name) {
  if (const auto it = body.find(name); it != body.end() && !it->is_null())
    return it->is_string() ? it->get<std::string>() : it->dump();
  if (req.has_file(name)) return req.get_file_value(name).content;
  if (req.has_param(name)) return req.get_param_value(name);
  return std::nullopt;
}

template <typename T>
std::optional<T> number_param(const httplib::Request& req, const json& body, const std::string& name) {
  const auto text = text_param(req, body, name);
  if (!text) return std::nullopt;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used != text->size() || !std::isfinite(value)) throw std::invalid_argument(name);
    if constexpr (std::is_integral_v<T>) {
      if (value != std::floor(value) || std::fabs(value) > 1e9) throw std::invalid_argument(name);
    }
    return static_cast<T>(value);
  } catch (const std::exception&) {
    throw ApiError{400, "bad_request", "parameter " + name + " must be a number, got '" + *text + "'"};
  }
}

bool flag_param(const httplib::Request& req, const json& body, const std::string& name) {
  const auto text = text_param(req, body, name);
  if (!text) return false;
  if (*text == "true" || *text == "1") return true;
  if (*text == "false" || *text == "0") return false;
  throw ApiError{400, "bad_request", "parameter " + name + " must be true or false"};
}

std::vector<std::uint8_t> decode_base64_image(const json& value, const std::string& field) {
  if (!value.is_string()) throw ApiError{400, "bad_request", field + " must be a base64 string"};
  std::string text = value.get<std::string>();
  // Accept data URLs ("data:image/jpeg;base64,...") as browsers produce them.
  if (text.rfind("data:", 0) == 0) {
    const auto comma = text.find(',');
    text = comma == std::string::npos ? std::string() : text.substr(comma + 1);
  }
  try {
    auto bytes = base64_decode(text);
    if (bytes.empty()) throw ApiError{400, "bad_image", field + " is empty"};
    return bytes;
  } catch (const Error&) {
    throw ApiError{400, "bad_request", field + " is not valid base64"};
  }
}

// Images named by `field`: multipart files, base64 strings (one or an array) in a
// JSON body, or, for "image", a raw image/* body.
std::vector<EnrollImage> images_param(const httplib::Request& req, const json& body, const std::string& field) {
  std::vector<EnrollImage> images;
  if (req.is_multipart_form_data()) {
    const auto range = req.files.equal_range(field);
    for (auto it = range.first; it != range.second; ++it)
      images.push_back({it->second.filename.empty() ? field : it->second.filename,
                        std::vector<std::uint8_t>(it->second.content.begin(), it->second.content.end())});
  } else if (const auto it = body.find(field); it != body.end()) {
    if (it->is_array()) {
      for (std::size_t i = 0; i < it->size(); ++i)
        images.push_back({field + "[" + std::to_string(i) + "]",
                          decode_base64_image((*it)[i], field + "[" + std::to_string(i) + "]")});
    } else {
      images.push_back({field, decode_base64_image(*it, field)});
    }
  } else if (req.get_header_value("Content-Type").rfind("image/", 0) == 0 && !req.body.empty()) {
    images.push_back({"body", std::vector<std::uint8_t>(req.body.begin(), req.body.end())});
  }
  return images;
}

std::vector<std::uint8_t> one_image_param(const httplib::Request& req, const json& body, const std::string& field) {
  auto images = images_param(req, body, field);
  if (images.empty())
    throw ApiError{400, "bad_request", "missing image '" + field +
                                           "' (multipart file, base64 JSON field, or an image/* body)"};
  if (images.size() > 1) throw ApiError{400, "bad_request", "expected one image in '" + field + "'"};
  return std::move(images.front().bytes);
}

std::int64_t parse_face_id(const std::string& text) {
  try {
    std::size_t used = 0;
    const long long id = std::stoll(text, &used);
    if (used == text.size()) return id;
  } catch (const std::exception&) {
  }
  throw ApiError{400, "bad_request", "face id must be an integer, got '" + text + "'"};
}

// ---------------------------------------------------------------- JSON views

json detection_json(const Detection& d) {
  json landmarks = json::array();
  for (const auto& p : d.landmarks) landmarks.push_back({json_pixels(p.x), json_pixels(p.y)});
  return {{"box",
           {{"x", json_pixels(d.box.x)}, {"y", json_pixels(d.box.y)}, {"width", json_pixels(d.box.width)},
            {"height", json_pixels(d.box.height)}}},
          {"score", json_score(d.score)},
          {"landmarks", landmarks}};
}

// "live": {"score", "is_live", "threshold"}, or null with "live_reason" when it cannot be judged.
void add_liveness_json(json& face, const std::optional<LivenessResult>& liveness) {
  if (!liveness) return;
  if (!liveness->judged()) {
    face["live"] = nullptr;
    face["live_reason"] = liveness->reason;
    return;
  }
  face["live"] = {{"score", *liveness->score}, {"is_live", liveness->is_live}, {"threshold", liveness->threshold}};
}

json recognition_json(const Recognition& r) {
  json candidates = json::array();
  for (const auto& c : r.candidates) candidates.push_back({{"subject", c.person}, {"score", json_score(c.score)}});
  json out = {{"subject", r.person ? json(*r.person) : json(nullptr)},
              {"unknown", !r.person.has_value()},
              {"threshold", json_score(r.threshold)},
              {"candidates", candidates}};
  out["score"] = r.candidates.empty() ? json(nullptr) : json(json_score(r.candidates.front().score));
  add_liveness_json(out, r.liveness);
  if (r.liveness && liveness_refusal(*r.liveness)) out["status"] = liveness_status(*r.liveness);
  return out;
}

json face_record_json(const FaceRecord& f) {
  return {{"id", f.id},
          {"source", f.source},
          {"sha256", f.content_sha256},
          {"model", f.model_id},
          {"created_at", f.created_at},
          {"detection", detection_json(f.detection)}};
}

json enroll_outcome_json(const EnrollOutcome& o) {
  json out = {{"source", o.source}, {"status", enroll_status_name(o.status)}, {"faces_found", o.faces_found}};
  if (o.face_id) out["face_id"] = *o.face_id;
  if (o.detection) out["detection"] = detection_json(*o.detection);
  if (!o.message.empty()) out["message"] = o.message;
  add_liveness_json(out, o.liveness);
  return out;
}

json subject_json(const PersonInfo& p) {
  return {{"name", p.name}, {"faces", p.face_count}, {"created_at", p.created_at}};
}

json collection_json(const CollectionInfo& c) {
  return {{"name", c.name},         {"created_at", c.created_at}, {"subjects", c.subjects},
          {"faces", c.faces},       {"liveness", c.liveness}};
}

Embedding embedding_from_json(const json& value) {
  if (!value.is_array() || value.empty())
    throw ApiError{400, "bad_request", "an embedding is a non-empty array of numbers"};
  Embedding embedding;
  embedding.unit.reserve(value.size());
  double squared = 0.;
  for (const auto& x : value) {
    if (!x.is_number() || !std::isfinite(x.get<double>()))
      throw ApiError{400, "bad_request", "an embedding holds finite numbers only"};
    embedding.unit.push_back(x.get<float>());
    squared += x.get<double>() * x.get<double>();
  }
  embedding.norm = static_cast<float>(std::sqrt(squared));
  if (!(embedding.norm > 0.f) || !std::isfinite(embedding.norm))
    throw ApiError{400, "bad_request", "an embedding needs a finite, non-zero length"};
  for (float& x : embedding.unit) x /= embedding.norm;
  return embedding;
}

json embedding_json(const Embedding& e) {
  std::vector<float> raw(e.unit.size());
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = e.unit[i] * e.norm;
  return raw;
}

enum class Access { kPublic, kAnyKey, kCollection, kAdmin };

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string presented_key(const httplib::Request& req) {
  const std::string bearer = req.get_header_value("Authorization");
  if (bearer.rfind("Bearer ", 0) == 0) return bearer.substr(7);
  return req.get_header_value("X-API-Key");
}

}  // namespace

struct RestServer::Impl {
  const Engine& models;
  CollectionSet& collections;
  ApiKeyStore& keys;
  ServerOptions options;
  std::unique_ptr<httplib::Server> http;
  server_detail::RequestMetrics metrics;
  server_detail::WorkQueue work;
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};

  Impl(const Engine& m, CollectionSet& c, ApiKeyStore& k, ServerOptions o)
      : models(m),
        collections(c),
        keys(k),
        options(std::move(o)),
        work(options.workers, options.max_waiting >= 0 ? options.max_waiting : options.workers) {}

  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  void authorize(const httplib::Request& req, Access access) {
    if (access == Access::kPublic || !options.require_auth) return;
    const std::string secret = presented_key(req);
    if (secret.empty()) throw ApiError{401, "unauthorized", "missing API key (Authorization: Bearer KEY or X-API-Key)"};
    const auto key = keys.authenticate(secret);
    if (!key) throw ApiError{401, "unauthorized", "invalid API key"};
    if (key->admin() || access == Access::kAnyKey) return;
    if (access == Access::kAdmin) throw ApiError{403, "forbidden", "this operation needs the admin key"};
    if (req.matches.size() < 2 || req.matches[1].str() != key->collection)
      throw ApiError{403, "forbidden", "this key is for collection " + key->collection + " only"};
  }

  // Registers `handler` behind the common wrapper; `route` names the metrics label.
  void add(const std::string& method, const std::string& pattern, const std::string& route, Access access,
           Handler handler) {
    auto wrapped = [this, method, route, access, handler](const httplib::Request& req, httplib::Response& res) {
      const auto start = std::chrono::steady_clock::now();
      try {
        authorize(req, access);
        // POSTs carry images (or create things): they wait for a worker, or are shed when too many wait.
        const auto turn = method == "POST" ? work.enter() : std::nullopt;
        if (method == "POST" && !turn) {
          res.set_header("Retry-After", "1");
          throw ApiError{503, "overloaded", "the server is busy (" + std::to_string(work.workers()) + " requests running, " +
                                                std::to_string(work.max_waiting()) + " waiting): retry later"};
        }
        handler(req, res);
      } catch (const ApiError& e) {
        send_error(res, e.status, e.code, e.message, e.details);
      } catch (const Error& e) {
        send_error(res, http_status(e.code()), error_code_name(e.code()), e.what());
      } catch (const json::exception& e) {
        send_error(res, 400, "bad_request", std::string("malformed JSON field: ") + e.what());
      } catch (const std::bad_alloc&) {
        send_error(res, 413, "too_large", "the request needs more memory than the server can give it");
      } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", req.method, req.path, e.what());
        send_error(res, 500, "internal", "internal error");
      }
      if (res.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      // Answers hold biometric data: never kept in a browser or proxy cache, never sniffed as a page.
      res.set_header("Cache-Control", "no-store");
      res.set_header("X-Content-Type-Options", "nosniff");
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics.record(route, method, res.status, seconds);
    };
    if (method == "GET") http->Get(pattern, wrapped);
    else if (method == "POST") http->Post(pattern, wrapped);
    else if (method == "PUT") http->Put(pattern, wrapped);
    else if (method == "PATCH") http->Patch(pattern, wrapped);
    else if (method == "DELETE") http->Delete(pattern, wrapped);
    else throw std::logic_error("unsupported method " + method);
  }

  std::shared_ptr<Collection> collection(const httplib::Request& req) { return collections.get(req.matches[1]); }

  cv::Mat image(const std::vector<std::uint8_t>& bytes) { return decode_image(bytes, options.image_limits); }

  int face_limit(const httplib::Request& req, const json& body) {
    const int limit = number_param<int>(req, body, "limit").value_or(0);
    if (limit < 0) throw ApiError{400, "bad_request", "limit must be >= 0"};
    return limit == 0 ? options.max_faces_per_image : std::min(limit, options.max_faces_per_image);
  }

  RecognizeOptions recognize_options(const httplib::Request& req, const json& body) {
    RecognizeOptions ro;
    ro.top_k = number_param<int>(req, body, "top_k").value_or(1);
    if (ro.top_k < 1 || ro.top_k > 100) throw ApiError{400, "bad_request", "top_k must be between 1 and 100"};
    ro.threshold = number_param<float>(req, body, "threshold");
    ro.max_faces = face_limit(req, body);
    return ro;
  }

  // `liveness=true|false` of a request; without it, the collection's default (if any) or the server's.
  bool liveness_param(const httplib::Request& req, const json& body, const Collection* c = nullptr) {
    if (text_param(req, body, "liveness")) return flag_param(req, body, "liveness");
    return models.config().liveness.enabled || (c && c->liveness_default());
  }

  std::vector<Detection> largest_faces(const cv::Mat& bgr, int limit) {
    auto faces = models.detect(bgr);
    if (faces.size() > static_cast<std::size_t>(limit)) faces.resize(limit);
    return faces;
  }

  void add_routes();
  void add_health_routes();
  void add_key_routes();
  void add_collection_routes();
  void add_subject_routes();
  void add_model_routes();
};

void RestServer::Impl::add_health_routes() {
  const auto live = [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"status", "ok"},
                    {"model", models.embedder_model_id()},
                    {"metric", metric_name(models.metric())},
                    {"threshold", models.threshold()}});
  };
  add("GET", "/health", "health", Access::kPublic, live);
  add("GET", "/health/live", "health_live", Access::kPublic, live);
  // Ready = every open collection's store answers, so an orchestrator can route around a broken replica.
  add("GET", "/health/ready", "health_ready", Access::kPublic, [this](const httplib::Request&, httplib::Response& res) {
    json stores = json::object();
    for (const auto& [collection, problem] : collections.unready_stores()) stores[collection] = problem;
    if (stores.empty()) return send_json(res, {{"status", "ready"}});
    send_json(res, {{"status", "unavailable"}, {"unready_stores", stores}}, 503);
  });
}

void RestServer::Impl::add_key_routes() {
  add("GET", "/v1/keys", "keys", Access::kAdmin, [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const auto& info : keys.list()) list.push_back(json::parse(api_key_json(info)));
    send_json(res, {{"keys", list}});
  });
  add("POST", "/v1/keys", "keys", Access::kAdmin, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const auto collection = text_param(req, body, "collection");
    const bool admin = flag_param(req, body, "admin");
    if (admin == collection.has_value())
      throw ApiError{400, "bad_request", "send either {\"collection\": NAME} or {\"admin\": true}"};
    if (collection && !collections.contains(*collection))
      throw ApiError{404, "not_found", "no collection " + *collection};
    const auto created = keys.create(collection.value_or(""));
    send_json(res, json::parse(api_key_json(created.info, created.secret)), 201);
  });
  add("POST", R"(/v1/keys/([^/]+)/rotate)", "key_rotate", Access::kAdmin,
      [this](const httplib::Request& req, httplib::Response& res) {
        const auto rotated = keys.rotate(req.matches[1]);
        send_json(res, json::parse(api_key_json(rotated.info, rotated.secret)));
      });
  add("DELETE", R"(/v1/keys/([^/]+))", "key", Access::kAdmin, [this](const httplib::Request& req, httplib::Response& res) {
    keys.revoke(req.matches[1]);
    send_json(res, {{"revoked", req.matches[1].str()}});
  });
}

void RestServer::Impl::add_routes() {
  add_health_routes();
  add_key_routes();
  add("GET", "/openapi.json", "openapi", Access::kPublic, [](const httplib::Request&, httplib::Response& res) {
    res.set_content(server_detail::openapi_json(), "application/json");
  });
  add("GET", "/metrics", "metrics", Access::kAdmin, [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(collections.list()), "text/plain; version=0.0.4");
  });
  add_collection_routes();
  add_subject_routes();
  add_model_routes();
  server_detail::add_console_routes(*http, models.config());
}

void RestServer::Impl::add_collection_routes() {
  add("GET", "/v1/collections", "collections", Access::kAdmin, [this](const httplib::Request&, httplib::Response& res) {
    json list = json::array();
    for (const auto& info : collections.list()) list.push_back(collection_json(info));
    send_json(res, {{"collections", list}});
  });
  add("POST", "/v1/collections", "collections", Access::kAdmin, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const auto name = text_param(req, body, "name");
    if (!name) throw ApiError{400, "bad_request", "missing collection name"};
    collections.create(*name, flag_param(req, body, "liveness"));
    send_json(res, collection_json(collections.info(*name)), 201);
  });
  add("GET", R"(/v1/collections/([^/]+))", "collection", Access::kCollection,
      [this](const httplib::Request& req, httplib::Response& res) {
        send_json(res, collection_json(collections.info(req.matches[1])));
      });
  add("DELETE", R"(/v1/collections/([^/]+))", "collection", Access::kAdmin,
      [this](const httplib::Request& req, httplib::Response& res) {
        collections.remove(req.matches[1]);
        const int revoked = keys.revoke_collection(req.matches[1]);
        send_json(res, {{"deleted", req.matches[1].str()}, {"keys_revoked", revoked}});
      });

  add("POST", R"(/v1/collections/([^/]+)/recognize)", "recognize", Access::kCollection,
      [this](const httplib::Request& req, httplib::Response& res) {
        const json body = json_body(req);
        const auto c = collection(req);
        RecognizeOptions ro = recognize_options(req, body);
        ro.liveness = liveness_param(req, body, c.get());
        const cv::Mat bgr = image(one_image_param(req, body, "image"));
        json faces = json::array();
        if (flag_param(req, body, "detect_only")) {
          for (const auto& d : largest_faces(bgr, ro.max_faces)) faces.push_back({{"detection", detection_json(d)}});
        } else {
          for (const auto& r : c->recognize(bgr, ro)) {
            json face = recognition_json(r);
            face["detection"] = detection_json(r.detection);
            faces.push_back(face);
          }
        }
        send_json(res, {{"faces", faces}, {"image", {{"width", bgr.cols}, {"height", bgr.rows}}}});
      });
  add("POST", R"(/v1/collections/([^/]+)/recognize/embedding)", "recognize_embedding", Access::kCollection,
      [this](const httplib::Request& req, httplib::Response& res) {
        const json body = json_body(req);
        const auto c = collection(req);
        const RecognizeOptions ro = recognize_options(req, body);
        std::vector<json> vectors;
        if (body.contains("embedding")) vectors.push_back(body["embedding"]);
        if (body.contains("embeddings") && body["embeddings"].is_array())
          for (const auto& v : body["embeddings"]) vectors.push_back(v);
        if (vectors.empty()) throw ApiError{400, "bad_request", "send {\"embedding\": [...]} or {\"embeddings\": [[...], ...]}"};
        // Vectors of another model may have the same length but are not comparable.
        if (const auto model = text_param(req, body, "model"); model && *model != models.embedder_model_id())
          throw Error(ErrorCode::kModelMismatch, "embeddings of model " + *model + " cannot be searched in a gallery of " +
                                                     models.embedder_model_id());
        if (vectors.size() > 1000) throw ApiError{413, "too_large", "at most 1000 embeddings per request"};
        json results = json::array();
        for (const auto& v : vectors) results.push_back(recognition_json(c->recognize_embedding(embedding_from_json(v), ro)));
        send_json(res, {{"results", results}});
      });
  add("POST", R"(/v1/collections/([^/]+)/verify)", "verify_subject", Access::kCollection,
      [this](const httplib::Request& req, httplib::Response& res) {
        const json body = json_body(req);
        const auto c = collection(req);
        const auto subject = text_param(req, body, "subject");
        if (!subject) throw ApiError{400, "bad_request", "missing subject"};
        const auto threshold = number_param<float>(req, body, "threshold");
        const SubjectMatch m = c->verify_subject(image(one_image_param(req, body, "image")), *subject, threshold,
                                                 liveness_param(req, body, c.get()));
        json out = {{"subject", m.subject},
                    {"same_person", m.same_person},
                    {"score", json_score(m.score)},
                    {"threshold", json_score(m.threshold)},
                    {"metric", metric_name(models.metric())},
                    {"faces_in_image", m.faces_in_image},
                    {"detection", detection_json(m.detection)}};
        add_liveness_json(out, m.liveness);
        send_json(res, out);
      });
}

void RestServer::Impl::add_subject_routes() {
  const std::string subjects = R"(/v1/collections/([^/]+)/subjects)";
  const std::string subject = subjects + R"(/([^/]+))";
  const std::string faces = subject + "/faces";

  // Enrolls the request's images; answers 201, or the error of the images when none was added.
  const auto enroll = [this](const httplib::Request& req, httplib::Response& res, const json& body,
                             const std::string& name) {
    const auto c = collection(req);
    auto images = images_param(req, body, "images");
    for (auto& extra : images_param(req, body, "image")) images.push_back(std::move(extra));
    if (images.empty()) throw ApiError{400, "bad_request", "no images: send 'images' (or 'image') as multipart files or base64 JSON"};
    if (images.size() > static_cast<std::size_t>(options.max_images_per_request))
      throw ApiError{413, "too_large", "at most " + std::to_string(options.max_images_per_request) + " images per request"};
    const auto outcomes = c->add_faces(name, images, options.image_limits);
    json results = json::array();
    int enrolled = 0;
    for (const auto& o : outcomes) {
      results.push_back(enroll_outcome_json(o));
      enrolled += o.status == EnrollStatus::kEnrolled ? 1 : 0;
    }
    if (enrolled > 0) return send_json(res, {{"subject", name}, {"added", enrolled}, {"results", results}}, 201);
    const EnrollOutcome& first = outcomes.front();
    switch (first.status) {
      case EnrollStatus::kDuplicate: throw ApiError{409, "conflict", "nothing added: " + first.message, results};
      case EnrollStatus::kNoFace: throw ApiError{422, "no_face", "nothing added: " + first.source + ": " + first.message, results};
      default: throw ApiError{400, "bad_image", "nothing added: " + first.source + ": " + first.message, results};
    }
  };

  add("GET", subjects, "subjects", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    json list = json::array();
    for (const auto& p : collection(req)->subjects()) list.push_back(subject_json(p));
    send_json(res, {{"subjects", list}});
  });
  add("POST", subjects, "subjects", Access::kCollection, [this, enroll](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const auto name = text_param(req, body, "name");
    if (!name) throw ApiError{400, "bad_request", "missing subject name"};
    // The store keeps people with faces only, so a subject is created with its first images.
    require_valid_name(*name, "subject");
    if (collection(req)->has_subject(*name)) throw ApiError{409, "conflict", "subject " + *name + " already exists"};
    enroll(req, res, body, *name);
  });
  add("GET", subject, "subject", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    send_json(res, subject_json(collection(req)->subject(req.matches[2])));
  });
  const auto rename = [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const auto to = text_param(req, body, "name");
    if (!to) throw ApiError{400, "bad_request", "missing new subject name"};
    collection(req)->rename_subject(req.matches[2], *to);
    send_json(res, {{"name", *to}, {"renamed_from", req.matches[2].str()}});
  };
  add("PATCH", subject, "subject", Access::kCollection, rename);
  add("PUT", subject, "subject", Access::kCollection, rename);
  add("DELETE", subject, "subject", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    collection(req)->remove_subject(req.matches[2]);
    send_json(res, {{"deleted", req.matches[2].str()}});
  });

  add("GET", faces, "faces", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    json list = json::array();
    for (const auto& f : collection(req)->faces(req.matches[2])) list.push_back(face_record_json(f));
    send_json(res, {{"subject", req.matches[2].str()}, {"faces", list}});
  });
  add("POST", faces, "faces", Access::kCollection, [enroll](const httplib::Request& req, httplib::Response& res) {
    enroll(req, res, json_body(req), req.matches[2]);
  });
  add("DELETE", faces, "faces", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    std::vector<std::int64_t> ids;
    if (const auto it = body.find("ids"); it != body.end()) {
      for (const auto& id : *it) ids.push_back(id.get<std::int64_t>());
    } else if (req.has_param("ids")) {
      std::stringstream list(req.get_param_value("ids"));
      for (std::string item; std::getline(list, item, ',');) ids.push_back(parse_face_id(item));
    }
    if (ids.empty()) throw ApiError{400, "bad_request", "name the faces to delete: ?ids=1,2 or {\"ids\": [1, 2]}"};
    const auto removed = collection(req)->remove_faces(req.matches[2], ids);
    json missing = json::array();
    for (const auto id : ids)
      if (std::find(removed.begin(), removed.end(), id) == removed.end()) missing.push_back(id);
    send_json(res, {{"removed", removed}, {"not_found", missing}});
  });
  add("DELETE", faces + R"(/(\d+))", "face", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    const std::int64_t id = parse_face_id(req.matches[3]);
    if (collection(req)->remove_faces(req.matches[2], {id}).empty())
      throw ApiError{404, "not_found", "no face " + std::to_string(id) + " of subject " + req.matches[2].str()};
    send_json(res, {{"removed", {id}}});
  });
  add("GET", faces + R"(/(\d+)/crop)", "face_crop", Access::kCollection, [this](const httplib::Request& req, httplib::Response& res) {
    const auto jpeg = collection(req)->face_crop(req.matches[2], parse_face_id(req.matches[3]));
    res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  });
}

void RestServer::Impl::add_model_routes() {
  add("POST", "/v1/verify", "verify", Access::kAnyKey, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const cv::Mat a = image(one_image_param(req, body, "image_a"));
    const cv::Mat b = image(one_image_param(req, body, "image_b"));
    const VerifyResult v = models.verify(a, b, liveness_param(req, body));
    const auto threshold = number_param<float>(req, body, "threshold");
    const float applied = threshold.value_or(v.threshold);
    const bool live = !(v.liveness_a && liveness_refusal(*v.liveness_a)) && !(v.liveness_b && liveness_refusal(*v.liveness_b));
    json out = {{"same_person", threshold ? live && accepts(v.metric, v.score, applied) : v.same_person},
                {"score", json_score(v.score)},
                {"threshold", json_score(applied)},
                {"metric", metric_name(v.metric)},
                {"face_a", detection_json(v.face_a)},
                {"face_b", detection_json(v.face_b)},
                {"faces_in_a", v.faces_in_a},
                {"faces_in_b", v.faces_in_b}};
    add_liveness_json(out["face_a"], v.liveness_a);
    add_liveness_json(out["face_b"], v.liveness_b);
    send_json(res, out);
  });
  add("POST", "/v1/detect", "detect", Access::kAnyKey, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const cv::Mat bgr = image(one_image_param(req, body, "image"));
    json faces = json::array();
    const auto detected = largest_faces(bgr, face_limit(req, body));
    const auto live = liveness_param(req, body) ? models.check_liveness(bgr, detected) : std::vector<LivenessResult>{};
    for (std::size_t i = 0; i < detected.size(); ++i) {
      const Detection& d = detected[i];
      json face = detection_json(d);
      if (!live.empty()) add_liveness_json(face, live[i]);
      try {
        const FaceQuality q = face_quality(bgr, d);
        face["quality"] = {{"score", json_score(q.score)},           {"sharpness", json_score(q.sharpness)},
                           {"pose", json_score(q.pose)},             {"brightness", json_score(q.brightness)},
                           {"size", json_score(q.size)},             {"detector", json_score(q.detector)}};
      } catch (const Error&) {
        face["quality"] = nullptr;  // box mostly outside the image: no meaningful quality
      }
      faces.push_back(face);
    }
    send_json(res, {{"faces", faces}, {"image", {{"width", bgr.cols}, {"height", bgr.rows}}}});
  });
  add("POST", "/v1/embed", "embed", Access::kAnyKey, [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json_body(req);
    const cv::Mat bgr = image(one_image_param(req, body, "image"));
    const auto faces = largest_faces(bgr, face_limit(req, body));
    const auto embeddings = models.embed(bgr, faces);
    json list = json::array();
    for (std::size_t i = 0; i < faces.size(); ++i)
      list.push_back({{"detection", detection_json(faces[i])}, {"embedding", embedding_json(embeddings[i])}});
    send_json(res, {{"model", models.embedder_model_id()}, {"faces", list}});
  });
}

RestServer::RestServer(const Engine& models, CollectionSet& collections, ApiKeyStore& keys, ServerOptions options)
    : impl_(std::make_unique<Impl>(models, collections, keys, std::move(options))) {
  Impl& impl = *impl_;
  // Face data must not be open to a network by accident.
  if (!impl.options.require_auth && !is_loopback(impl.options.host) && !impl.options.allow_public_without_auth)
    throw Error(ErrorCode::kBadRequest, "refusing to serve without API keys on " + impl.options.host +
                                            ", which other machines can reach: listen on 127.0.0.1, use API keys, "
                                            "or confirm with --allow-public-no-auth");
  if (impl.options.threads < 1) throw Error(ErrorCode::kBadRequest, "the server needs at least one thread");
  if (impl.options.max_connections_per_client < 1)
    throw Error(ErrorCode::kBadRequest, "each client needs at least one connection");
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
  // What httplib answers by itself (unknown route, body too large, bad HTTP) gets the same error shape.
  impl.http->set_error_handler([&impl](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    // Reading stopped by the connection guard: the rest of the request is not read, so the connection closes.
    switch (server_detail::current_read_stop()) {
      case server_detail::ReadStop::kTooLarge: res.status = 413; break;
      case server_detail::ReadStop::kDeadline: res.status = 408; break;
      case server_detail::ReadStop::kNone: break;
    }
    if (res.status == 408 || res.status == 413) res.set_header("Connection", "close");
    switch (res.status) {
      case 408: send_error(res, 408, "request_timeout", "the request was not received within " + std::to_string(impl.options.read_timeout_seconds) + " s"); break;
      case 404: send_error(res, 404, "not_found", "no route " + req.method + " " + req.path); break;
      case 413: send_error(res, 413, "too_large", "the request body exceeds " + std::to_string(impl.options.max_body_bytes) + " bytes"); break;
      case 414: send_error(res, 414, "too_large", "the request URI is too long"); break;
      default: send_error(res, res.status, "bad_request", "the HTTP request was rejected"); break;
    }
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
