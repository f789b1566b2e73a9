#pragma once
// The engine: detection, alignment, embedding and gallery search behind one object. It owns
// the models and one gallery (faceid/gallery.hpp); more galleries searched with its models
// (a server's collections) come from open_gallery().
//
//   auto engine = faceid::Engine::open(config);
//   for (const auto& face : engine->identify(frame)) use(face.person.value_or("unknown"));
#include <cstdint>
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
  std::string gallery = default_gallery_path();  // store URI (see open_store)
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

class Engine {
 public:
  // Loads the models (once) and the gallery. Throws faceid::Error.
  static std::unique_ptr<Engine> open(const EngineConfig& config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Every face in a BGR image with its best match or unknown. Thread-safe.
  std::vector<FaceResult> identify(const cv::Mat& bgr) const;
  // The same with liveness on or off for this call (identify(bgr) follows config().liveness).
  // A face not judged live keeps its scores but no name (gate_identity()).
  std::vector<FaceResult> identify(const cv::Mat& bgr, bool with_liveness) const;
  // Liveness of each face, by the configured liveness model (loaded on first use). Thread-safe.
  std::vector<LivenessResult> check_liveness(const cv::Mat& bgr, const std::vector<Detection>& faces) const;
  float liveness_threshold() const;  // of the liveness model (loaded on first use)
  // The work of an enrollment before anything is stored, the same for every gallery (this
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
  // Matches given embeddings (from embed()) against the gallery.
  FaceResult match(const Embedding& embedding, int candidates) const;
  // This engine's gallery (EngineConfig::gallery).
  const Gallery& gallery() const;
  // Another gallery searched with this engine's model, metric, thresholds and normalisation.
  // `name` labels it in messages ("collection lobby"); `index_snapshot`: IndexOptions::snapshot_file.
  std::unique_ptr<Gallery> open_gallery(std::unique_ptr<GalleryStore> store, const std::string& name = {},
                                        const std::string& index_snapshot = {}) const;
  std::vector<Detection> detect(const cv::Mat& bgr) const;
  // The detector behind detect(), for callers that detect in two steps (detect_boxes).
  const FaceDetector& detector() const;
  // Embeddings of the given detections of one image, in one batch.
  std::vector<Embedding> embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const;
  // Compares the subject face (subject_face()) of each image. Error(kNoFace) when one has none.
  VerifyResult verify(const cv::Mat& a, const cv::Mat& b) const;
  // `filter`: per-call detection knobs (faces it drops are not considered).
  VerifyResult verify(const cv::Mat& a, const cv::Mat& b, bool with_liveness,
                      const DetectionFilter& filter = {}) const;
  // The aligned crop the embedder sees for a detection.
  cv::Mat aligned_crop(const cv::Mat& bgr, const Detection& face) const;

  // Enrolls the subject face (subject_face()) of each image under `person`, in one transaction.
  // Bad images and images without a face are reported, not enrolled; with
  // `strict`, any such image aborts the whole enrollment with an Error.
  std::vector<EnrollOutcome> enroll(const std::string& person, const std::vector<EnrollImage>& images,
                                    bool strict = false);
  std::vector<PersonInfo> people() const;
  void remove_person(const std::string& person);
  void rename_person(const std::string& from, const std::string& to);
  // Who this engine's gallery writes are recorded as in the audit log (AuditEntry::actor;
  // local_audit_actor() until set).
  void set_audit_actor(const std::string& actor);

  // Writes every person's embeddings (no photos) as JSON; import adds them back.
  void export_embeddings(const std::string& path) const;
  int import_embeddings(const std::string& path);
  // Recomputes every embedding with this engine's embedder from the stored crops.
  ReindexReport reindex();

  float threshold() const;  // the 1:N open-set threshold for raw scores (verify() reports its own)
  // The 1:N threshold for normalised scores; absent when the manifest has none for this
  // embedder, metric and normalisation (then scores stay raw).
  std::optional<float> normalized_threshold() const;
  Metric metric() const;
  const std::string& embedder_model_id() const;
  const EngineConfig& config() const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace faceid
