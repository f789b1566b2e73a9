#pragma once
// Multi-face tracking: associates detections across frames so each person keeps one id.
//
//   faceid::FaceTracker tracker;
//   for each frame:  detector ran ? tracker.update(detections) : tracker.predict();
//                    for (const auto& track : tracker.tracks()) if (track.confirmed) use(track);
#include <memory>
#include <vector>

#include <opencv2/core.hpp>

#include "faceid/types.hpp"

namespace faceid {

struct TrackerOptions {
  // A detection continues a track when its box overlaps the track's predicted box
  // by at least this intersection-over-union.
  float min_iou = 0.2f;
  // Fallback for what IoU left unmatched (a new track has no velocity yet, or the
  // detector skips frames): a detection whose centre lies within this many box
  // heights of the prediction, with a similar size, continues the track.
  float max_centre_shift = 0.8f;
  // Birth: a track is confirmed (reported to callers) after this many associated detections.
  int hits_to_confirm = 2;
  // Death: a confirmed track ends after this many detector runs without a matching
  // detection (occlusions shorter than that keep the id).
  int max_missed = 8;
};

struct Track {
  int id = 0;               // unique for the tracker's lifetime, never reused
  Detection detection;      // box and landmarks: the latest detection, moved along the motion model
  bool confirmed = false;
  bool detected = false;    // the box comes from a detection of the latest update (not a prediction)
  int hits = 0;             // detections associated so far
  int missed = 0;           // consecutive detector runs without a detection
  int age = 0;              // frames (update or predict calls) since birth
};

class FaceTracker {
 public:
  explicit FaceTracker(const TrackerOptions& options = {});
  ~FaceTracker();
  FaceTracker(FaceTracker&&) noexcept;
  FaceTracker& operator=(FaceTracker&&) noexcept;

  // Advances one frame with the detector's output for it. Throws Error(kBadRequest)
  // for boxes that are empty or not finite.
  void update(const std::vector<Detection>& detections);
  // Advances one frame on which the detector did not run: boxes follow their motion,
  // nothing is born and nothing dies.
  void predict();

  // Live tracks (tentative and confirmed), oldest first.
  const std::vector<Track>& tracks() const;
  // Ids of the confirmed tracks that ended in the latest update.
  const std::vector<int>& ended() const;
  // Landmarks computed after the update for a track's latest detection (one that came without:
  // FaceDetector::detect_boxes); later frames move them along. Unknown ids are ignored.
  void set_landmarks(int track_id, const Landmarks5& landmarks);
  // Ends every track (the stream is over); they are reported by ended().
  void clear();

  const TrackerOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faceid
