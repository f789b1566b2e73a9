#pragma once
// REST answers: the library's JSON of results (faceid/json.hpp) plus, for one release, the
// names of the previous REST vocabulary next to the new ones (docs/openapi.json, "Deprecated
// aliases"): "subject" next to "person", a nested "detection" with its "score" next to the
// face's flat "box" / "detection_score".
#include <nlohmann/json.hpp>

#include "faceid/server.hpp"

namespace faceid::server_detail {

nlohmann::json rest_detection_json(const Detection& detection);  // detection_json + "score"
nlohmann::json rest_identity_json(const Recognition& recognition);  // who it is, without the box
nlohmann::json rest_face_json(const Recognition& recognition);
nlohmann::json rest_enroll_outcome_json(const EnrollOutcome& outcome);
nlohmann::json person_json(const PersonInfo& person);
nlohmann::json face_record_json(const FaceRecord& face);
nlohmann::json collection_json(const CollectionInfo& collection);
// {"person": name, "subject": name} merged into `fields`.
nlohmann::json with_person(const std::string& name, nlohmann::json fields);

// A raw embedding from JSON (any length, finite, non-zero); ApiError otherwise.
Embedding embedding_from_json(const nlohmann::json& value);
nlohmann::json embedding_json(const Embedding& embedding);  // the raw vector (unit * norm)

}  // namespace faceid::server_detail
