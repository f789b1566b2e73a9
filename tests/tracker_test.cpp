// FaceTracker on synthetic box sequences: crossing, occlusion, re-entry, detector skipping.
#include "faceid/tracker.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include <gtest/gtest.h>

#include "faceid/detector.hpp"
#include "faceid/error.hpp"

namespace faceid {
namespace {

Detection face_at(float cx, float cy, float size = 60.f) {
  Detection d;
  d.box = {cx - size / 2, cy - size / 2, size, size};
  d.score = 0.9f;
  // Plausible five points inside the box, so landmark movement can be checked.
  d.landmarks = {cv::Point2f(cx - size * 0.2f, cy - size * 0.1f), cv::Point2f(cx + size * 0.2f, cy - size * 0.1f),
                 cv::Point2f(cx, cy + size * 0.05f), cv::Point2f(cx - size * 0.15f, cy + size * 0.25f),
                 cv::Point2f(cx + size * 0.15f, cy + size * 0.25f)};
  return d;
}

TrackerOptions options(int hits_to_confirm, int max_missed) {
  TrackerOptions o;
  o.hits_to_confirm = hits_to_confirm;
  o.max_missed = max_missed;
  return o;
}

cv::Point2f centre(const cv::Rect2f& box) { return {box.x + box.width / 2, box.y + box.height / 2}; }

// The confirmed track whose box centre is nearest to `point` (within `radius`).
std::optional<Track> track_near(const FaceTracker& tracker, cv::Point2f point, float radius = 20.f) {
  std::optional<Track> best;
  float best_distance = radius;
  for (const auto& track : tracker.tracks()) {
    const float distance = float(cv::norm(centre(track.detection.box) - point));
    if (track.confirmed && distance < best_distance) {
      best = track;
      best_distance = distance;
    }
  }
  return best;
}

int confirmed_count(const FaceTracker& tracker) {
  int n = 0;
  for (const auto& track : tracker.tracks()) n += track.confirmed ? 1 : 0;
  return n;
}

TEST(TrackerTest, ConfirmsAfterHitsAndKeepsOneIdWhileMoving) {
  FaceTracker tracker(options(3, 5));
  tracker.update({face_at(100, 100)});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_FALSE(tracker.tracks()[0].confirmed);
  const int id = tracker.tracks()[0].id;
  for (int frame = 1; frame < 40; ++frame) {
    tracker.update({face_at(100 + 6.f * frame, 100 + 2.f * frame)});
    ASSERT_EQ(tracker.tracks().size(), 1u);
    EXPECT_EQ(tracker.tracks()[0].id, id);
    EXPECT_EQ(tracker.tracks()[0].confirmed, frame >= 2) << "frame " << frame;
    EXPECT_TRUE(tracker.tracks()[0].detected);
  }
  EXPECT_TRUE(tracker.ended().empty());
}

TEST(TrackerTest, DetectionsWithoutLandmarksKeepTheTracksMoved) {
  FaceTracker tracker(options(2, 5));
  Detection boxes_only = face_at(100, 100);
  boxes_only.landmarks = {};
  tracker.update({boxes_only});
  EXPECT_FALSE(has_landmarks(tracker.tracks().at(0).detection));  // none yet: nothing to move
  tracker.predict();
  EXPECT_FALSE(has_landmarks(tracker.tracks().at(0).detection));
  const int id = tracker.tracks().at(0).id;
  tracker.set_landmarks(id, face_at(100, 100).landmarks);
  tracker.set_landmarks(id + 100, face_at(300, 300).landmarks);  // unknown id: ignored

  Detection moved_on = face_at(112, 104);
  const Landmarks5 expected = moved_on.landmarks;
  moved_on.landmarks = {};
  tracker.update({moved_on});
  const Track& track = tracker.tracks().at(0);
  ASSERT_EQ(track.id, id);
  for (std::size_t p = 0; p < 5; ++p) {
    EXPECT_NEAR(track.detection.landmarks[p].x, expected[p].x, 1e-3f) << p;
    EXPECT_NEAR(track.detection.landmarks[p].y, expected[p].y, 1e-3f) << p;
  }
}

TEST(TrackerTest, CrossingFacesKeepTheirIds) {
  // A walks right, B walks left, slightly lower; they overlap in the middle.
  FaceTracker tracker;
  auto a_at = [](int f) { return cv::Point2f(100 + 10.f * f, 200); };
  auto b_at = [](int f) { return cv::Point2f(500 - 10.f * f, 215); };
  int id_a = 0, id_b = 0;
  for (int frame = 0; frame <= 40; ++frame) {
    const cv::Point2f a = a_at(frame), b = b_at(frame);
    // The detector lists faces largest first; alternate the order so it cannot help.
    if (frame % 2) tracker.update({face_at(a.x, a.y), face_at(b.x, b.y)});
    else tracker.update({face_at(b.x, b.y), face_at(a.x, a.y)});
    if (frame < 2) continue;
    const auto ta = track_near(tracker, a, 2.f), tb = track_near(tracker, b, 2.f);
    ASSERT_TRUE(ta && tb) << "frame " << frame;
    if (frame == 2) {
      id_a = ta->id;
      id_b = tb->id;
      ASSERT_NE(id_a, id_b);
    }
    EXPECT_EQ(ta->id, id_a) << "frame " << frame;
    EXPECT_EQ(tb->id, id_b) << "frame " << frame;
  }
  EXPECT_EQ(confirmed_count(tracker), 2);
}

TEST(TrackerTest, ShortOcclusionKeepsTheIdAndPredictsTheBox) {
  FaceTracker tracker(options(2, 8));
  auto at = [](int f) { return cv::Point2f(80 + 8.f * f, 150); };
  for (int frame = 0; frame < 10; ++frame) tracker.update({face_at(at(frame).x, at(frame).y)});
  const int id = tracker.tracks().at(0).id;
  for (int frame = 10; frame < 16; ++frame) {  // hidden behind something for 6 frames
    tracker.update({});
    ASSERT_EQ(tracker.tracks().size(), 1u);
    const Track& track = tracker.tracks()[0];
    EXPECT_FALSE(track.detected);
    EXPECT_EQ(track.missed, frame - 9);
    // The box keeps moving with the face, and the landmarks move with the box.
    EXPECT_NEAR(centre(track.detection.box).x, at(frame).x, 6.f) << "frame " << frame;
    EXPECT_NEAR(track.detection.landmarks[2].x, at(frame).x, 6.f);
  }
  tracker.update({face_at(at(16).x, at(16).y)});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_EQ(tracker.tracks()[0].id, id);
  EXPECT_TRUE(tracker.tracks()[0].detected);
  EXPECT_TRUE(tracker.ended().empty());
}

TEST(TrackerTest, UnseenShrinkingFaceKeepsAPlausibleSize) {
  // A face walking away shrinks 4 px per frame, then is hidden: its coasting box
  // must not shrink to nothing.
  FaceTracker tracker(options(2, 20));
  for (int frame = 0; frame < 10; ++frame) tracker.update({face_at(200, 200, 100.f - 4.f * frame)});
  for (int frame = 0; frame < 20; ++frame) tracker.update({});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_GE(tracker.tracks()[0].detection.box.width, 0.5f * 64.f);
  EXPECT_GE(tracker.tracks()[0].detection.box.height, 0.5f * 64.f);
}

TEST(TrackerTest, ReentryAfterTrackDeathGetsANewId) {
  FaceTracker tracker(options(2, 3));
  for (int frame = 0; frame < 5; ++frame) tracker.update({face_at(300, 200)});
  const int first_id = tracker.tracks().at(0).id;
  for (int miss = 1; miss <= 3; ++miss) {
    tracker.update({});
    EXPECT_TRUE(tracker.ended().empty()) << "miss " << miss;
  }
  tracker.update({});
  ASSERT_EQ(tracker.ended().size(), 1u);
  EXPECT_EQ(tracker.ended()[0], first_id);
  EXPECT_TRUE(tracker.tracks().empty());

  tracker.update({face_at(300, 200)});
  tracker.update({face_at(302, 201)});
  ASSERT_EQ(confirmed_count(tracker), 1);
  EXPECT_NE(tracker.tracks()[0].id, first_id);
  EXPECT_TRUE(tracker.ended().empty());
}

TEST(TrackerTest, SingleSpuriousDetectionIsNeverReported) {
  FaceTracker tracker(options(2, 5));
  for (int frame = 0; frame < 6; ++frame) {
    std::vector<Detection> detections = {face_at(100, 100)};
    if (frame == 3) detections.push_back(face_at(400, 300, 30));  // one-frame false positive
    tracker.update(detections);
    EXPECT_EQ(confirmed_count(tracker), frame >= 1 ? 1 : 0);
    EXPECT_TRUE(tracker.ended().empty()) << "a tentative track must end silently";
  }
  EXPECT_EQ(tracker.tracks().size(), 1u);
}

TEST(TrackerTest, PredictBetweenDetectorRunsFollowsFastMotion) {
  // Detector every 3rd frame; the face moves 14 px per frame (42 px between runs,
  // 0.7 of its width), which plain IoU without motion cannot follow.
  FaceTracker tracker(options(2, 4));
  auto at = [](int f) { return cv::Point2f(50 + 14.f * f, 240); };
  int id = 0;
  for (int frame = 0; frame < 30; ++frame) {
    if (frame % 3 == 0) tracker.update({face_at(at(frame).x, at(frame).y)});
    else tracker.predict();
    ASSERT_EQ(tracker.tracks().size(), 1u) << "frame " << frame;
    if (id == 0) id = tracker.tracks()[0].id;
    EXPECT_EQ(tracker.tracks()[0].id, id) << "frame " << frame;
    if (frame >= 12) EXPECT_NEAR(centre(tracker.tracks()[0].detection.box).x, at(frame).x, 8.f) << "frame " << frame;
  }
  EXPECT_GE(tracker.tracks()[0].age, 29);
}

TEST(TrackerTest, SceneCutDoesNotHandTheIdToAnotherFace) {
  // A face, then a cut to a shot with a different face about one box height away:
  // the old track must end instead of taking over the new face.
  FaceTracker tracker(options(2, 2));
  for (int frame = 0; frame < 10; ++frame) tracker.update({face_at(300, 100, 100)});
  const int id = tracker.tracks().at(0).id;
  for (int frame = 0; frame < 5; ++frame) tracker.update({face_at(300 + 95, 100 + 30, 90)});
  ASSERT_EQ(tracker.tracks().size(), 1u);
  EXPECT_NE(tracker.tracks()[0].id, id);
}

TEST(TrackerTest, ClearEndsConfirmedTracks) {
  FaceTracker tracker;
  tracker.update({face_at(100, 100), face_at(300, 100)});
  tracker.update({face_at(100, 100), face_at(300, 100), face_at(500, 100)});
  tracker.clear();
  EXPECT_EQ(tracker.ended().size(), 2u);  // the third one was still tentative
  EXPECT_TRUE(tracker.tracks().empty());
}

TEST(TrackerTest, RejectsBadBoxesAndOptions) {
  FaceTracker tracker;
  Detection empty = face_at(10, 10);
  empty.box.width = 0;
  EXPECT_THROW(tracker.update({empty}), Error);
  Detection nan = face_at(10, 10);
  nan.box.x = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(tracker.update({nan}), Error);
  EXPECT_TRUE(tracker.tracks().empty());
  TrackerOptions no_overlap;
  no_overlap.min_iou = 0.f;
  EXPECT_THROW(FaceTracker{no_overlap}, Error);
  EXPECT_THROW(FaceTracker{options(0, 5)}, Error);
}

}  // namespace
}  // namespace faceid
