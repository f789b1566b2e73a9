// face_quality on real LFW faces: degraded copies of a face must score lower.
#include "faceid/quality.hpp"

#include <filesystem>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

class QualityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::models_installed() || test::dataset_dir("lfw_dev").empty()) return;
    EngineConfig config;
    config.gallery = (fs::path(test::temp_dir("quality")) / "gallery.db").string();
    engine_ = Engine::open(config).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  // The first image of the first `count` people (sorted), with their largest face.
  static std::vector<std::pair<cv::Mat, Detection>> lfw_faces(const std::string& lfw, std::size_t count) {
    std::vector<fs::path> people;
    for (const auto& entry : fs::directory_iterator(fs::path(lfw) / "images")) people.push_back(entry.path());
    std::sort(people.begin(), people.end());
    std::vector<std::pair<cv::Mat, Detection>> faces;
    for (const auto& person : people) {
      if (faces.size() == count) break;
      const fs::path file = person / (person.filename().string() + "_0001.jpg");
      const cv::Mat image = load_image(file.string());
      const auto detections = engine_->detect(image);
      if (!detections.empty()) faces.emplace_back(image, detections.front());
    }
    return faces;
  }

  static Engine* engine_;
};

Engine* QualityTest::engine_ = nullptr;

#define REQUIRE_QUALITY_DATA()            \
  FACEID_REQUIRE_MODELS();                \
  FACEID_REQUIRE_DATASET(lfw, "lfw_dev"); \
  ASSERT_NE(engine_, nullptr)

void expect_parts_in_range(const FaceQuality& q) {
  for (float part : {q.score, q.detector, q.size, q.sharpness, q.pose, q.brightness}) {
    EXPECT_GE(part, 0.f);
    EXPECT_LE(part, 1.f);
  }
}

TEST_F(QualityTest, BlurredCopyScoresLowerThanTheOriginal) {
  REQUIRE_QUALITY_DATA();
  const auto faces = lfw_faces(lfw, 8);
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
    EXPECT_GT(original.score, 0.4f) << "a sharp frontal LFW face";
    // Blur changes sharpness, not the other parts.
    EXPECT_FLOAT_EQ(degraded.pose, original.pose);
    EXPECT_FLOAT_EQ(degraded.size, original.size);
  }
}

TEST_F(QualityTest, TinyFaceScoresLower) {
  REQUIRE_QUALITY_DATA();
  int compared = 0;
  for (const auto& [image, face] : lfw_faces(lfw, 8)) {
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
  const auto faces = lfw_faces(lfw, 3);
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
  const auto faces = lfw_faces(lfw, 3);
  ASSERT_FALSE(faces.empty());
  const auto& [image, face] = faces.front();
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
  const auto faces = lfw_faces(lfw, 1);
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
