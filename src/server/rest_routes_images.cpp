// The routes that look at images or embeddings: recognize and verify against a collection,
// and the model-only verify, detect and embed.
#include <nlohmann/json.hpp>

#include "faceid/error.hpp"
#include "faceid/json.hpp"
#include "faceid/json_numbers.hpp"
#include "faceid/liveness.hpp"
#include "faceid/metric.hpp"
#include "faceid/quality.hpp"
#include "server/rest_impl.hpp"
#include "server/rest_views.hpp"

namespace faceid {

using nlohmann::json;
using server_detail::ApiError;
using server_detail::rest_detection_json;

namespace {

constexpr std::size_t kMaxEmbeddingsPerRequest = 1000;

// A face of a detect_only recognition: its detection, flat and (previous release) nested.
json detected_face_json(const Detection& d) {
  json face = detection_json(d);
  face["detection"] = rest_detection_json(d);
  return face;
}

json image_size_json(const cv::Mat& bgr) { return {{"width", bgr.cols}, {"height", bgr.rows}}; }

// The vectors of {"embedding": [...]} and {"embeddings": [[...], ...]}.
std::vector<json> embeddings_param(const json& body) {
  std::vector<json> vectors;
  if (body.contains("embedding")) vectors.push_back(body["embedding"]);
  if (body.contains("embeddings") && body["embeddings"].is_array())
    for (const auto& v : body["embeddings"]) vectors.push_back(v);
  if (vectors.empty()) throw ApiError{ErrorCode::kBadRequest, "send {\"embedding\": [...]} or {\"embeddings\": [[...], ...]}"};
  if (vectors.size() > kMaxEmbeddingsPerRequest)
    throw ApiError{ErrorCode::kTooLarge, "at most " + std::to_string(kMaxEmbeddingsPerRequest) + " embeddings per request"};
  return vectors;
}

}  // namespace

void RestServer::Impl::add_recognition_routes() {
  const std::string base = R"(/v1/collections/([^/]+))";
  route("POST", base + "/recognize", "recognize", Access::kCollection, Work::kQueued, [this](const Call& call) {
    const auto c = collection(call);
    RecognizeOptions ro = recognize_options(call);
    ro.liveness = liveness_param(call, c.get());
    const cv::Mat bgr = image(call.one_image("image"));
    json faces = json::array();
    if (call.flag({"detect_only"})) {
      for (const auto& d : faces_of(bgr, call)) faces.push_back(detected_face_json(d));
    } else {
      for (const auto& r : c->recognize(bgr, ro)) faces.push_back(server_detail::rest_face_json(r));
    }
    return Reply{{{"faces", faces}, {"image", image_size_json(bgr)}}};
  });
  route("POST", base + "/recognize/embedding", "recognize_embedding", Access::kCollection, Work::kQueued,
        [this](const Call& call) {
          const auto c = collection(call);
          const RecognizeOptions ro = recognize_options(call);
          const auto vectors = embeddings_param(call.body());
          // Vectors of another model may have the same length but are not comparable.
          if (const auto model = call.text({"model"}); model && *model != models.embedder_model_id())
            throw Error(ErrorCode::kModelMismatch, "embeddings of model " + *model +
                                                       " cannot be searched in a gallery of " + models.embedder_model_id());
          json results = json::array();
          for (const auto& v : vectors)
            results.push_back(server_detail::rest_identity_json(
                c->recognize_embedding(server_detail::embedding_from_json(v), ro)));
          return Reply{{{"results", results}}};
        });
  route("POST", base + "/verify", "verify_person", Access::kCollection, Work::kQueued, [this](const Call& call) {
    const auto c = collection(call);
    const std::string person = call.required_text({"person", "subject"}, "person");
    const PersonMatch m = c->verify_person(image(call.one_image("image")), person, call.number({"threshold"}),
                                             liveness_param(call, c.get()), detection_filter(call));
    json out = server_detail::with_person(m.person, {{"same_person", m.same_person},
                                                      {"score", json_score(m.score)},
                                                      {"threshold", json_score(m.threshold)},
                                                      {"metric", metric_name(models.metric())},
                                                      {"faces_in_image", m.faces_in_image},
                                                      {"detection", rest_detection_json(m.detection)}});
    add_liveness_json(out, m.liveness);
    return Reply{out};
  });
}

void RestServer::Impl::add_model_routes() {
  route("POST", "/v1/verify", "verify", Access::kAnyKey, Work::kQueued, [this](const Call& call) {
    const cv::Mat a = image(call.one_image("image_a"));
    const cv::Mat b = image(call.one_image("image_b"));
    const VerifyResult v = models.verify(a, b, *verify_cohort, liveness_param(call), detection_filter(call));
    json out = verify_json(v);
    // A per-request threshold decides again; a face refused by liveness still never matches.
    if (const auto threshold = call.number({"threshold"})) {
      const bool live = !(v.liveness_a && liveness_refusal(*v.liveness_a)) &&
                        !(v.liveness_b && liveness_refusal(*v.liveness_b));
      out["same_person"] = live && accepts(v.metric, v.score, *threshold);
      out["threshold"] = json_score(*threshold);
    }
    for (const char* face : {"face_a", "face_b"}) out[face]["score"] = out[face]["detection_score"];
    return Reply{out};
  });
  route("POST", "/v1/detect", "detect", Access::kAnyKey, Work::kQueued, [this](const Call& call) {
    const cv::Mat bgr = image(call.one_image("image"));
    const auto detected = faces_of(bgr, call);
    const auto live = liveness_param(call) ? models.check_liveness(bgr, detected) : std::vector<LivenessResult>{};
    json faces = json::array();
    for (std::size_t i = 0; i < detected.size(); ++i) {
      json face = rest_detection_json(detected[i]);
      if (!live.empty()) add_liveness_json(face, live[i]);
      try {
        face["quality"] = quality_json(face_quality(bgr, detected[i]));
      } catch (const Error&) {
        face["quality"] = nullptr;  // box mostly outside the image: no meaningful quality
      }
      faces.push_back(face);
    }
    return Reply{{{"faces", faces}, {"image", image_size_json(bgr)}}};
  });
  route("POST", "/v1/embed", "embed", Access::kAnyKey, Work::kQueued, [this](const Call& call) {
    const cv::Mat bgr = image(call.one_image("image"));
    const auto faces = faces_of(bgr, call);
    const auto embeddings = models.embed(bgr, faces);
    json list = json::array();
    for (std::size_t i = 0; i < faces.size(); ++i)
      list.push_back({{"detection", rest_detection_json(faces[i])},
                      {"embedding", server_detail::embedding_json(embeddings[i])}});
    return Reply{{{"model", models.embedder_model_id()}, {"faces", list}}};
  });
}

}  // namespace faceid
