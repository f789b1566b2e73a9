// Constant-velocity Kalman tracks associated to detections by IoU (SORT-style).
#include "faceid/tracker.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <tuple>

#include "faceid/detector.hpp"
#include "faceid/error.hpp"

namespace faceid {
namespace {

// State: box centre, width, height and their velocities per frame. The filter is
// small enough to write out (and the library does not link OpenCV's video module).
using StateVector = cv::Matx<float, 8, 1>;
using StateMatrix = cv::Matx<float, 8, 8>;
using MeasureVector = cv::Matx<float, 4, 1>;
using MeasureMatrix = cv::Matx<float, 4, 4>;
using ObserveMatrix = cv::Matx<float, 4, 8>;

// Noise as a fraction of the box height, so a large close face and a small far
// one get the same relative uncertainty (the weights DeepSORT uses).
constexpr float kPositionNoise = 1.f / 20.f;
constexpr float kVelocityNoise = 1.f / 160.f;

MeasureVector measurement_of(const cv::Rect2f& box) {
  return {box.x + box.width / 2, box.y + box.height / 2, box.width, box.height};
}

template <int N>
cv::Matx<float, N, N> diagonal_variance(float position_std, float velocity_std) {
  cv::Matx<float, N, N> m = cv::Matx<float, N, N>::zeros();
  for (int i = 0; i < N; ++i) {
    const float s = i < 4 ? position_std : velocity_std;
    m(i, i) = s * s;
  }
  return m;
}

// Constant-velocity Kalman filter over (cx, cy, w, h).
class BoxFilter {
 public:
  explicit BoxFilter(const cv::Rect2f& box) : measured_size_{box.width, box.height} {
    const MeasureVector z = measurement_of(box);
    for (int i = 0; i < 4; ++i) state_(i) = z(i);
    covariance_ = diagonal_variance<8>(2 * kPositionNoise * box.height, 10 * kVelocityNoise * box.height);
    transition_ = StateMatrix::eye();
    for (int i = 0; i < 4; ++i) transition_(i, i + 4) = 1.f;
    observe_ = ObserveMatrix::zeros();
    for (int i = 0; i < 4; ++i) observe_(i, i) = 1.f;
  }

  cv::Rect2f predict() {
    const float h = height();
    state_ = transition_ * state_;
    covariance_ = transition_ * covariance_ * transition_.t() +
                  diagonal_variance<8>(kPositionNoise * h, kVelocityNoise * h);
    // A face does not halve or double in size while unseen; without this bound a
    // shrinking box coasts down to nothing during an occlusion.
    for (int i = 2; i < 4; ++i) {
      const float clamped = std::clamp(state_(i), 0.5f * measured_size_[i - 2], 2.f * measured_size_[i - 2]);
      if (clamped != state_(i)) {
        state_(i) = clamped;
        state_(i + 4) = 0.f;
      }
    }
    return box();
  }

  void correct(const cv::Rect2f& measured) {
    measured_size_ = {measured.width, measured.height};
    const MeasureMatrix noise = diagonal_variance<4>(kPositionNoise * measured.height, 0.f);
    const MeasureMatrix innovation_cov = observe_ * covariance_ * observe_.t() + noise;
    const cv::Matx<float, 8, 4> gain = covariance_ * observe_.t() * innovation_cov.inv(cv::DECOMP_CHOLESKY);
    state_ += gain * (measurement_of(measured) - observe_ * state_);
    covariance_ = (StateMatrix::eye() - gain * observe_) * covariance_;
  }

  cv::Rect2f box() const {
    const float w = std::max(state_(2), 1.f), h = height();
    return {state_(0) - w / 2, state_(1) - h / 2, w, h};
  }

 private:
  float height() const { return std::max(state_(3), 1.f); }

  std::array<float, 2> measured_size_;  // width, height of the latest measurement
  StateVector state_ = StateVector::zeros();
  StateMatrix covariance_, transition_;
  ObserveMatrix observe_;
};

// Moves landmarks from `from` into `to` by the same scale and shift as the box.
// Points never computed (has_landmarks) stay that way.
Landmarks5 move_landmarks(const Landmarks5& points, const cv::Rect2f& from, const cv::Rect2f& to) {
  Landmarks5 moved = points;
  if (!has_landmarks(Detection{from, 0.f, points})) return moved;
  const float sx = to.width / from.width, sy = to.height / from.height;
  for (auto& p : moved) p = {to.x + (p.x - from.x) * sx, to.y + (p.y - from.y) * sy};
  return moved;
}

// 1 - (centre distance in box heights), or -inf when the sizes differ by more than 2x.
float centre_affinity(const cv::Rect2f& predicted, const cv::Rect2f& detected) {
  const float ratio = detected.height / predicted.height;
  if (ratio < 0.5f || ratio > 2.f) return -std::numeric_limits<float>::infinity();
  const cv::Point2f shift(detected.x + detected.width / 2 - (predicted.x + predicted.width / 2),
                          detected.y + detected.height / 2 - (predicted.y + predicted.height / 2));
  return 1.f - float(cv::norm(shift)) / predicted.height;
}

void check_detection(const Detection& detection) {
  const auto& b = detection.box;
  if (!std::isfinite(b.x) || !std::isfinite(b.y) || !std::isfinite(b.width) || !std::isfinite(b.height) ||
      b.width <= 0 || b.height <= 0)
    throw Error(ErrorCode::kBadRequest, "tracker: a detection box is empty or not finite");
}

struct TrackSlot {
  Track track;
  Detection anchor;  // the latest real detection; predicted landmarks are moved from it
  BoxFilter filter;

  TrackSlot(int id, const Detection& detection) : anchor(detection), filter(detection.box) {
    track.id = id;
    track.detection = detection;
    track.detected = true;
    track.hits = 1;
  }

  cv::Rect2f predict() {
    const cv::Rect2f box = filter.predict();
    track.detection.box = box;
    track.detection.landmarks = move_landmarks(anchor.landmarks, anchor.box, box);
    track.detected = false;
    ++track.age;
    return box;
  }

  void correct(const Detection& detection) {
    filter.correct(detection.box);
    track.detection = detection;
    // A detection without landmarks of its own (FaceDetector::detect_boxes) keeps the track's, moved.
    if (!has_landmarks(detection))
      track.detection.landmarks = move_landmarks(anchor.landmarks, anchor.box, detection.box);
    track.detected = true;
    ++track.hits;
    track.missed = 0;
    anchor = track.detection;
  }
};

}  // namespace

struct FaceTracker::State {
  TrackerOptions options;
  std::vector<TrackSlot> slots;
  std::vector<Track> tracks;  // snapshot of slots[i].track, what tracks() returns
  std::vector<int> ended;
  int next_id = 1;

  void refresh_snapshot() {
    tracks.clear();
    for (const auto& slot : slots) tracks.push_back(slot.track);
  }
};

FaceTracker::FaceTracker(const TrackerOptions& options) : state_(std::make_unique<State>()) {
  if (!(options.min_iou > 0.f && options.min_iou <= 1.f) || !(options.max_centre_shift >= 0.f) ||
      options.hits_to_confirm < 1 || options.max_missed < 0)
    throw Error(ErrorCode::kBadRequest,
                "tracker options: min_iou must be in (0, 1], max_centre_shift >= 0, hits_to_confirm >= 1, "
                "max_missed >= 0");
  state_->options = options;
}

FaceTracker::~FaceTracker() = default;
FaceTracker::FaceTracker(FaceTracker&&) noexcept = default;
FaceTracker& FaceTracker::operator=(FaceTracker&&) noexcept = default;

void FaceTracker::update(const std::vector<Detection>& detections) {
  for (const auto& detection : detections) check_detection(detection);
  State& s = *state_;
  s.ended.clear();

  std::vector<cv::Rect2f> predicted;
  for (auto& slot : s.slots) predicted.push_back(slot.predict());

  // Greedy association, best overlap first: with the handful of faces in a frame it
  // agrees with an optimal assignment except on near ties. The second pass gives
  // what is left a chance by centre distance.
  std::vector<bool> slot_taken(s.slots.size(), false), detection_taken(detections.size(), false);
  auto assign = [&](auto&& affinity, float min_affinity) {
    std::vector<std::tuple<float, int, int>> pairs;  // affinity, slot, detection
    for (int t = 0; t < int(predicted.size()); ++t)
      for (int d = 0; d < int(detections.size()); ++d) {
        if (slot_taken[t] || detection_taken[d]) continue;
        const float a = affinity(predicted[t], detections[d].box);
        if (a >= min_affinity) pairs.emplace_back(a, t, d);
      }
    std::sort(pairs.begin(), pairs.end(),
              [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
    for (const auto& [a, t, d] : pairs) {
      if (slot_taken[t] || detection_taken[d]) continue;
      slot_taken[t] = detection_taken[d] = true;
      s.slots[t].correct(detections[d]);
      if (s.slots[t].track.hits >= s.options.hits_to_confirm) s.slots[t].track.confirmed = true;
    }
  };
  assign(intersection_over_union, s.options.min_iou);
  assign(centre_affinity, 1.f - s.options.max_centre_shift);

  std::vector<TrackSlot> kept;
  for (int t = 0; t < int(s.slots.size()); ++t) {
    TrackSlot& slot = s.slots[t];
    if (!slot_taken[t]) ++slot.track.missed;
    // A tentative track that misses once was most likely a false detection.
    const bool dead = slot.track.confirmed ? slot.track.missed > s.options.max_missed : slot.track.missed > 0;
    if (!dead) {
      kept.push_back(std::move(slot));
    } else if (slot.track.confirmed) {
      s.ended.push_back(slot.track.id);
    }
  }
  for (int d = 0; d < int(detections.size()); ++d) {
    if (detection_taken[d]) continue;
    kept.emplace_back(s.next_id++, detections[d]);
    kept.back().track.confirmed = s.options.hits_to_confirm <= 1;
  }
  s.slots = std::move(kept);
  s.refresh_snapshot();
}

void FaceTracker::predict() {
  state_->ended.clear();
  for (auto& slot : state_->slots) slot.predict();
  state_->refresh_snapshot();
}

const std::vector<Track>& FaceTracker::tracks() const { return state_->tracks; }

const std::vector<int>& FaceTracker::ended() const { return state_->ended; }

void FaceTracker::clear() {
  state_->ended.clear();
  for (const auto& slot : state_->slots)
    if (slot.track.confirmed) state_->ended.push_back(slot.track.id);
  state_->slots.clear();
  state_->tracks.clear();
}

void FaceTracker::set_landmarks(int track_id, const Landmarks5& landmarks) {
  for (std::size_t i = 0; i < state_->slots.size(); ++i) {
    TrackSlot& slot = state_->slots[i];
    if (slot.track.id != track_id) continue;
    slot.track.detection.landmarks = slot.anchor.landmarks = landmarks;
    state_->tracks[i].detection.landmarks = landmarks;
  }
}

const TrackerOptions& FaceTracker::options() const { return state_->options; }

}  // namespace faceid
