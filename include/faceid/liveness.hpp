#pragma once
// Liveness (presentation-attack detection): is a detected face a live person, or a printed
// photo / a screen held up to the camera? One passive check per face, on a context crop
// around the face box; results are LivenessResult (include/faceid/types.hpp).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/embedder.hpp"
#include "faceid/models.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct LivenessOptions {
  bool enabled = false;                 // Engine: check every face it identifies, verifies or enrolls
  std::string model = "fr_liveness";    // manifest name (a network or a fusion)
  std::string model_file;               // user-supplied file instead of the manifest's (not for a fusion)
  std::optional<float> threshold;       // overrides the manifest's "live" threshold
  // Faces whose box height is below this cannot be judged: the crop would be mostly upsampled
  // blur, where print and screen texture is gone.
  int min_face_pixels = 32;
  // The least share of the model's context (crop_scale x the box, centred on the face) that must
  // lie inside the image. Less context is made up by shrinking the scale and shifting the crop,
  // which the models tolerate well (docs/liveness.md); below a fifth the crop is the face alone,
  // with no background or frame edge left to compare against.
  float min_context = 0.2f;
};

// Where the context crop of one face lies, or why there is none.
struct LivenessCrop {
  cv::Rect roi;            // inside the image; empty when cannot_judge is set
  float scale = 0.f;       // the scale applied (crop_scale, or less when the image is too small)
  std::string cannot_judge;
};

// The crop for `spec`'s geometry: the box (squared to side = its height when spec.square_crop),
// scaled about its centre by min(spec.crop_scale, what fits in the image), shifted back inside
// the image without padding. Cannot judge: a box smaller than options.min_face_pixels, a box
// mostly outside the image, or less than options.min_context of the context fitting.
LivenessCrop liveness_crop(const cv::Size& image_size, const cv::Rect2f& box, const ModelSpec& spec,
                           const LivenessOptions& options);

// True when the three channels of `bgr` inside `roi` carry (almost) no colour: a grey image,
// where the colour cues of attacks are missing, cannot be judged.
bool is_grayscale(const cv::Mat& bgr, const cv::Rect& roi);

class LivenessChecker {
 public:
  virtual ~LivenessChecker() = default;
  // One result per face of a BGR image, in order. Faces that cannot be judged get a result
  // without a score and with the reason; nothing throws for a bad face. Thread-safe.
  virtual std::vector<LivenessResult> check(const cv::Mat& bgr, const std::vector<Detection>& faces) const = 0;
  virtual float threshold() const = 0;
  virtual std::string name() const = 0;
};

// Builds the checker of a manifest liveness entry: a softmax_classifier network, or a fusion
// whose members' live probabilities are averaged. Threshold: options.threshold, else the
// entry's thresholds["live"]; Error(kBadRequest) when neither exists.
std::unique_ptr<LivenessChecker> create_liveness_checker(const ModelSpec& spec, const ModelManifest& manifest,
                                                         const ModelFileResolver& resolve,
                                                         const LivenessOptions& options);

// The one gating rule of every front-end: a face is accepted as live only when it was judged
// and scored at or above the threshold. Otherwise returns why not ("spoof ..." or "cannot
// judge liveness: ..."), used to refuse an enrollment or to withhold a name.
std::optional<std::string> liveness_refusal(const LivenessResult& result);

// Applies that rule to an identification: a face not accepted as live keeps its scores for
// the record but loses its name; `liveness` records the result.
void gate_identity(std::optional<std::string>& person, std::optional<LivenessResult>& liveness,
                   const LivenessResult& result);

// "live", "spoof" or "cannot_judge": the status word front-ends report.
const char* liveness_status(const LivenessResult& result);

}  // namespace faceid
