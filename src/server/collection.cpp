// A named gallery served with the models of a shared pipeline.
#include <algorithm>
#include <cctype>

#include "faceid/error.hpp"
#include "faceid/server.hpp"

namespace faceid {

void require_valid_name(const std::string& name, const char* what) {
  const bool valid = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                     });
  if (!valid)
    throw Error(ErrorCode::kBadRequest, std::string("invalid ") + what + " name '" + name +
                                            "': use 1-64 letters, digits, '_' or '-'");
}

namespace {

Recognition recognition_of(FaceResult result) {
  Recognition recognition;
  recognition.person = std::move(result.person);
  recognition.candidates = std::move(result.candidates);
  recognition.threshold = result.threshold;
  return recognition;
}

}  // namespace

Collection::Collection(std::string name, const Pipeline& models, std::unique_ptr<GalleryStore> store,
                       std::string index_snapshot)
    : name_(std::move(name)),
      models_(models),
      gallery_(models.open_gallery(std::move(store), "collection " + name_, index_snapshot)) {}

std::vector<EnrollOutcome> Collection::add_faces(const std::string& person, const std::vector<EnrollImage>& images,
                                                 const ImageLimits& limits, const std::string& actor) {
  require_valid_name(person, "subject");
  // The slow part (decode, detect, embed) runs without any lock.
  const Gallery& gallery = *gallery_;
  EnrollmentBatch batch =
      models_.prepare_enrollment(person, images, limits, models_.config().liveness.enabled || liveness_default_,
                                 false, [&gallery](const std::string& sha) { return gallery.enrolled_as(sha); });
  return gallery_->add(person, std::move(batch), actor);
}

std::vector<AuditEntry> Collection::audit(const AuditQuery& query) const {
  auto entries = gallery_->audit(query);
  for (auto& entry : entries) entry.collection = name_;
  return entries;
}

std::vector<Recognition> Collection::recognize(const cv::Mat& bgr, const RecognizeOptions& options) const {
  auto faces = filter_detections(models_.detect(bgr), options.detection);
  if (options.max_faces > 0 && faces.size() > static_cast<std::size_t>(options.max_faces))
    faces.resize(options.max_faces);  // detections come largest first
  const auto embeddings = models_.embed(bgr, faces);
  const auto live = options.liveness ? models_.check_liveness(bgr, faces) : std::vector<LivenessResult>{};
  auto matches = gallery_->search(embeddings, {options.top_k, options.threshold});
  std::vector<Recognition> results;
  results.reserve(faces.size());
  for (std::size_t i = 0; i < faces.size(); ++i) {
    results.push_back(recognition_of(std::move(matches[i])));
    results.back().detection = faces[i];
    if (options.liveness) gate_identity(results.back().person, results.back().liveness, live[i]);
  }
  return results;
}

Recognition Collection::recognize_embedding(const Embedding& embedding, const RecognizeOptions& options) const {
  return recognition_of(gallery_->search(embedding, {options.top_k, options.threshold}));
}

PersonMatch Collection::verify_person(const cv::Mat& bgr, const std::string& person,
                                        std::optional<float> threshold, bool liveness,
                                        const DetectionFilter& detection) const {
  gallery_->person(person);  // an unknown person is the first error, before any image work
  PersonMatch result;
  result.person = person;
  const auto faces = filter_detections(models_.detect(bgr), detection);
  result.faces_in_image = static_cast<int>(faces.size());
  if (faces.empty()) throw Error(ErrorCode::kNoFace, "no face found in the image");
  result.detection = subject_face(faces);
  const Embedding probe = models_.embed(bgr, {result.detection}).front();
  const PersonScore score = gallery_->compare_with_person(probe, person, threshold);
  result.score = score.score;
  result.threshold = score.threshold;
  result.same_person = score.same_person;
  if (liveness) {
    result.liveness = models_.check_liveness(bgr, {result.detection}).front();
    if (liveness_refusal(*result.liveness)) result.same_person = false;
  }
  return result;
}

}  // namespace faceid
