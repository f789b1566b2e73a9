#include "faceid/json.hpp"

#include "faceid/error.hpp"
#include "faceid/json_numbers.hpp"
#include "faceid/liveness.hpp"
#include "faceid/metric.hpp"
#include "faceid/score_norm.hpp"

namespace faceid {

using nlohmann::json;

json box_json(const cv::Rect2f& box) {
  return {{"x", json_pixels(box.x)}, {"y", json_pixels(box.y)}, {"width", json_pixels(box.width)},
          {"height", json_pixels(box.height)}};
}

json detection_json(const Detection& d) {
  json landmarks = json::array();
  for (const auto& p : d.landmarks) landmarks.push_back({json_pixels(p.x), json_pixels(p.y)});
  return {{"box", box_json(d.box)}, {"detection_score", json_score(d.score)}, {"landmarks", landmarks}};
}

json candidates_json(const std::vector<MatchCandidate>& candidates) {
  json list = json::array();
  for (const auto& c : candidates) list.push_back({{"person", c.person}, {"score", json_score(c.score)}});
  return list;
}

void add_liveness_json(json& face, const std::optional<LivenessResult>& liveness) {
  if (!liveness) return;
  if (!liveness->judged()) {
    face["live"] = nullptr;
    face["live_reason"] = liveness->reason;
    return;
  }
  face["live"] = {{"score", json_score(*liveness->score)},
                  {"is_live", liveness->is_live},
                  {"threshold", json_score(liveness->threshold)}};
}

json quality_json(const FaceQuality& q) {
  return {{"score", json_score(q.score)}, {"sharpness", json_score(q.sharpness)},
          {"pose", json_score(q.pose)},   {"brightness", json_score(q.brightness)},
          {"size", json_score(q.size)},   {"detector", json_score(q.detector)}};
}

json face_json(const Detection& detection, const std::optional<std::string>& person,
               const std::vector<MatchCandidate>& candidates, float threshold,
               const std::optional<LivenessResult>& liveness) {
  json face = detection_json(detection);
  face["person"] = person ? json(*person) : json(nullptr);
  face["unknown"] = !person.has_value();
  face["score"] = candidates.empty() ? json(nullptr) : json(json_score(candidates.front().score));
  face["threshold"] = json_score(threshold);
  face["candidates"] = candidates_json(candidates);
  add_liveness_json(face, liveness);
  if (liveness && liveness_refusal(*liveness)) face["status"] = liveness_status(*liveness);
  return face;
}

json face_json(const FaceResult& face) {
  return face_json(face.detection, face.person, face.candidates, face.threshold, face.liveness);
}

json audit_entry_json(const AuditEntry& entry) {
  const auto text_or_null = [](const std::string& text) { return text.empty() ? json() : json(text); };
  return {{"id", entry.id},
          {"at", entry.at},
          {"actor", entry.actor},
          {"action", entry.action},
          {"collection", text_or_null(entry.collection)},
          {"person", text_or_null(entry.person)},
          {"new_name", text_or_null(entry.new_name)},
          {"key_id", text_or_null(entry.key_id)},
          {"face_ids", entry.face_ids},
          {"face_count", entry.face_count}};
}

json enroll_outcome_json(const EnrollOutcome& o) {
  json out = {{"source", o.source}, {"status", enroll_status_name(o.error)}, {"faces_found", o.faces_found}};
  if (o.error) out["code"] = error_code_name(*o.error);
  if (o.face_id) out["face_id"] = *o.face_id;
  if (o.detection) out["detection"] = detection_json(*o.detection);
  if (!o.message.empty()) out["message"] = o.message;
  add_liveness_json(out, o.liveness);
  return out;
}

json verify_json(const VerifyResult& r) {
  json out = {{"same_person", r.same_person},       {"score", json_score(r.score)},
              {"threshold", json_score(r.threshold)}, {"metric", metric_name(r.metric)},
              {"norm", score_norm_name(r.norm)},    {"faces_in_a", r.faces_in_a},
              {"faces_in_b", r.faces_in_b},         {"face_a", detection_json(r.face_a)},
              {"face_b", detection_json(r.face_b)}};
  add_liveness_json(out["face_a"], r.liveness_a);
  add_liveness_json(out["face_b"], r.liveness_b);
  return out;
}

}  // namespace faceid
