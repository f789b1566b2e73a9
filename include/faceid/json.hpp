#pragma once
// The one JSON view of results, written by every front-end (CLI output, REST answers), so a
// face, a box or a score reads the same wherever it comes from. Numbers are rounded per
// faceid/json_numbers.hpp. Needs nlohmann/json (header-only) on the include path.
//
//   box:       {"x", "y", "width", "height"}                       (pixels, 1 decimal)
//   detection: {"box", "detection_score", "landmarks": [[x, y] x5]}
//   face:      a detection plus {"person": name | null, "unknown", "score": best | null,
//              "threshold", "candidates": [{"person", "score"}], "live"?, "live_reason"?, "status"?}
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceid/engine.hpp"
#include "faceid/quality.hpp"
#include "faceid/types.hpp"

namespace faceid {

nlohmann::json box_json(const cv::Rect2f& box);
nlohmann::json detection_json(const Detection& detection);
nlohmann::json candidates_json(const std::vector<MatchCandidate>& candidates);
// {"score", "is_live", "threshold"} under "live" for a judged face; null with "live_reason" when
// it cannot be judged; nothing when liveness was not checked.
void add_liveness_json(nlohmann::json& face, const std::optional<LivenessResult>& liveness);
nlohmann::json quality_json(const FaceQuality& quality);

// One face and who it is. A face refused by liveness is never named: "person" is null and
// "status" says why ("spoof", "cannot_judge").
nlohmann::json face_json(const Detection& detection, const std::optional<std::string>& person,
                         const std::vector<MatchCandidate>& candidates, float threshold,
                         const std::optional<LivenessResult>& liveness);
nlohmann::json face_json(const FaceResult& face);

// {"id", "at", "actor", "action", "collection", "person", "new_name", "key_id", "face_ids",
// "face_count"}: an empty text field is null.
nlohmann::json audit_entry_json(const AuditEntry& entry);
// {"source", "status", "code"?, "faces_found", "face_id"?, "detection"?, "message"?, "live"?}:
// "code" is the error code's name when the image was not enrolled ("conflict" for a duplicate).
nlohmann::json enroll_outcome_json(const EnrollOutcome& outcome);
// {"same_person", "score", "threshold", "metric", "norm", "faces_in_a", "faces_in_b", "face_a", "face_b"}
nlohmann::json verify_json(const VerifyResult& result);

}  // namespace faceid
