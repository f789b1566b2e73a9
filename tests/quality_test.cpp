// face_quality on the real faces of the installed sample photos: degraded copies must score lower.
#include "faceid/quality.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

class QualityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::models_installed()) return;
    EngineConfig config;
    config.gallery = (fs::path(test::temp_dir("quality")) / "gallery.db").string();
    engine_ = Engine::open(config).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  // Faces of the installed sample photos, each cut out with its surroundings and scaled to
  // 250 x 250 like an LFW photo (face about 100 px), with the face detected in that cut-out.
  static std::vector<std::pair<cv::Mat, Detection>> sample_faces(std::size_t count) {
    std::vector<std::pair<cv::Mat, Detection>> faces;
    for (int i = 1; i <= 6 && faces.size() < count; ++i) {
      const cv::Mat photo = load_image(test::sample_photo(i));
      for (const auto& found : engine_->detect(photo)) {
        if (faces.size() == count) break;
        const cv::Point2f centre(found.box.x + found.box.width / 2, found.box.y + found.box.height / 2);
        const float side = 2.5f * std::max(found.box.width, found.box.height);
        const cv::Rect region = cv::Rect(cv::Rect2f(centre.x - side / 2, centre.y - side / 2, side, side)) &
                                cv::Rect(0, 0, photo.cols, photo.rows);
        cv::Mat cut;
        cv::resize(photo(region), cut, {250, 250}, 0, 0, cv::INTER_AREA);
        const auto detections = engine_->detect(cut);
        if (!detections.empty()) faces.emplace_back(cut, detections[test::largest_face(detections)]);
      }
    }
    return faces;
  }

  static Engine* engine_;
};

Engine* QualityTest::engine_ = nullptr;

#define REQUIRE_QUALITY_DATA() \
  FACEID_REQUIRE_MODELS();     \
  ASSERT_NE(engine_, nullptr)

void expect_parts_in_range(const FaceQuality& q) {
  for (float part : {q.score, q.detector, q.size, q.sharpness, q.pose, q.brightness}) {
    EXPECT_GE(part, 0.f);
    EXPECT_LE(part, 1.f);
  }
}

TEST_F(QualityTest, BlurredCopyScoresLowerThanTheOriginal) {
  REQUIRE_QUALITY_DATA();
  const auto faces = sample_faces(8);
  ASSERT_GE(faces.size(), 6u);
  for (const auto& [image, face] : faces) {
    const FaceQuality original = face_quality(image, face);
    cv::Mat blurred;
    cv::GaussianBlur(image, blurred, {0, 0}, 2.5);
    const FaceQuality degraded = face_quality(blurred, face);
    expect_parts_in_range(original);
    expect_parts_in_range(degraded);
    EXPECT_LT(degraded.laplacian_variance, original.laplacian_variance / 4);
    EXPECT_LT(degraded.score, original.score - 0.2f);
    EXPECT_GT(original.score, 0.4f) << "a sharp face of the sample photos";
    // Blur changes sharpness, not the other parts.
    EXPECT_FLOAT_EQ(degraded.pose, original.pose);
    EXPECT_FLOAT_EQ(degraded.size, original.size);
  }
}

TEST_F(QualityTest, TinyFaceScoresLower) {
  REQUIRE_QUALITY_DATA();
  int compared = 0;
  for (const auto& [image, face] : sample_faces(8)) {
    cv::Mat small;
    cv::resize(image, small, {}, 0.4, 0.4, cv::INTER_AREA);
    const auto detections = engine_->detect(small);
    if (detections.empty()) continue;  // too small for the detector: nothing to score
    const FaceQuality tiny = face_quality(small, detections.front());
    const FaceQuality original = face_quality(image, face);
    EXPECT_LT(tiny.face_pixels, original.face_pixels * 0.5f);
    EXPECT_LT(tiny.size, original.size);
    EXPECT_LT(tiny.score, original.score);
    ++compared;
  }
  EXPECT_GE(compared, 3) << "the detector should still find most faces at 40% size";
}

TEST_F(QualityTest, DarkCopyScoresLowerBrightness) {
  REQUIRE_QUALITY_DATA();
  const auto faces = sample_faces(3);
  ASSERT_FALSE(faces.empty());
  const auto& [image, face] = faces.front();
  const cv::Mat dark = image * 0.15;
  const FaceQuality original = face_quality(image, face), dimmed = face_quality(dark, face);
  EXPECT_LT(dimmed.mean_brightness, 40.f);
  EXPECT_LT(dimmed.brightness, original.brightness);
  EXPECT_LT(dimmed.score, original.score);
}

TEST_F(QualityTest, TurnedAwayLandmarksScoreLowerPose) {
  REQUIRE_QUALITY_DATA();
  // The most frontal, upright face of the samples: the edit below assumes level eyes.
  const auto faces = sample_faces(30);
  ASSERT_FALSE(faces.empty());
  auto turn = [](const FaceQuality& q) { return std::abs(q.yaw) + std::abs(q.roll_degrees) / 90.f; };
  std::size_t pick = 0;
  for (std::size_t k = 1; k < faces.size(); ++k)
    if (turn(face_quality(faces[k].first, faces[k].second)) <
        turn(face_quality(faces[pick].first, faces[pick].second)))
      pick = k;
  const auto& [image, face] = faces[pick];
  const FaceQuality frontal = face_quality(image, face);
  // The nose moved sideways by most of the eye distance: what a head turned far
  // to one side looks like to the landmarks.
  // It is moved further the way it already points.
  Detection turned = face;
  const float direction = frontal.yaw >= 0.f ? 1.f : -1.f;
  turned.landmarks[2].x += direction * 0.8f * (face.landmarks[1].x - face.landmarks[0].x);
  const FaceQuality profile = face_quality(image, turned);
  EXPECT_GT(std::abs(profile.yaw), 0.7f);
  EXPECT_LT(profile.pose, frontal.pose * 0.7f);
  EXPECT_LT(profile.score, frontal.score);

  // A tilted head (eye line at about 40 degrees) is measured as roll.
  Detection tilted = face;
  const cv::Point2f centre = (face.landmarks[0] + face.landmarks[1]) * 0.5f;
  const float c = std::cos(0.7f), s = std::sin(0.7f);
  for (auto& p : tilted.landmarks) {
    const cv::Point2f d = p - centre;
    p = centre + cv::Point2f(c * d.x - s * d.y, s * d.x + c * d.y);
  }
  const FaceQuality rolled = face_quality(image, tilted);
  EXPECT_NEAR(rolled.roll_degrees - frontal.roll_degrees, 40.1f, 0.5f);
  EXPECT_NEAR(rolled.yaw, frontal.yaw, 0.01f);
}

TEST_F(QualityTest, RejectsEmptyImagesAndBoxesOutside) {
  REQUIRE_QUALITY_DATA();
  const auto faces = sample_faces(1);
  ASSERT_FALSE(faces.empty());
  const auto& [image, face] = faces.front();
  EXPECT_THROW(face_quality(cv::Mat(), face), Error);
  Detection outside = face;
  outside.box.x = float(image.cols) + 10.f;
  EXPECT_THROW(face_quality(image, outside), Error);
  // Degenerate landmarks (all at one point) cannot be aligned: pose 0, still no crash.
  Detection collapsed = face;
  collapsed.landmarks.fill(cv::Point2f(5, 5));
  EXPECT_EQ(face_quality(image, collapsed).pose, 0.f);
}

}  // namespace
}  // namespace faceid
