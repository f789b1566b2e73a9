#include "faceid/engine.hpp"

#include <mutex>

#include "engine/embedding_codec.hpp"
#include "faceid/error.hpp"

namespace faceid {

struct Engine::Impl {
  std::shared_ptr<const Pipeline> pipeline;
  std::unique_ptr<Gallery> gallery;
  std::string actor = local_audit_actor();  // under actor_mutex
  mutable std::mutex actor_mutex;

  std::string audit_actor() const {
    std::lock_guard lock(actor_mutex);
    return actor;
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::open(const EngineConfig& config) { return open(Pipeline::open(config)); }

std::unique_ptr<Engine> Engine::open(std::shared_ptr<const Pipeline> pipeline) {
  auto impl = std::make_unique<Impl>();
  const std::string& uri = pipeline->config().gallery;
  GalleryOptions own = pipeline->gallery_options();
  // A gallery in memory has no other writer to follow.
  own.follow_other_writers = uri != ":memory:";
  impl->gallery = std::make_unique<Gallery>(open_store(uri), std::move(own));
  impl->pipeline = std::move(pipeline);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const Pipeline& Engine::pipeline() const { return *impl_->pipeline; }

std::unique_ptr<Gallery> Engine::open_gallery(std::unique_ptr<GalleryStore> store, const std::string& name,
                                              const std::string& index_snapshot) const {
  return impl_->pipeline->open_gallery(std::move(store), name, index_snapshot);
}

const Gallery& Engine::gallery() const { return *impl_->gallery; }

std::vector<Detection> Engine::detect(const cv::Mat& bgr) const { return impl_->pipeline->detect(bgr); }

const FaceDetector& Engine::detector() const { return impl_->pipeline->detector(); }

std::vector<Embedding> Engine::embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const {
  return impl_->pipeline->embed(bgr, faces);
}

cv::Mat Engine::aligned_crop(const cv::Mat& bgr, const Detection& face) const {
  return impl_->pipeline->aligned_crop(bgr, face);
}

FaceResult Engine::match(const Embedding& embedding, int candidates) const {
  return impl_->gallery->search(embedding, {candidates, std::nullopt});
}

std::vector<LivenessResult> Engine::check_liveness(const cv::Mat& bgr, const std::vector<Detection>& faces) const {
  return impl_->pipeline->check_liveness(bgr, faces);
}

float Engine::liveness_threshold() const { return impl_->pipeline->liveness_threshold(); }

std::vector<FaceResult> Engine::identify(const cv::Mat& bgr) const {
  return identify(bgr, config().liveness.enabled);
}

std::vector<FaceResult> Engine::identify(const cv::Mat& bgr, bool with_liveness) const {
  const Pipeline& pipeline = *impl_->pipeline;
  const auto faces = pipeline.detect(bgr);
  const auto embeddings = pipeline.embed(bgr, faces);
  const auto live = with_liveness ? pipeline.check_liveness(bgr, faces) : std::vector<LivenessResult>{};
  auto results = impl_->gallery->search(embeddings, {config().candidates, std::nullopt});
  for (std::size_t i = 0; i < faces.size(); ++i) {
    results[i].detection = faces[i];
    if (with_liveness) gate_identity(results[i].person, results[i].liveness, live[i]);
  }
  return results;
}

VerifyResult Engine::verify(const cv::Mat& a, const cv::Mat& b) const {
  return verify(a, b, config().liveness.enabled);
}

VerifyResult Engine::verify(const cv::Mat& a, const cv::Mat& b, bool with_liveness,
                            const DetectionFilter& filter) const {
  return impl_->pipeline->verify(a, b, *impl_->gallery, with_liveness, filter);
}

std::vector<EnrollOutcome> Engine::enroll(const std::string& person, const std::vector<EnrollImage>& images,
                                          bool strict) {
  Gallery& gallery = *impl_->gallery;
  EnrollmentBatch batch = impl_->pipeline->prepare_enrollment(
      person, images, config().limits, config().liveness.enabled, strict,
      [&gallery](const std::string& sha) { return gallery.enrolled_as(sha); });
  return gallery.add(person, std::move(batch), impl_->audit_actor());
}

std::vector<PersonInfo> Engine::people() const { return impl_->gallery->people(); }

void Engine::remove_person(const std::string& person) { impl_->gallery->remove_person(person, impl_->audit_actor()); }

void Engine::rename_person(const std::string& from, const std::string& to) {
  impl_->gallery->rename_person(from, to, impl_->audit_actor());
}

void Engine::set_audit_actor(const std::string& actor) {
  std::lock_guard lock(impl_->actor_mutex);
  impl_->actor = actor;
}

void Engine::export_embeddings(const std::string& path) const {
  const Gallery& gallery = *impl_->gallery;
  write_embeddings_file(path, gallery.stored_model(), gallery.faces(false));
}

int Engine::import_embeddings(const std::string& path) {
  const EmbeddingsFile file = read_embeddings_file(path);
  const std::string& model_id = embedder_model_id();
  if (file.model_id != model_id)
    throw Error(ErrorCode::kModelMismatch, path + " holds embeddings of model " + file.model_id +
                                               " but this engine uses " + model_id);
  return impl_->gallery->import_faces(file.model_id, file.people, impl_->audit_actor());
}

ReindexReport Engine::reindex() {
  const FaceEmbedder& embedder = impl_->pipeline->embedder();
  return impl_->gallery->reindex([&embedder](const cv::Mat& crop) { return embedder.embed({crop}).front(); },
                                 embedder.input_size(), impl_->audit_actor());
}

float Engine::threshold() const { return impl_->pipeline->threshold(); }
std::optional<float> Engine::normalized_threshold() const { return impl_->pipeline->normalized_threshold(); }
Metric Engine::metric() const { return impl_->pipeline->metric(); }
const std::string& Engine::embedder_model_id() const { return impl_->pipeline->embedder_model_id(); }
const EngineConfig& Engine::config() const { return impl_->pipeline->config(); }

}  // namespace faceid
