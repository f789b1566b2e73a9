#include "server/rest_views.hpp"

#include <cmath>

#include "faceid/json.hpp"
#include "server/rest_request.hpp"

namespace faceid::server_detail {

using nlohmann::json;

namespace {

// The candidates with "subject" next to "person".
json rest_candidates_json(const std::vector<MatchCandidate>& candidates) {
  json list = candidates_json(candidates);
  for (auto& c : list) c["subject"] = c["person"];
  return list;
}

}  // namespace

json rest_detection_json(const Detection& detection) {
  json out = detection_json(detection);
  out["score"] = out["detection_score"];
  return out;
}

json rest_identity_json(const Recognition& r) {
  json out = face_json(r.detection, r.person, r.candidates, r.threshold, r.liveness);
  for (const char* field : {"box", "detection_score", "landmarks"}) out.erase(field);
  out["subject"] = out["person"];
  out["candidates"] = rest_candidates_json(r.candidates);
  return out;
}

json rest_face_json(const Recognition& r) {
  json out = face_json(r.detection, r.person, r.candidates, r.threshold, r.liveness);
  out["subject"] = out["person"];
  out["candidates"] = rest_candidates_json(r.candidates);
  out["detection"] = rest_detection_json(r.detection);
  return out;
}

json rest_enroll_outcome_json(const EnrollOutcome& outcome) {
  json out = enroll_outcome_json(outcome);
  if (outcome.detection) out["detection"] = rest_detection_json(*outcome.detection);
  return out;
}

json person_json(const PersonInfo& p) {
  return {{"name", p.name}, {"faces", p.face_count}, {"created_at", p.created_at}};
}

json face_record_json(const FaceRecord& f) {
  return {{"id", f.id},           {"source", f.source},         {"sha256", f.content_sha256},
          {"model", f.model_id},  {"created_at", f.created_at}, {"detection", rest_detection_json(f.detection)}};
}

json collection_json(const CollectionInfo& c) {
  return {{"name", c.name},   {"created_at", c.created_at}, {"people", c.people}, {"subjects", c.people},
          {"faces", c.faces}, {"liveness", c.liveness}};
}

json with_person(const std::string& name, json fields) {
  fields["person"] = name;
  fields["subject"] = name;
  return fields;
}

Embedding embedding_from_json(const json& value) {
  if (!value.is_array() || value.empty())
    throw ApiError{ErrorCode::kBadRequest, "an embedding is a non-empty array of numbers"};
  Embedding embedding;
  embedding.unit.reserve(value.size());
  double squared = 0.;
  for (const auto& x : value) {
    if (!x.is_number() || !std::isfinite(x.get<double>()))
      throw ApiError{ErrorCode::kBadRequest, "an embedding holds finite numbers only"};
    embedding.unit.push_back(x.get<float>());
    squared += x.get<double>() * x.get<double>();
  }
  embedding.norm = static_cast<float>(std::sqrt(squared));
  if (!(embedding.norm > 0.f) || !std::isfinite(embedding.norm))
    throw ApiError{ErrorCode::kBadRequest, "an embedding needs a finite, non-zero length"};
  for (float& x : embedding.unit) x /= embedding.norm;
  return embedding;
}

json embedding_json(const Embedding& e) {
  std::vector<float> raw(e.unit.size());
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = e.unit[i] * e.norm;
  return raw;
}

}  // namespace faceid::server_detail
