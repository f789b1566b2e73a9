#pragma once
// Live video: who is in view, frame after frame, inside the caller's own loop.
//
//   faceid::VideoIdentifier video(*engine);
//   while (camera.read(frame)) {                      // the caller's loop, not ours
//     for (const auto& face : video.process(frame, seconds)) draw(face);
//     for (const auto& event : video.take_events()) publish(event);
//   }
//   video.finish(seconds);                            // "leave" for whoever is still in view
//
// VideoSource reads files, cameras and network streams for callers that have no
// loop of their own (the CLI). And enrollment from video: FaceCapture keeps the best, most varied face crops of
// the one person in view.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/engine.hpp"
#include "faceid/quality.hpp"
#include "faceid/tracker.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct VideoOptions {
  // Run the detector on every k-th frame; in between, boxes follow the tracker's
  // motion model, so a slow detector does not cap the frame rate.
  int detect_every = 2;
  // A track is recognised when it appears, then again every this many frames ...
  int recheck_every = 15;
  // ... or sooner when its face is at least this much better (quality score) than
  // the best one recognised so far.
  float recheck_quality_gain = 0.1f;
  // Faces below this quality are not recognised (they would only add noisy votes).
  float min_quality = 0.2f;
  // Voting over the track's latest `vote_window` recognitions: a name (or unknown)
  // is decided when it has at least `votes_to_decide` votes and `min_vote_share` of
  // them; a decided identity changes only when another one wins by the same rule.
  int vote_window = 9;
  int votes_to_decide = 2;
  float min_vote_share = 0.5f;
  // Faces embedded per frame at most (pending tracks first), bounding the latency
  // of a frame in a crowd. 0 = no limit.
  int max_recognitions_per_frame = 4;
  // Embed, search and check liveness in a worker thread of the identifier's own, so process()
  // never waits for them: the votes and events of a face land on a later frame (the first one
  // after the worker finished). At most one batch runs while one waits; faces due meanwhile are
  // taken by a later detector frame. Off: everything happens inside process(), frame-exact.
  bool background_recognition = false;
  // Edited video cuts from one shot to another; a face of the new shot can overlap
  // where a face of the old one was and would inherit its track and name. A cut
  // (median absolute difference of tiny grayscale thumbnails of consecutive frames,
  // 0..255, above this) ends every track. The median ignores motion and borders that
  // change only part of the picture. 0 = never (a fixed camera).
  float scene_cut_threshold = 5.f;
  // Anti-spoofing: a track is named only once the mean of its first `liveness_frames` judged
  // live scores (taken at its recognitions, not on every frame) reaches the liveness threshold;
  // otherwise it becomes an attack. Uses the engine's liveness model.
  bool liveness = false;
  int liveness_frames = 3;
  TrackerOptions tracking;
  QualityOptions quality;
};

enum class IdentityState { kPending, kIdentified, kUnknown, kAttack };
const char* identity_state_name(IdentityState state);  // "pending", "identified", "unknown", "attack"

struct TrackedFace {
  int track_id = 0;
  Detection detection;     // the frame's detection, or the tracker's prediction
  bool detected = false;   // detection.box comes from the detector on this frame
  IdentityState state = IdentityState::kPending;
  std::string person;      // set when identified
  float score = 0.f;       // mean match score of the votes for the decided identity
  int votes = 0;           // votes for the decided identity (within the window)
  int recognitions = 0;    // recognitions of this track so far
  float quality = 0.f;     // quality of the latest detected face of the track
  double first_seen = 0.;  // timestamp of the frame the track was confirmed on
  // With VideoOptions::liveness: the mean live score so far (empty until one face was judged)
  // and how many judged faces it averages.
  std::optional<float> live_score;
  int live_samples = 0;
};

// kIdentified: the track's voted identity became a person; kUnknown: it was decided to be nobody
// enrolled; kAttack: liveness judged the track a presentation attack.
enum class VideoEventType { kEnter, kIdentified, kLeave, kAttack, kUnknown };
const char* video_event_name(VideoEventType type);  // "enter", "identified", "leave", "attack", "unknown"

struct VideoEvent {
  VideoEventType type = VideoEventType::kEnter;
  double timestamp = 0.;  // of the frame that caused it
  TrackedFace face;       // the track as it was then (kLeave: its final identity)
};

struct VideoStats {
  std::int64_t frames = 0;
  std::int64_t detector_runs = 0;
  std::int64_t landmark_runs = 0;    // faces given landmarks by a separate landmark network
  std::int64_t recognitions = 0;     // faces embedded and matched
  std::int64_t liveness_checks = 0;  // faces checked for liveness
  std::int64_t tracks = 0;           // confirmed tracks so far
  std::int64_t scene_cuts = 0;
  double last_frame_ms = 0.;         // wall time of the latest process() call
  double mean_frame_ms = 0.;
};

class VideoIdentifier {
 public:
  // The pipeline's models against `gallery` (an engine's, a server collection's, one searched
  // with those models); both must outlive this object. Throws Error(kBadRequest) for bad options.
  VideoIdentifier(const Pipeline& pipeline, const Gallery& gallery, const VideoOptions& options = {});
  // Against the engine's own gallery: engine.pipeline(), engine.gallery().
  explicit VideoIdentifier(const Engine& engine, const VideoOptions& options = {});
  ~VideoIdentifier();
  VideoIdentifier(const VideoIdentifier&) = delete;
  VideoIdentifier& operator=(const VideoIdentifier&) = delete;

  // Processes one frame (BGR; grayscale and BGRA are converted) taken at
  // `timestamp_seconds`; returns the confirmed tracks in view. Throws
  // Error(kBadImage) for an empty frame. Calls are serialised.
  std::vector<TrackedFace> process(const cv::Mat& frame, double timestamp_seconds);
  // Events since the previous call, oldest first. May be called from another thread.
  std::vector<VideoEvent> take_events();
  // With options.background_recognition: waits for the worker and applies what it found, as of
  // `timestamp_seconds` (otherwise results are applied by the next process() call).
  void wait_for_recognitions(double timestamp_seconds);
  // Ends every track (the stream is over or switches): waits for the worker, then queues their
  // leave events.
  void finish(double timestamp_seconds);
  VideoStats stats() const;
  const VideoOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct CaptureOptions {
  int count = 30;                // crops wanted
  int min_count = 5;             // fewer good faces than this: refuse
  float min_quality = 0.45f;     // faces below are never kept
  // Kept faces differ: cosine similarity of their embeddings at most this ...
  float max_similarity = 0.9f;
  // ... and at least this far apart in time (seconds), so they spread over the video.
  double min_gap_seconds = 0.15;
  // Refuse when more than this share of the frames with a face show several faces.
  float max_crowded_share = 0.5f;
  int frame_stride = 1;  // analyse every k-th frame (the others are skipped)
  // Saved crops show the face with this much context (box side multiple), so the
  // detector finds it again when they are enrolled.
  float crop_scale = 2.2f;
  QualityOptions quality;
};

struct CapturedFace {
  cv::Mat image;        // BGR crop around the face (what is saved or enrolled)
  Detection detection;  // in the source frame
  double timestamp = 0.;
  FaceQuality quality;
  Embedding embedding;
};

struct CaptureSummary {
  std::int64_t frames = 0;
  std::int64_t frames_with_face = 0;
  std::int64_t frames_with_several = 0;  // more than one face in view
  int candidates = 0;                    // faces good enough to be considered
};

// Collects the best face crops of the single person in a video, frame by frame.
class FaceCapture {
 public:
  // Needs the models only, no gallery. `pipeline` must outlive this object.
  explicit FaceCapture(const Pipeline& pipeline, const CaptureOptions& options = {});
  // engine.pipeline()
  explicit FaceCapture(const Engine& engine, const CaptureOptions& options = {});
  ~FaceCapture();
  FaceCapture(const FaceCapture&) = delete;
  FaceCapture& operator=(const FaceCapture&) = delete;

  void add_frame(const cv::Mat& frame, double timestamp_seconds);
  // The chosen faces, best first. Throws Error(kBadRequest) when several people
  // were in view for most of the video, Error(kNoFace) when fewer than
  // options.min_count good faces were found; the message says which and why.
  std::vector<CapturedFace> finish();
  CaptureSummary summary() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

enum class SourceKind { kFile, kCamera, kStream };

struct VideoSourceOptions {
  // Cameras and streams that drop are reopened this many times, waiting 0.5 s,
  // 1 s, 2 s ... (at most max_backoff_seconds) in between. Files just end.
  int reconnect_attempts = 5;
  double max_backoff_seconds = 8.;
  // A source that fails this many reads in a row has ended (or dropped).
  int max_failed_reads = 25;
  // When set and true, waits are cut short and read() returns false.
  const std::atomic<bool>* stop = nullptr;
};

// Frames from a video file, a camera ("0", "/dev/video0") or a stream URL
// (rtsp://, http://, https://), through OpenCV videoio (FFmpeg, V4L2).
class VideoSource {
 public:
  // Throws Error(kNotFound) for a missing file, Error(kIo) when the source cannot be opened.
  explicit VideoSource(const std::string& spec, const VideoSourceOptions& options = {});
  ~VideoSource();
  VideoSource(const VideoSource&) = delete;
  VideoSource& operator=(const VideoSource&) = delete;

  // The next frame and its time in seconds (the file's clock, or time since opening
  // for live sources). False when the source has ended for good; end_reason() says why.
  bool read(cv::Mat& frame, double& timestamp_seconds);

  SourceKind kind() const;
  const std::string& spec() const;
  double fps() const;                 // as reported by the source, 0 when unknown
  int reconnects() const;
  std::int64_t failed_reads() const;  // all failed reads so far
  const std::string& end_reason() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// A kept face as an image to enroll (JPEG bytes of its crop), labelled `source`:
//   engine.enroll(name, {captured_face_image(face, "clip.mp4#3"), ...})
EnrollImage captured_face_image(const CapturedFace& face, const std::string& source);

// Runs FaceCapture over a whole video file or camera (what `faceid capture` and
// `faceid enroll --video` do). Throws like FaceCapture::finish and VideoSource.
std::vector<CapturedFace> capture_faces(const Engine& engine, const std::string& source,
                                        const CaptureOptions& options = {}, CaptureSummary* summary = nullptr,
                                        const std::atomic<bool>* stop = nullptr);

}  // namespace faceid
