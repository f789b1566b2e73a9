// Context-crop geometry of the liveness models and the checks that decide a face can be judged.
#include <algorithm>
#include <cmath>
#include <sstream>

#include <opencv2/imgproc.hpp>

#include "faceid/liveness.hpp"

namespace faceid {
namespace {

float area(const cv::Rect2f& r) { return std::max(0.f, r.width) * std::max(0.f, r.height); }

std::string scale_text(float scale) {
  std::ostringstream text;
  text << scale;
  return text.str();
}

}  // namespace

LivenessCrop liveness_crop(const cv::Size& image_size, const cv::Rect2f& box, const ModelSpec& spec,
                           const LivenessOptions& options) {
  LivenessCrop crop;
  const float image_w = static_cast<float>(image_size.width);
  const float image_h = static_cast<float>(image_size.height);
  const cv::Point2f centre(box.x + box.width / 2.f, box.y + box.height / 2.f);
  // fr_liveness was trained on square crops: the box's height decides the side.
  const float face_w = spec.square_crop ? box.height : box.width;
  const float face_h = box.height;
  if (std::min(face_w, face_h) < static_cast<float>(options.min_face_pixels)) {
    crop.cannot_judge = "face too small for liveness (" + std::to_string(static_cast<int>(std::min(face_w, face_h))) +
                        " px, needs " + std::to_string(options.min_face_pixels) + ")";
    return crop;
  }
  const cv::Rect2f image(0.f, 0.f, image_w, image_h);
  if (area(box & image) < 0.5f * area(box)) {
    crop.cannot_judge = "face mostly outside the image";
    return crop;
  }
  // How much of the full context lies inside the image where it should be: a face that fills
  // the frame, or sits at its edge, leaves the model without the background it compares against.
  const cv::Rect2f full_context(centre.x - face_w * spec.crop_scale / 2.f, centre.y - face_h * spec.crop_scale / 2.f,
                                face_w * spec.crop_scale, face_h * spec.crop_scale);
  const float context_inside = area(full_context & image) / area(full_context);
  if (context_inside < options.min_context) {
    crop.cannot_judge = "face too near the image border for the x" + scale_text(spec.crop_scale) + " context (" +
                        std::to_string(static_cast<int>(std::lround(context_inside * 100.f))) + "% of it inside)";
    return crop;
  }
  crop.scale = std::min({spec.crop_scale, (image_w - 1.f) / face_w, (image_h - 1.f) / face_h});
  const float crop_w = face_w * crop.scale;
  const float crop_h = face_h * crop.scale;
  // Shifted back inside the image rather than padded: padding is a texture the model never saw.
  const float left = std::clamp(centre.x - crop_w / 2.f, 0.f, std::max(0.f, image_w - 1.f - crop_w));
  const float top = std::clamp(centre.y - crop_h / 2.f, 0.f, std::max(0.f, image_h - 1.f - crop_h));
  crop.roi = cv::Rect(static_cast<int>(left), static_cast<int>(top), static_cast<int>(crop_w),
                      static_cast<int>(crop_h)) &
             cv::Rect(0, 0, image_size.width, image_size.height);
  if (crop.roi.empty()) crop.cannot_judge = "empty liveness crop";
  return crop;
}

bool is_grayscale(const cv::Mat& bgr, const cv::Rect& roi) {
  if (bgr.channels() == 1) return true;
  const cv::Mat region = bgr(roi & cv::Rect(0, 0, bgr.cols, bgr.rows));
  if (region.empty()) return true;
  std::vector<cv::Mat> channels;
  cv::split(region, channels);
  cv::Mat blue_green, green_red;
  cv::absdiff(channels[0], channels[1], blue_green);
  cv::absdiff(channels[1], channels[2], green_red);
  // JPEG chroma noise leaves a grey photo a level or two of colour; real colour is far more.
  return cv::mean(blue_green)[0] + cv::mean(green_red)[0] < 2.0;
}

}  // namespace faceid
