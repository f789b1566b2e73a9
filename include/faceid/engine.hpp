#pragma once
// The engine: one pipeline (the models, faceid/pipeline.hpp) and one gallery (faceid/gallery.hpp,
// EngineConfig::gallery) behind one object. What needs only the models forwards to pipeline();
// people and faces are gallery(); what needs both (identify, verify with the gallery's cohort,
// enroll, reindex, export and import) is written here over the two. More galleries searched
// with the same models (a server's collections) come from open_gallery().
//
//   auto engine = faceid::Engine::open(config);
//   for (const auto& face : engine->identify(frame)) use(face.person.value_or("unknown"));
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/gallery.hpp"
#include "faceid/pipeline.hpp"
#include "faceid/types.hpp"

namespace faceid {

class Engine {
 public:
  // Loads the models (once) and the gallery. Throws faceid::Error.
  static std::unique_ptr<Engine> open(const EngineConfig& config);
  // Over models already loaded (shared with others, e.g. a server): opens the gallery of
  // pipeline->config().
  static std::unique_ptr<Engine> open(std::shared_ptr<const Pipeline> pipeline);
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
  // Matches given embeddings (from embed()) against the gallery.
  FaceResult match(const Embedding& embedding, int candidates) const;
  // This engine's models, shared with whoever else holds them.
  const Pipeline& pipeline() const;
  // This engine's gallery (EngineConfig::gallery).
  const Gallery& gallery() const;
  // Pipeline::open_gallery: another gallery searched with this engine's models.
  std::unique_ptr<Gallery> open_gallery(std::unique_ptr<GalleryStore> store, const std::string& name = {},
                                        const std::string& index_snapshot = {}) const;
  std::vector<Detection> detect(const cv::Mat& bgr) const;
  // The detector behind detect(), for callers that detect in two steps (detect_boxes).
  const FaceDetector& detector() const;
  // Embeddings of the given detections of one image, in one batch.
  std::vector<Embedding> embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const;
  // Pipeline::verify with this engine's gallery as the cohort.
  VerifyResult verify(const cv::Mat& a, const cv::Mat& b) const;
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

  // The pipeline's decision settings (Pipeline::threshold() and the rest), forwarded.
  float threshold() const;
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
