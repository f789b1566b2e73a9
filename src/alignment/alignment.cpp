#include "faceid/alignment.hpp"

#include <algorithm>

#include <opencv2/imgproc.hpp>

namespace faceid {

const Landmarks5& arcface_template_112() {
  // Reference points of the InsightFace/ArcFace 112x112 training crops.
  static const Landmarks5 kTemplate = {cv::Point2f(38.2946f, 51.6963f), cv::Point2f(73.5318f, 51.5014f),
                                       cv::Point2f(56.0252f, 71.7366f), cv::Point2f(41.5493f, 92.3655f),
                                       cv::Point2f(70.7299f, 92.2041f)};
  return kTemplate;
}

cv::Mat estimate_similarity(const Landmarks5& from, const Landmarks5& to) {
  // Closed-form least squares (Umeyama): for a 2-D similarity the rotation+scale is
  // the complex number a + ib minimising sum |to_c - (a+ib) from_c|^2 over centred points.
  const int n = static_cast<int>(from.size());
  cv::Point2d mean_from(0, 0), mean_to(0, 0);
  for (int i = 0; i < n; ++i) {
    mean_from += cv::Point2d(from[i]);
    mean_to += cv::Point2d(to[i]);
  }
  mean_from *= 1.0 / n;
  mean_to *= 1.0 / n;
  double dot = 0, cross = 0, norm = 0;
  for (int i = 0; i < n; ++i) {
    const cv::Point2d p = cv::Point2d(from[i]) - mean_from;
    const cv::Point2d q = cv::Point2d(to[i]) - mean_to;
    dot += p.x * q.x + p.y * q.y;
    cross += p.x * q.y - p.y * q.x;
    norm += p.x * p.x + p.y * p.y;
  }
  cv::Mat m = cv::Mat::zeros(2, 3, CV_64F);
  if (norm <= 1e-12) {  // degenerate: all points equal; translate only
    m.at<double>(0, 0) = m.at<double>(1, 1) = 1.0;
    m.at<double>(0, 2) = mean_to.x - mean_from.x;
    m.at<double>(1, 2) = mean_to.y - mean_from.y;
    return m;
  }
  const double a = dot / norm, b = cross / norm;
  m.at<double>(0, 0) = a;
  m.at<double>(0, 1) = -b;
  m.at<double>(1, 0) = b;
  m.at<double>(1, 1) = a;
  m.at<double>(0, 2) = mean_to.x - (a * mean_from.x - b * mean_from.y);
  m.at<double>(1, 2) = mean_to.y - (b * mean_from.x + a * mean_from.y);
  return m;
}

cv::Mat align_face(const cv::Mat& bgr, const Landmarks5& landmarks, int size) {
  Landmarks5 target = arcface_template_112();
  const float scale = static_cast<float>(size) / 112.f;
  for (auto& p : target) p *= scale;
  const cv::Mat transform = estimate_similarity(landmarks, target);
  cv::Mat aligned;
  cv::warpAffine(bgr, aligned, transform, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar(0, 0, 0));
  return aligned;
}

cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect2f& box, int size) {
  const float side = std::max(box.width, box.height);
  const cv::Point2f centre(box.x + box.width / 2, box.y + box.height / 2);
  const cv::Rect2f square(centre.x - side / 2, centre.y - side / 2, side, side);
  const double s = size / std::max(1.f, side);
  cv::Mat transform = (cv::Mat_<double>(2, 3) << s, 0, -square.x * s, 0, s, -square.y * s);
  cv::Mat crop;
  cv::warpAffine(bgr, crop, transform, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                 cv::Scalar(0, 0, 0));
  return crop;
}

}  // namespace faceid
