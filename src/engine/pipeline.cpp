#include "faceid/pipeline.hpp"

#include <algorithm>
#include <mutex>
#include <set>

#include <opencv2/imgcodecs.hpp>
#include <spdlog/spdlog.h>

#include "detection/retry_detector.hpp"
#include "faceid/alignment.hpp"
#include "faceid/error.hpp"
#include "faceid/model_catalogue.hpp"

namespace faceid {

namespace {

ModelManifest load_manifest(const EngineConfig& config) {
  return config.manifest_path.empty() ? ModelManifest::for_model_dir(config.model_dir)
                                      : ModelManifest::load(config.manifest_path);
}

std::vector<std::string> search_dirs(const EngineConfig& config) {
  std::vector<std::string> dirs{config.model_dir};
  dirs.insert(dirs.end(), config.extra_model_dirs.begin(), config.extra_model_dirs.end());
  return dirs;
}

// A user-supplied file replaces the manifest's and is not hash-checked.
std::string model_path(const ModelSpec& spec, const std::string& override_file,
                       const std::vector<std::string>& dirs) {
  if (!override_file.empty()) return resolve_model_file(override_file, "", dirs);
  if (find_model_file(spec.file, dirs).empty()) {
    std::string searched;
    for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir;
    throw Error(ErrorCode::kModelInvalid,
                install_hint(spec, "model file " + spec.file + " of " + spec.name + " not found (searched: " + searched + ")"));
  }
  const std::string path = resolve_model_file(spec.file, spec.sha256, dirs);
  if (!spec.config.empty()) resolve_model_file(spec.config, spec.config_sha256, dirs);
  return path;
}

// The detector `name` of the manifest, from `override_file` when one is given.
std::unique_ptr<FaceDetector> open_detector(const ModelManifest& manifest, const std::string& name,
                                            const std::string& override_file, const DetectorOptions& options,
                                            const std::vector<std::string>& dirs) {
  const ModelSpec& spec = manifest.get(name);
  if (spec.kind != ModelKind::kDetector) throw Error(ErrorCode::kBadRequest, name + " is not a detector model");
  const std::string file = model_path(spec, override_file, dirs);
  if (spec.landmarks.empty()) return create_detector(spec, file, options);
  const ModelSpec& landmark_spec = manifest.get(spec.landmarks);
  return create_detector(spec, file, options, &landmark_spec, model_path(landmark_spec, "", dirs));
}

float manifest_threshold(const ModelSpec& spec, const std::map<std::string, float>& thresholds, Metric metric) {
  const auto it = thresholds.find(metric_name(metric));
  if (it == thresholds.end())
    throw Error(ErrorCode::kBadRequest, std::string("the manifest has no ") + metric_name(metric) +
                                            " threshold for " + spec.name +
                                            ": pass one (--threshold) or run `faceid calibrate`");
  return it->second;
}

}  // namespace

struct Pipeline::Impl {
  EngineConfig config;
  ModelManifest manifest;
  std::unique_ptr<FaceDetector> detector;
  std::unique_ptr<FaceEmbedder> embedder;
  std::string model_id;
  float threshold = 0.f;         // 1:N open-set decision
  float verify_threshold = 0.f;  // 1:1 decision
  // Loaded by open() when liveness is on, else on the first call that asks for it.
  mutable std::mutex liveness_mutex;
  mutable std::unique_ptr<LivenessChecker> liveness;
  std::optional<float> norm_threshold, norm_verify_threshold;  // set when normalisation is on
  const LivenessChecker& liveness_checker() const {
    std::lock_guard lock(liveness_mutex);
    if (!liveness) {
      const ModelSpec& spec = manifest.get(config.liveness.model);
      if (spec.format == "fusion" && !config.liveness.model_file.empty())
        throw Error(ErrorCode::kBadRequest, spec.name + " fuses several models: a liveness file cannot replace them");
      const auto dirs = search_dirs(config);
      liveness = create_liveness_checker(
          spec, manifest,
          [&](const ModelSpec& member) {
            return model_path(member, &member == &spec ? config.liveness.model_file : "", dirs);
          },
          config.liveness);
    }
    return *liveness;
  }

  cv::Mat crop(const cv::Mat& bgr, const Detection& face) const {
    const int size = embedder->input_size().width;
    return config.align ? align_face(bgr, face.landmarks, size) : crop_face(bgr, face.box, size);
  }

  std::vector<Embedding> embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const {
    std::vector<cv::Mat> crops;
    crops.reserve(faces.size());
    for (const auto& face : faces) crops.push_back(crop(bgr, face));
    return embedder->embed(crops);
  }

  // How a gallery searched with these models decides (Pipeline::gallery_options).
  GalleryOptions gallery_options(const std::string& name, const std::string& index_snapshot) const {
    GalleryOptions options;
    options.name = name;
    options.model_id = model_id;
    options.matching = config.matching;
    options.index = config.index;
    if (!index_snapshot.empty()) options.index.snapshot_file = index_snapshot;
    options.threshold = threshold;
    options.normalized_threshold = norm_threshold;
    options.normalization = config.normalization;
    options.cohort_gallery = config.cohort_gallery;
    return options;
  }

  // Normalised scores need their own thresholds: without one in the manifest (or --threshold),
  // the pipeline keeps raw scores rather than compare them against the wrong scale.
  void configure_normalization(const ModelSpec& embedder_spec) {
    const NormOptions& options = config.normalization;
    if (options.norm == ScoreNorm::kNone) return;
    const std::string key = threshold_key(config.matching.metric, options.norm);
    if (config.threshold) {
      norm_threshold = norm_verify_threshold = *config.threshold;
    } else if (embedder_spec.thresholds.count(key)) {
      norm_verify_threshold = embedder_spec.thresholds.at(key);
      norm_threshold = embedder_spec.identify_thresholds.count(key) ? embedder_spec.identify_thresholds.at(key)
                                                                         : *norm_verify_threshold;
    } else {
      if (!config.cohort_gallery.empty())
        throw Error(ErrorCode::kBadRequest, "the manifest has no " + key + " threshold for " + embedder_spec.name +
                                                ": pass one (--threshold) or run `faceid calibrate --norm`");
      spdlog::info("no {} threshold for {}: scores stay raw", key, embedder_spec.name);
    }
  }
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;

std::shared_ptr<const Pipeline> Pipeline::open(const EngineConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->manifest = load_manifest(config);
  const auto dirs = search_dirs(config);

  impl->detector = open_detector(impl->manifest, config.detector, config.detector_file, config.detection, dirs);
  if (config.detect_retry || !config.fallback_detector.empty()) {
    auto fallback = config.fallback_detector.empty()
                        ? nullptr
                        : open_detector(impl->manifest, config.fallback_detector, "", config.detection, dirs);
    impl->detector = detection::make_retry_detector(std::move(impl->detector), std::move(fallback),
                                                    {config.detect_retry, config.detection.min_face_size});
  }

  const ModelSpec& embedder_spec = impl->manifest.get(config.embedder);
  if (embedder_spec.format == "fusion" && !config.embedder_file.empty())
    throw Error(ErrorCode::kBadRequest, config.embedder + " fuses several models: an embedder file cannot replace them");
  impl->embedder = create_embedder(
      embedder_spec, impl->manifest,
      [&](const ModelSpec& spec) { return model_path(spec, &spec == &embedder_spec ? config.embedder_file : "", dirs); },
      config.embedding);
  impl->model_id = impl->embedder->model_id();
  // Not value_or: its argument would be evaluated, and throw, even when a threshold is given.
  impl->verify_threshold = config.threshold ? *config.threshold
                                            : manifest_threshold(embedder_spec, embedder_spec.thresholds,
                                                                 config.matching.metric);
  impl->threshold = config.threshold.value_or(
      embedder_spec.identify_thresholds.count(metric_name(config.matching.metric))
          ? embedder_spec.identify_thresholds.at(metric_name(config.matching.metric))
          : impl->verify_threshold);

  if (config.liveness.enabled) impl->liveness_checker();  // a missing liveness model fails here, not mid-run

  impl->configure_normalization(embedder_spec);
  return std::shared_ptr<const Pipeline>(new Pipeline(std::move(impl)));
}

GalleryOptions Pipeline::gallery_options(const std::string& name, const std::string& index_snapshot) const {
  return impl_->gallery_options(name, index_snapshot);
}

std::unique_ptr<Gallery> Pipeline::open_gallery(std::unique_ptr<GalleryStore> store, const std::string& name,
                                                const std::string& index_snapshot) const {
  return std::make_unique<Gallery>(std::move(store), impl_->gallery_options(name, index_snapshot));
}

std::vector<Detection> Pipeline::detect(const cv::Mat& bgr) const {
  if (bgr.empty() || bgr.type() != CV_8UC3)
    throw Error(ErrorCode::kBadImage, "expected a non-empty 8-bit BGR image");
  return impl_->detector->detect(bgr);
}

const FaceDetector& Pipeline::detector() const { return *impl_->detector; }
const FaceEmbedder& Pipeline::embedder() const { return *impl_->embedder; }

std::vector<Embedding> Pipeline::embed(const cv::Mat& bgr, const std::vector<Detection>& faces) const {
  return impl_->embed(bgr, faces);
}

cv::Mat Pipeline::aligned_crop(const cv::Mat& bgr, const Detection& face) const { return impl_->crop(bgr, face); }

std::vector<LivenessResult> Pipeline::check_liveness(const cv::Mat& bgr, const std::vector<Detection>& faces) const {
  return impl_->liveness_checker().check(bgr, faces);
}

float Pipeline::liveness_threshold() const { return impl_->liveness_checker().threshold(); }

VerifyResult Pipeline::verify(const cv::Mat& a, const cv::Mat& b, const Gallery& cohort, bool with_liveness,
                              const DetectionFilter& filter) const {
  VerifyResult result;
  const auto faces_a = filter_detections(detect(a), filter);
  const auto faces_b = filter_detections(detect(b), filter);
  result.faces_in_a = static_cast<int>(faces_a.size());
  result.faces_in_b = static_cast<int>(faces_b.size());
  if (faces_a.empty()) throw Error(ErrorCode::kNoFace, "no face found in the first image");
  if (faces_b.empty()) throw Error(ErrorCode::kNoFace, "no face found in the second image");
  result.face_a = subject_face(faces_a);
  result.face_b = subject_face(faces_b);
  const Embedding ea = impl_->embed(a, {result.face_a}).front();
  const Embedding eb = impl_->embed(b, {result.face_b}).front();
  result.metric = impl_->config.matching.metric;
  const PairScore pair = cohort.score_pair(ea, eb);
  result.norm = pair.norm;
  result.score = pair.score;
  result.threshold = pair.norm != ScoreNorm::kNone ? *impl_->norm_verify_threshold : impl_->verify_threshold;
  result.same_person = accepts(result.metric, result.score, result.threshold);
  if (with_liveness) {
    result.liveness_a = check_liveness(a, {result.face_a}).front();
    result.liveness_b = check_liveness(b, {result.face_b}).front();
    if (liveness_refusal(*result.liveness_a) || liveness_refusal(*result.liveness_b)) result.same_person = false;
  }
  return result;
}

namespace {

// With liveness, checks `face` and, unless it is judged live, marks `outcome` refused.
bool admit_live(const Pipeline& pipeline, const cv::Mat& bgr, const Detection& face, EnrollOutcome& outcome) {
  const LivenessResult live = pipeline.check_liveness(bgr, {face}).front();
  outcome.liveness = live;
  const auto refusal = liveness_refusal(live);
  if (!refusal) return true;
  outcome.error = live.judged() ? ErrorCode::kSpoof : ErrorCode::kCannotJudge;
  outcome.message = *refusal;
  return false;
}

}  // namespace

EnrollmentBatch Pipeline::prepare_enrollment(
    const std::string& person, const std::vector<EnrollImage>& images, const ImageLimits& limits, bool with_liveness,
    bool strict, const std::function<std::optional<std::string>(const std::string&)>& enrolled_as) const {
  const Impl& impl = *impl_;
  EnrollmentBatch batch;
  std::vector<cv::Mat> crops;
  std::set<std::string> hashes_in_batch;
  for (const auto& image : images) {
    EnrollOutcome outcome;
    outcome.source = image.source;
    const std::string sha = sha256_hex(image.bytes.data(), image.bytes.size());
    const auto owner = enrolled_as ? enrolled_as(sha) : std::nullopt;
    if (owner || !hashes_in_batch.insert(sha).second) {
      outcome.error = ErrorCode::kConflict;
      outcome.message = owner ? "already enrolled as " + *owner : "the same image appears twice in this enrollment";
      if (owner && *owner != person && strict)
        throw Error(ErrorCode::kConflict, image.source + " is already enrolled as " + *owner);
      batch.outcomes.push_back(outcome);
      continue;
    }
    try {
      const cv::Mat bgr = decode_image(image.bytes, limits);
      const auto faces = detect(bgr);
      outcome.faces_found = static_cast<int>(faces.size());
      if (faces.empty()) throw Error(ErrorCode::kNoFace, "no face found");
      if (faces.size() > 1)
        outcome.message = std::to_string(faces.size()) + " faces found; the largest confident one was enrolled";
      FaceRecord record;
      record.person = person;
      record.model_id = impl.model_id;
      record.content_sha256 = sha;
      record.source = image.source;
      record.detection = subject_face(faces);
      outcome.detection = record.detection;
      if (with_liveness && !admit_live(*this, bgr, record.detection, outcome)) {
        if (strict) throw Error(ErrorCode::kBadRequest, image.source + ": " + outcome.message);
        batch.outcomes.push_back(outcome);
        continue;
      }
      crops.push_back(impl.crop(bgr, record.detection));
      if (impl.config.keep_crops) cv::imencode(".jpg", crops.back(), record.crop_jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});
      batch.outcome_of_record.push_back(batch.outcomes.size());
      batch.records.push_back(std::move(record));
    } catch (const Error& e) {
      if (strict) throw Error(e.code(), image.source + ": " + e.what());
      outcome.error = e.code() == ErrorCode::kNoFace ? ErrorCode::kNoFace : ErrorCode::kBadImage;
      outcome.message = e.what();
    }
    batch.outcomes.push_back(outcome);
  }
  if (crops.empty()) return batch;
  const auto embeddings = impl.embedder->embed(crops);
  for (std::size_t i = 0; i < batch.records.size(); ++i) batch.records[i].embedding = embeddings[i];
  return batch;
}

float Pipeline::threshold() const { return impl_->threshold; }
std::optional<float> Pipeline::normalized_threshold() const { return impl_->norm_threshold; }
Metric Pipeline::metric() const { return impl_->config.matching.metric; }
const std::string& Pipeline::embedder_model_id() const { return impl_->model_id; }
const EngineConfig& Pipeline::config() const { return impl_->config; }

}  // namespace faceid
