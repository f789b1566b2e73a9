#pragma once
// Five-point similarity alignment onto the ArcFace 112x112 template.
#include <opencv2/core.hpp>

#include "faceid/types.hpp"

namespace faceid {

// The standard ArcFace reference points for a 112x112 crop.
const Landmarks5& arcface_template_112();

// Least-squares similarity transform (rotation, uniform scale, translation;
// Umeyama 1991) mapping `from` onto `to`. Returns a 2x3 CV_64F matrix.
cv::Mat estimate_similarity(const Landmarks5& from, const Landmarks5& to);

// Warps the face so its landmarks land on the template scaled to `size` pixels.
cv::Mat align_face(const cv::Mat& bgr, const Landmarks5& landmarks, int size = 112);

// Crop without alignment (for comparison runs): the detector box, squared and resized.
cv::Mat crop_face(const cv::Mat& bgr, const cv::Rect2f& box, int size = 112);

}  // namespace faceid
