// FaceCapture: the best, most varied crops of the one person in a video.
#include <algorithm>
#include <cmath>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"
#include "faceid/metric.hpp"
#include "faceid/video.hpp"
#include "frame_input.hpp"

namespace faceid {
namespace {

// The face with context around it, clipped to the frame; the detection is moved
// into the crop's coordinates.
cv::Mat crop_with_context(const cv::Mat& frame, const Detection& face, float scale, Detection& moved) {
  const cv::Point2f centre(face.box.x + face.box.width / 2, face.box.y + face.box.height / 2);
  const float side = std::max(face.box.width, face.box.height) * scale;
  const cv::Rect region = cv::Rect(cv::Rect2f(centre.x - side / 2, centre.y - side / 2, side, side)) &
                          cv::Rect(0, 0, frame.cols, frame.rows);
  moved = face;
  moved.box.x -= float(region.x);
  moved.box.y -= float(region.y);
  for (auto& p : moved.landmarks) p -= cv::Point2f(float(region.x), float(region.y));
  return frame(region).clone();
}

void check_options(const CaptureOptions& o) {
  if (o.count < 1 || o.min_count < 1 || o.min_count > o.count || o.frame_stride < 1 || o.crop_scale < 1.f ||
      o.max_similarity <= -1.f || o.max_similarity > 1.f || o.min_gap_seconds < 0. || o.max_crowded_share < 0.f ||
      o.max_crowded_share > 1.f)
    throw Error(ErrorCode::kBadRequest,
                "capture options: need 1 <= min_count <= count, frame_stride >= 1, crop_scale >= 1, "
                "max_similarity in (-1, 1], min_gap_seconds >= 0, max_crowded_share in [0, 1]");
}

}  // namespace

struct FaceCapture::State {
  const Pipeline& pipeline;
  CaptureOptions options;
  CaptureSummary summary;
  struct Candidate {
    CapturedFace face;
    Detection in_crop;  // the detection in the crop's coordinates, for embedding it
  };
  // Candidates of one time slot (min_gap_seconds long) compete: only the best of
  // each slot is kept, which bounds memory on long videos.
  std::vector<Candidate> candidates;
  std::int64_t frame_index = 0;

  State(const Pipeline& p, const CaptureOptions& o) : pipeline(p), options(o) {}

  void add(const cv::Mat& frame, double timestamp) {
    const bool analysed = frame_index++ % options.frame_stride == 0;
    ++summary.frames;
    if (!analysed) return;
    const auto faces = pipeline.detect(frame);
    // A face too poor to be recognised is not a second person in view.
    std::vector<std::pair<Detection, FaceQuality>> visible;
    for (const auto& face : faces) {
      const FaceQuality quality = face_quality(frame, face, options.quality);
      if (quality.score >= options.min_quality / 2) visible.emplace_back(face, quality);
    }
    if (visible.empty()) return;
    ++summary.frames_with_face;
    if (visible.size() > 1) {
      ++summary.frames_with_several;
      return;  // whose face it is would be a guess
    }
    const auto& [face, quality] = visible.front();
    if (quality.score < options.min_quality) return;
    ++summary.candidates;
    const bool same_slot = !candidates.empty() &&
                           timestamp - candidates.back().face.timestamp < options.min_gap_seconds;
    if (same_slot && candidates.back().face.quality.score >= quality.score) return;
    Candidate candidate;
    candidate.face.image = crop_with_context(frame, face, options.crop_scale, candidate.in_crop);
    candidate.face.detection = face;
    candidate.face.timestamp = timestamp;
    candidate.face.quality = quality;
    if (same_slot) candidates.back() = std::move(candidate);
    else candidates.push_back(std::move(candidate));
  }

  std::vector<CapturedFace> finish() {
    const std::int64_t with_face = std::max<std::int64_t>(summary.frames_with_face, 1);
    if (summary.frames_with_several > options.max_crowded_share * with_face)
      throw Error(ErrorCode::kBadRequest,
                  "more than one person is in view in " + std::to_string(summary.frames_with_several) + " of " +
                      std::to_string(summary.frames_with_face) +
                      " analysed frames with a face: record the person alone");

    std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return a.face.quality.score > b.face.quality.score;
    });
    // Best first; each further face must be the same person as the best one, not a
    // near-duplicate of a kept one, and not too close in time to one. Embeddings are
    // computed lazily: only as many candidates as needed are embedded.
    std::vector<CapturedFace> kept;
    const Metric metric = pipeline.metric();
    for (auto& [candidate, in_crop] : candidates) {
      if (int(kept.size()) >= options.count) break;
      const bool too_close_in_time = std::any_of(kept.begin(), kept.end(), [&](const CapturedFace& k) {
        return std::abs(k.timestamp - candidate.timestamp) < options.min_gap_seconds;
      });
      if (too_close_in_time) continue;
      candidate.embedding = pipeline.embed(candidate.image, {in_crop}).front();
      if (!kept.empty()) {
        if (!accepts(metric, compare(kept.front().embedding, candidate.embedding, metric), pipeline.threshold()))
          continue;  // somebody else
        const bool duplicate = std::any_of(kept.begin(), kept.end(), [&](const CapturedFace& k) {
          return compare(k.embedding, candidate.embedding, Metric::kCosine) > options.max_similarity;
        });
        if (duplicate) continue;
      }
      kept.push_back(std::move(candidate));
    }
    candidates.clear();
    if (int(kept.size()) < options.min_count)
      throw Error(ErrorCode::kNoFace,
                  "only " + std::to_string(kept.size()) + " good, distinct faces found in " +
                      std::to_string(summary.frames) + " frames (" + std::to_string(options.min_count) +
                      " needed): record longer, closer to the camera, in better light");
    return kept;
  }

};

EnrollImage captured_face_image(const CapturedFace& face, const std::string& source) {
  EnrollImage image;
  image.source = source;
  if (!cv::imencode(".jpg", face.image, image.bytes, {cv::IMWRITE_JPEG_QUALITY, 95}))
    throw Error(ErrorCode::kIo, "cannot encode the face crop " + source + " as JPEG");
  return image;
}

FaceCapture::FaceCapture(const Pipeline& pipeline, const CaptureOptions& options) {
  check_options(options);
  state_ = std::make_unique<State>(pipeline, options);
}

FaceCapture::FaceCapture(const Engine& engine, const CaptureOptions& options)
    : FaceCapture(engine.pipeline(), options) {}

FaceCapture::~FaceCapture() = default;

void FaceCapture::add_frame(const cv::Mat& frame, double timestamp_seconds) {
  state_->add(to_bgr_frame(frame), timestamp_seconds);
}

std::vector<CapturedFace> FaceCapture::finish() { return state_->finish(); }

CaptureSummary FaceCapture::summary() const { return state_->summary; }

}  // namespace faceid
