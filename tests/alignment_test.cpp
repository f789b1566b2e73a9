#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/alignment.hpp"

namespace faceid {
namespace {

cv::Point2f apply(const cv::Mat& m, const cv::Point2f& p) {
  return {static_cast<float>(m.at<double>(0, 0) * p.x + m.at<double>(0, 1) * p.y + m.at<double>(0, 2)),
          static_cast<float>(m.at<double>(1, 0) * p.x + m.at<double>(1, 1) * p.y + m.at<double>(1, 2))};
}

// A face as a camera would see it: the template rotated, scaled and moved.
Landmarks5 moved_template(double angle, double scale, cv::Point2f shift) {
  Landmarks5 points = arcface_template_112();
  for (auto& p : points) {
    const double x = p.x * scale * std::cos(angle) - p.y * scale * std::sin(angle);
    const double y = p.x * scale * std::sin(angle) + p.y * scale * std::cos(angle);
    p = cv::Point2f(static_cast<float>(x), static_cast<float>(y)) + shift;
  }
  return points;
}

double squared_residual(const cv::Mat& m, const Landmarks5& from, const Landmarks5& to) {
  double sum = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    const cv::Point2f d = apply(m, from[i]) - to[i];
    sum += d.x * d.x + d.y * d.y;
  }
  return sum;
}

TEST(Alignment, RecoversAnExactSimilarityWithinOnePixel) {
  const Landmarks5 face = moved_template(0.4, 2.7, {140.f, 35.f});
  const cv::Mat m = estimate_similarity(face, arcface_template_112());
  for (std::size_t i = 0; i < face.size(); ++i) {
    const cv::Point2f d = apply(m, face[i]) - arcface_template_112()[i];
    EXPECT_LT(std::hypot(d.x, d.y), 1e-3);
  }
}

TEST(Alignment, IsTheLeastSquaresSimilarityForNoisyPoints) {
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 2.f);
  Landmarks5 face = moved_template(-0.2, 1.9, {60.f, 80.f});
  for (auto& p : face) p += cv::Point2f(noise(rng), noise(rng));
  const auto& target = arcface_template_112();
  const cv::Mat best = estimate_similarity(face, target);
  const double best_residual = squared_residual(best, face, target);
  // Any small change of the four similarity parameters must not fit better.
  for (int param = 0; param < 4; ++param) {
    for (double delta : {-1e-3, 1e-3}) {
      cv::Mat other = best.clone();
      if (param == 0) { other.at<double>(0, 0) += delta; other.at<double>(1, 1) += delta; }
      if (param == 1) { other.at<double>(0, 1) -= delta; other.at<double>(1, 0) += delta; }
      if (param == 2) other.at<double>(0, 2) += delta * 100;
      if (param == 3) other.at<double>(1, 2) += delta * 100;
      EXPECT_GT(squared_residual(other, face, target), best_residual);
    }
  }
  // And it is a similarity: a pure rotation+scale in the 2x2 block.
  EXPECT_NEAR(best.at<double>(0, 0), best.at<double>(1, 1), 1e-12);
  EXPECT_NEAR(best.at<double>(0, 1), -best.at<double>(1, 0), 1e-12);
}

TEST(Alignment, WarpPutsTheFacePointsOnTheTemplate) {
  // A real photo rotated and scaled by a known similarity: aligning with the
  // moved points must bring the pixels back where the template says.
  cv::Mat image(300, 300, CV_8UC3, cv::Scalar(0, 0, 0));
  for (const auto& p : moved_template(0.3, 2.0, {100.f, 20.f}))
    cv::circle(image, cv::Point(cvRound(p.x), cvRound(p.y)), 3, cv::Scalar(255, 255, 255), cv::FILLED);
  const cv::Mat aligned = align_face(image, moved_template(0.3, 2.0, {100.f, 20.f}), 112);
  ASSERT_EQ(aligned.size(), cv::Size(112, 112));
  for (const auto& p : arcface_template_112()) {
    const cv::Vec3b pixel = aligned.at<cv::Vec3b>(cvRound(p.y), cvRound(p.x));
    EXPECT_GT(pixel[0], 200) << "no bright dot at the template point " << p;
  }
}

TEST(Alignment, DegeneratePointsDoNotProduceNaN) {
  Landmarks5 same;
  same.fill(cv::Point2f(10.f, 10.f));
  const cv::Mat m = estimate_similarity(same, arcface_template_112());
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(std::isfinite(m.at<double>(r, c)));
}

TEST(Alignment, CropWithoutAlignmentHasTheRequestedSize) {
  cv::Mat image(200, 300, CV_8UC3, cv::Scalar(10, 20, 30));
  const cv::Mat crop = crop_face(image, cv::Rect2f(250, 150, 100, 80), 112);
  EXPECT_EQ(crop.size(), cv::Size(112, 112));
}

}  // namespace
}  // namespace faceid
