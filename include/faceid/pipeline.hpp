#pragma once
// The pipeline: the models (detect -> align -> embed, the liveness gate) and what they do on
// their own, with no gallery. Loaded once and shared, read-only, by every gallery searched with
// its embeddings: an Engine's (faceid/engine.hpp) and a server's collections (faceid/server.hpp).
//
//   auto pipeline = faceid::Pipeline::open(config);  // models load once
//   auto gallery = pipeline->open_gallery(faceid::open_store(uri), "lobby");
//   for (const auto& face : pipeline->detect(frame)) use(pipeline->embed(frame, {face}).front());
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/detector.hpp"
#include "faceid/embedder.hpp"
#include "faceid/gallery.hpp"
#include "faceid/image.hpp"
#include "faceid/index.hpp"
#include "faceid/liveness.hpp"
#include "faceid/metric.hpp"
#include "faceid/models.hpp"
#include "faceid/score_norm.hpp"
#include "faceid/store.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct EngineConfig {
  std::string gallery = default_gallery_path();  // store URI (see open_store) of an Engine's gallery
  std::string model_dir = default_model_dir();
  std::vector<std::string> extra_model_dirs;     // searched after model_dir
  std::string manifest_path;                     // "" = builtin overlaid by <model_dir>/manifest.json
  std::string detector = "ultraface_rfb320";     // manifest names
  std::string embedder = "fr_feature";
  std::string detector_file;                     // user-supplied file instead of the manifest's
  std::string embedder_file;
  DetectorOptions detection;
  // When the detector finds no face: retry on a padded / enlarged copy (tight crops, faces cut by
  // the frame), then with `fallback_detector` (a manifest name; "" = none).
  bool detect_retry = true;
  std::string fallback_detector;
  EmbedderOptions embedding;
  MatchOptions matching;
  IndexOptions index;              // face search: exact, HNSW or IVF-SQ8 (default: by gallery size)
  std::optional<float> threshold;  // overrides the manifest's threshold for the metric
  bool align = true;               // false = plain box crop (for comparisons only)
  bool keep_crops = true;          // store the aligned crop of each enrolled face
  ImageLimits limits;
  int candidates = 2;              // top_k: people reported per face (FaceResult::candidates; >= 2 ranked)
  LivenessOptions liveness;        // anti-spoofing of identified, verified and enrolled faces
  // Cohort score normalisation (faceid/score_norm.hpp): the gallery's other people are the
  // cohort, plus the faces of `cohort_gallery` (a store URI; "" = none). Used once the
  // cohort holds normalization.min_cohort faces and the manifest has a threshold for it.
  NormOptions normalization = default_norm_options();
  std::string cohort_gallery;
};

struct VerifyResult {
  bool same_person = false;
  float score = 0.f;
  float threshold = 0.f;
  Metric metric = Metric::kCosine;
  ScoreNorm norm = ScoreNorm::kNone;  // what `score` and `threshold` are
  Detection face_a, face_b;
  int faces_in_a = 0, faces_in_b = 0;
  // Set when liveness was checked; same_person is false unless both faces are judged live.
  std::optional<LivenessResult> liveness_a, liveness_b;
};

// Every call is const and thread-safe. Non-copyable: share it through the shared_ptr of open().
class Pipeline {
 public:
  // Loads the models (and the liveness model when liveness is on). config.gallery is not
  // opened. Throws faceid::Error.
  static std::shared_ptr<const Pipeline> open(const EngineConfig& config);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  std::vector<Detection> detect(const cv::Mat& bgr) const;
  // The detector behind detect(), for callers that detect in two steps (detect_boxes).
  const FaceDetector& detector() const;
  // The embedder behind embed() (e.g. to re-embed stored crops, Gallery::reindex).
  const FaceEmbedder& embedder() const;
  // Embeddings of the given detections of one image, in one batch.
  std::vector<Embedding> embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const;
  // The aligned crop the embedder sees for a detection.
  cv::Mat aligned_crop(const cv::Mat& bgr, const Detection& face) const;
  // Liveness of each face, by the configured liveness model (loaded on first use).
  std::vector<LivenessResult> check_liveness(const cv::Mat& bgr, const std::vector<Detection>& faces) const;
  float liveness_threshold() const;  // of the liveness model (loaded on first use)

  // The work of an enrollment before anything is stored, the same for every gallery (an
  // engine's, a server collection's): per image, decode (within `limits`), detect, take the
  // subject face, the liveness gate (with `with_liveness`: a face not judged live is refused,
  // kSpoof / kCannotJudge), the crop, then one batch of embeddings. An image whose bytes appear
  // twice is a duplicate; `enrolled_as(sha256)`, when given, names the owner of content already
  // stored, so that its work is skipped (the caller checks again under its write lock). With
  // `strict`, the first refused image throws instead.
  EnrollmentBatch prepare_enrollment(
      const std::string& person, const std::vector<EnrollImage>& images, const ImageLimits& limits,
      bool with_liveness, bool strict,
      const std::function<std::optional<std::string>(const std::string&)>& enrolled_as = {}) const;

  // How a gallery searched with these models decides: their model, metric, policy, thresholds,
  // normalisation and cohort. `name` labels it in messages ("collection lobby");
  // `index_snapshot`: IndexOptions::snapshot_file. It follows other writers.
  GalleryOptions gallery_options(const std::string& name = {}, const std::string& index_snapshot = {}) const;
  // A gallery of `store` with gallery_options(name, index_snapshot).
  std::unique_ptr<Gallery> open_gallery(std::unique_ptr<GalleryStore> store, const std::string& name = {},
                                        const std::string& index_snapshot = {}) const;

  // Compares the subject face (subject_face()) of each image, the score normalised by the
  // cohort of `cohort` (Gallery::score_pair; a gallery of these models). `filter`: per-call
  // detection knobs (faces it drops are not considered). Error(kNoFace) when one has none.
  VerifyResult verify(const cv::Mat& a, const cv::Mat& b, const Gallery& cohort, bool with_liveness,
                      const DetectionFilter& filter = {}) const;

  float threshold() const;  // the 1:N open-set threshold for raw scores (verify() reports its own)
  // The 1:N threshold for normalised scores; absent when the manifest has none for this
  // embedder, metric and normalisation (then scores stay raw).
  std::optional<float> normalized_threshold() const;
  Metric metric() const;
  const std::string& embedder_model_id() const;
  const EngineConfig& config() const;

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceid
