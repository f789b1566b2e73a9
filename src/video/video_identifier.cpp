// VideoIdentifier: detector every k frames, tracker in between, recognition when a
// track appears / every N frames / when its face gets better, identity by vote.
#include "faceid/video.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "faceid/error.hpp"
#include "background_worker.hpp"
#include "frame_input.hpp"

namespace faceid {
namespace {

struct Vote {
  std::string person;  // "" = unknown
  float score = 0.f;
};

// What the vote says, or nothing when no label has enough support yet.
struct Decision {
  std::string person;
  float mean_score = 0.f;
  int votes = 0;
};

std::optional<Decision> decide(const std::deque<Vote>& votes, const VideoOptions& options,
                               const std::optional<std::string>& current) {
  std::map<std::string, std::pair<int, float>> tally;  // person -> count, score sum
  for (const auto& vote : votes) {
    auto& [count, sum] = tally[vote.person];
    ++count;
    sum += vote.score;
  }
  const std::pair<const std::string, std::pair<int, float>>* winner = nullptr;
  for (const auto& entry : tally) {
    const bool more = !winner || entry.second.first > winner->second.first;
    // A tie keeps the current identity: one bad frame must not flip a name.
    const bool tie_for_current = winner && entry.second.first == winner->second.first && current &&
                                 entry.first == *current;
    if (more || tie_for_current) winner = &entry;
  }
  if (!winner) return std::nullopt;
  const int count = winner->second.first;
  if (count < options.votes_to_decide || float(count) < options.min_vote_share * float(votes.size()))
    return std::nullopt;
  return Decision{winner->first, winner->second.second / float(count), count};
}

struct TrackIdentity {
  TrackedFace face;
  std::deque<Vote> votes;
  std::optional<std::string> decided;  // "" = decided unknown
  std::int64_t last_recognised_frame = -1;
  float best_recognised_quality = 0.f;
  float live_sum = 0.f;
  std::optional<bool> live;  // decided from options.liveness_frames judged faces
  std::int64_t landmarks_frame = -1;  // when the landmark network last ran on the track's face
  bool recognising = false;           // a batch with this track's face is not applied yet
};

// Faces of one frame to recognise, and (once `ready`) what the embedder, the gallery and the
// liveness model said about them.
struct RecognitionBatch {
  cv::Mat frame;
  std::vector<int> track_ids;
  std::vector<Detection> faces;
  std::vector<bool> liveness_open;  // the track's liveness verdict is still open: check this face
  std::vector<FaceResult> matches;
  std::vector<std::optional<LivenessResult>> liveness;
  std::exception_ptr error;  // rethrown by process() on the frame the batch is applied to
  std::atomic<bool> ready{false};
};

// One batch being embedded while the next waits keeps the worker busy; more would only make
// results older (the faces stay due and go into a later batch).
constexpr std::size_t kMaxBatchesInFlight = 2;

// Small enough to ignore noise and motion inside a shot, large enough to see the shot change.
const cv::Size kThumbnailSize(32, 18);

cv::Mat thumbnail(const cv::Mat& bgr) {
  cv::Mat small, gray;
  cv::resize(bgr, small, kThumbnailSize, 0, 0, cv::INTER_AREA);
  cv::cvtColor(small, gray, cv::COLOR_BGR2GRAY);
  return gray;
}

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void check_options(const VideoOptions& o) {
  if (o.detect_every < 1 || o.recheck_every < 1 || o.vote_window < 1 || o.votes_to_decide < 1 ||
      o.votes_to_decide > o.vote_window || o.min_vote_share < 0.f || o.min_vote_share > 1.f ||
      o.max_recognitions_per_frame < 0 || o.scene_cut_threshold < 0.f || o.liveness_frames < 1)
    throw Error(ErrorCode::kBadRequest,
                "video options: detect_every, recheck_every, vote_window and votes_to_decide must be >= 1, "
                "votes_to_decide <= vote_window, min_vote_share in [0, 1], max_recognitions_per_frame and "
                "scene_cut_threshold >= 0, liveness_frames >= 1");
}

}  // namespace

const char* identity_state_name(IdentityState state) {
  switch (state) {
    case IdentityState::kPending: return "pending";
    case IdentityState::kIdentified: return "identified";
    case IdentityState::kUnknown: return "unknown";
    case IdentityState::kAttack: return "attack";
  }
  return "pending";
}

const char* video_event_name(VideoEventType type) {
  switch (type) {
    case VideoEventType::kEnter: return "enter";
    case VideoEventType::kIdentified: return "identified";
    case VideoEventType::kLeave: return "leave";
    case VideoEventType::kAttack: return "attack";
    case VideoEventType::kUnknown: return "unknown";
  }
  return "enter";
}

struct VideoIdentifier::State {
  std::mutex mutex;  // serialises the public calls (take_events() may come from another thread)
  const Pipeline& pipeline;
  const Gallery& gallery;
  VideoOptions options;
  FaceTracker tracker;
  std::map<int, TrackIdentity> identities;  // confirmed tracks by id
  std::vector<VideoEvent> events;
  VideoStats stats;
  double total_ms = 0.;
  cv::Mat previous_thumbnail;
  std::deque<std::shared_ptr<RecognitionBatch>> in_flight;  // oldest first
  // Last member: destroyed first, so no job runs on a half-destroyed State.
  std::unique_ptr<BackgroundWorker> worker;

  State(const Pipeline& p, const Gallery& g, const VideoOptions& o) : pipeline(p), gallery(g), options(o), tracker(o.tracking) {
    if (o.background_recognition) worker = std::make_unique<BackgroundWorker>();
  }

  void emit(VideoEventType type, double timestamp, const TrackedFace& face) {
    events.push_back({type, timestamp, face});
  }

  void end_tracks(const std::vector<int>& ended, double timestamp) {
    for (int id : ended) {
      const auto it = identities.find(id);
      if (it == identities.end()) continue;
      emit(VideoEventType::kLeave, timestamp, it->second.face);
      identities.erase(it);
    }
  }

  bool recognition_due(const TrackIdentity& identity) const {
    const float quality = identity.face.quality;
    if (quality < options.min_quality || identity.live == false || identity.recognising)
      return false;  // an attack stays one; a face being recognised waits for that result
    if (!identity.decided || identity.last_recognised_frame < 0) return true;
    return stats.frames - identity.last_recognised_frame >= options.recheck_every ||
           quality >= identity.best_recognised_quality + options.recheck_quality_gain;
  }

  void add_vote(TrackIdentity& identity, const FaceResult& match, double timestamp) {
    identity.votes.push_back({match.person.value_or(""), match.score});
    while (int(identity.votes.size()) > options.vote_window) identity.votes.pop_front();
    TrackedFace& face = identity.face;
    ++face.recognitions;
    const auto decision = decide(identity.votes, options, identity.decided);
    if (!decision) return;
    // A name waits for the liveness verdict and never follows an attack; "unknown" needs none.
    if (options.liveness && !decision->person.empty() && identity.live != true) return;
    face.score = decision->mean_score;
    face.votes = decision->votes;
    if (identity.decided == decision->person) return;
    identity.decided = decision->person;
    face.person = decision->person;
    const bool unknown = decision->person.empty();
    face.state = unknown ? IdentityState::kUnknown : IdentityState::kIdentified;
    emit(unknown ? VideoEventType::kUnknown : VideoEventType::kIdentified, timestamp, face);
  }

  // One live score per recognition of each track whose verdict is still open, until
  // options.liveness_frames judged scores decide it: never on every frame.
  void add_live_score(TrackIdentity& identity, const LivenessResult& result, double timestamp) {
    if (!result.judged()) return;  // a face that cannot be judged neither helps nor counts
    TrackedFace& face = identity.face;
    identity.live_sum += *result.score;
    ++face.live_samples;
    face.live_score = identity.live_sum / float(face.live_samples);
    if (face.live_samples < options.liveness_frames) return;
    identity.live = *face.live_score >= result.threshold;
    if (*identity.live) return;
    face.state = IdentityState::kAttack;
    face.person.clear();
    emit(VideoEventType::kAttack, timestamp, face);
  }

  // The expensive half of a recognition (embedding, search, liveness), on the caller's thread or
  // the worker's: it reads the batch and the pipeline, never the tracks.
  void compute(RecognitionBatch& batch) const {
    try {
      for (const auto& embedding : pipeline.embed(batch.frame, batch.faces))
        batch.matches.push_back(gallery.search(embedding));
      batch.liveness.resize(batch.faces.size());
      std::vector<Detection> open;
      for (std::size_t i = 0; i < batch.faces.size(); ++i)
        if (batch.liveness_open[i]) open.push_back(batch.faces[i]);
      if (!open.empty()) {
        auto results = pipeline.check_liveness(batch.frame, open);
        for (std::size_t i = 0, next = 0; i < batch.faces.size(); ++i)
          if (batch.liveness_open[i]) batch.liveness[i] = std::move(results[next++]);
      }
    } catch (...) {
      batch.error = std::current_exception();
    }
    batch.ready = true;
  }

  // Votes and verdicts of a computed batch, as of the frame at `timestamp`; tracks that ended
  // meanwhile are skipped.
  void apply(RecognitionBatch& batch, double timestamp) {
    if (batch.error) std::rethrow_exception(batch.error);
    std::vector<TrackIdentity*> alive;
    for (std::size_t i = 0; i < batch.track_ids.size(); ++i) {
      const auto it = identities.find(batch.track_ids[i]);
      alive.push_back(it == identities.end() ? nullptr : &it->second);
      if (alive.back()) alive.back()->recognising = false;
      if (!batch.liveness[i]) continue;
      ++stats.liveness_checks;
      if (alive.back()) add_live_score(*alive.back(), *batch.liveness[i], timestamp);
    }
    for (std::size_t i = 0; i < alive.size(); ++i) {
      ++stats.recognitions;
      if (alive[i]) add_vote(*alive[i], batch.matches[i], timestamp);
    }
  }

  // Batches the worker finished, oldest first (all of them with `wait`), applied to this frame.
  void collect_recognitions(double timestamp, bool wait) {
    if (wait && worker) worker->wait_idle();
    while (!in_flight.empty() && in_flight.front()->ready) {
      const std::shared_ptr<RecognitionBatch> batch = in_flight.front();
      in_flight.pop_front();
      apply(*batch, timestamp);
    }
  }

  // Embeds and matches the detected faces that are due, pending tracks first: at once, or with
  // options.background_recognition handed to the worker (unless it already has enough to do:
  // then the faces stay due for a later detector frame).
  void recognise(const cv::Mat& frame, const std::vector<Track>& tracks, double timestamp) {
    if (worker && in_flight.size() >= kMaxBatchesInFlight) return;
    std::vector<std::pair<int, TrackIdentity*>> due;
    for (const auto& track : tracks) {
      if (!track.confirmed || !track.detected) continue;
      TrackIdentity& identity = identities.at(track.id);
      if (recognition_due(identity) && aligned_on_this_frame(identity)) due.emplace_back(track.id, &identity);
    }
    std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.second->decided.has_value(), a.second->last_recognised_frame) <
             std::make_pair(b.second->decided.has_value(), b.second->last_recognised_frame);
    });
    if (options.max_recognitions_per_frame > 0 && int(due.size()) > options.max_recognitions_per_frame)
      due.resize(options.max_recognitions_per_frame);
    if (due.empty()) return;

    auto batch = std::make_shared<RecognitionBatch>();
    batch->frame = worker ? frame.clone() : frame;  // the caller may reuse its buffer
    for (const auto& [track_id, identity] : due) {
      batch->track_ids.push_back(track_id);
      batch->faces.push_back(identity->face.detection);
      batch->liveness_open.push_back(options.liveness && !identity->live);
      identity->last_recognised_frame = stats.frames;
      identity->best_recognised_quality = std::max(identity->best_recognised_quality, identity->face.quality);
      identity->recognising = true;
    }
    in_flight.push_back(batch);
    if (!worker) {
      compute(*batch);
      return collect_recognitions(timestamp, false);
    }
    worker->submit([this, batch] { compute(*batch); });
  }

  // The landmark network (detectors without landmarks of their own) runs only on the faces about
  // to be recognised, on undecided tracks (their pose decides when they are) and once per
  // recheck period; other detected faces take the track's landmarks moved to the new box, which
  // is all their quality's pose estimate needs.
  bool needs_landmarks(const TrackIdentity& identity) {
    if (!identity.decided || stats.frames - identity.landmarks_frame >= options.recheck_every) return true;
    return recognition_due(identity);
  }

  // Only faces whose landmarks the network gave on this frame are embedded, never moved ones.
  bool aligned_on_this_frame(const TrackIdentity& identity) const {
    return !pipeline.detector().separate_landmarks() || identity.landmarks_frame == stats.frames;
  }

  // Quality (and, when needed, landmarks) of the face the detector found for a confirmed track.
  void measure_detected_face(const cv::Mat& frame, int track_id, TrackIdentity& identity) {
    TrackedFace& face = identity.face;
    const auto measure = [&] { face.quality = face_quality(frame, face.detection, options.quality).score; };
    const FaceDetector& detector = pipeline.detector();
    if (!detector.separate_landmarks()) return measure();
    if (has_landmarks(face.detection)) {
      measure();  // with the moved landmarks, which say whether a recognition is due
      if (!needs_landmarks(identity)) return;
    }
    detector.add_landmarks(frame, face.detection);
    tracker.set_landmarks(track_id, face.detection.landmarks);
    identity.landmarks_frame = stats.frames;
    ++stats.landmark_runs;
    measure();
  }

  bool scene_cut(const cv::Mat& frame) {
    if (options.scene_cut_threshold <= 0.f) return false;
    cv::Mat current = thumbnail(frame);
    bool cut = false;
    if (!previous_thumbnail.empty()) {
      cv::Mat difference;
      cv::absdiff(current, previous_thumbnail, difference);
      std::vector<std::uint8_t> cells(difference.begin<std::uint8_t>(), difference.end<std::uint8_t>());
      const auto middle = cells.begin() + std::ptrdiff_t(cells.size() / 2);
      std::nth_element(cells.begin(), middle, cells.end());
      cut = float(*middle) > options.scene_cut_threshold;
    }
    previous_thumbnail = std::move(current);
    return cut;
  }

  std::vector<TrackedFace> process(const cv::Mat& frame, double timestamp) {
    const auto started = std::chrono::steady_clock::now();
    collect_recognitions(timestamp, false);
    bool run_detector = stats.frames % options.detect_every == 0;
    if (scene_cut(frame)) {
      tracker.clear();
      end_tracks(tracker.ended(), timestamp);
      ++stats.scene_cuts;
      run_detector = true;  // the new shot's faces, now
    }
    if (run_detector) {
      tracker.update(pipeline.detector().single_pass().detect_boxes(frame));
      ++stats.detector_runs;
    } else {
      tracker.predict();
    }
    end_tracks(tracker.ended(), timestamp);

    for (const auto& track : tracker.tracks()) {
      if (!track.confirmed) continue;
      auto [it, born] = identities.try_emplace(track.id);
      TrackedFace& face = it->second.face;
      face.track_id = track.id;
      face.detection = track.detection;
      face.detected = track.detected;
      if (track.detected) measure_detected_face(frame, track.id, it->second);
      if (born) {
        face.first_seen = timestamp;
        ++stats.tracks;
        emit(VideoEventType::kEnter, timestamp, face);
      }
    }
    if (run_detector) recognise(frame, tracker.tracks(), timestamp);

    std::vector<TrackedFace> in_view;
    for (const auto& track : tracker.tracks())
      if (track.confirmed) in_view.push_back(identities.at(track.id).face);
    ++stats.frames;
    stats.last_frame_ms = milliseconds_since(started);
    total_ms += stats.last_frame_ms;
    stats.mean_frame_ms = total_ms / double(stats.frames);
    return in_view;
  }
};

VideoIdentifier::VideoIdentifier(const Engine& engine, const VideoOptions& options)
    : VideoIdentifier(engine.pipeline(), engine.gallery(), options) {}

VideoIdentifier::VideoIdentifier(const Pipeline& pipeline, const Gallery& gallery, const VideoOptions& options) {
  check_options(options);
  state_ = std::make_unique<State>(pipeline, gallery, options);
}

VideoIdentifier::~VideoIdentifier() = default;

std::vector<TrackedFace> VideoIdentifier::process(const cv::Mat& frame, double timestamp_seconds) {
  const cv::Mat bgr = to_bgr_frame(frame);
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->process(bgr, timestamp_seconds);
}

std::vector<VideoEvent> VideoIdentifier::take_events() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return std::exchange(state_->events, {});
}

void VideoIdentifier::wait_for_recognitions(double timestamp_seconds) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->collect_recognitions(timestamp_seconds, true);
}

void VideoIdentifier::finish(double timestamp_seconds) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->collect_recognitions(timestamp_seconds, true);
  state_->tracker.clear();
  state_->end_tracks(state_->tracker.ended(), timestamp_seconds);
}

VideoStats VideoIdentifier::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->stats;
}

const VideoOptions& VideoIdentifier::options() const { return state_->options; }

}  // namespace faceid
