#pragma once
// Value types shared by every stage of the pipeline.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceid {

// Five facial points in image pixels, in the ArcFace order:
// left eye, right eye, nose tip, left mouth corner, right mouth corner
// ("left" = the subject's right, i.e. the image's left side).
using Landmarks5 = std::array<cv::Point2f, 5>;

struct Detection {
  cv::Rect2f box;         // pixels, in the coordinates of the input image
  float score = 0.f;      // detector confidence in [0, 1]
  Landmarks5 landmarks{};
};

// An L2-normalised face embedding. `norm` keeps the raw length so the
// plain euclidean metric can still be computed exactly.
struct Embedding {
  std::vector<float> unit;
  float norm = 1.f;
};

// One enrolled face as a gallery stores it and the index loads it.
struct FaceRecord {
  std::int64_t id = 0;          // assigned by the store
  std::string person;
  std::string model_id;         // model that produced `embedding`
  Embedding embedding;
  std::string content_sha256;   // hash of the source image bytes (idempotent enrollment)
  std::string source;           // where the image came from (file name, "upload", ...)
  Detection detection;          // in the source image
  std::vector<std::uint8_t> crop_jpeg;  // aligned crop; empty when not kept
  std::string created_at;
};

// Similarity between two faces under the configured metric.
// For cosine a higher value means more similar; for euclidean metrics lower.
struct MatchCandidate {
  std::string person;
  float score = 0.f;
};

// Whether a face is a live person or a presentation attack (a photo, a screen).
// `score` is empty when the face cannot be judged (`reason` says why): such a face is
// never taken as live.
struct LivenessResult {
  std::optional<float> score;  // probability of a live face, in [0, 1]
  bool is_live = false;        // score >= threshold
  float threshold = 0.f;
  std::string reason;          // why it cannot be judged; "" when judged

  bool judged() const { return score.has_value(); }
};

// One face found in an image and what the gallery says about it.
struct FaceResult {
  Detection detection;
  // Empty when the best candidate is below the threshold (open-set "unknown").
  std::optional<std::string> person;
  float score = 0.f;                          // best candidate's score (even when unknown)
  std::optional<MatchCandidate> best;         // best candidate, accepted or not
  std::optional<MatchCandidate> runner_up;    // second-best distinct person
  std::vector<MatchCandidate> candidates;     // best first, one per person, EngineConfig::candidates at most
  float threshold = 0.f;                      // threshold applied
  // Set when liveness was checked. A face not judged live is never named (`person` empty).
  std::optional<LivenessResult> liveness;
};

}  // namespace faceid
