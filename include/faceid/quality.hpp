#pragma once
// How useful a detected face is for recognition: sharp, frontal, large, well lit.
// Used to pick enrollment frames from video, to decide when to re-recognise a
// tracked face, and to warn about poor enrollment photos.
#include <opencv2/core.hpp>

#include "faceid/types.hpp"

namespace faceid {

struct QualityOptions {
  // Each part maps a raw measure to [0, 1]; these are the raw values that score 0.5.
  float half_size_pixels = 40.f;       // shorter box side
  float half_sharpness = 60.f;         // Laplacian variance of the 112x112 face crop
  float half_yaw = 0.45f;              // |nose offset| / eye distance (0 = frontal)
  float half_roll_degrees = 35.f;      // eye-line angle
  float half_pitch = 0.3f;             // |nose height between eyes and mouth - 0.5| (normalised)
  // Mean brightness (0..255) of the crop inside [low, high] scores 1, falling to 0 at 0 / 255.
  float good_brightness_low = 70.f;
  float good_brightness_high = 190.f;
  // Weights of the parts in the combined score (a weighted geometric mean).
  float weight_detector = 1.f;
  float weight_size = 1.f;
  float weight_sharpness = 1.5f;
  float weight_pose = 1.5f;
  float weight_brightness = 0.5f;
};

struct FaceQuality {
  float score = 0.f;  // combined, in [0, 1]; higher is better
  // The parts, each in [0, 1].
  float detector = 0.f;
  float size = 0.f;
  float sharpness = 0.f;
  float pose = 0.f;
  float brightness = 0.f;
  // The raw measures behind them.
  float face_pixels = 0.f;         // shorter box side
  float laplacian_variance = 0.f;  // on the face crop scaled to 112x112
  float roll_degrees = 0.f;        // eye-line angle, signed
  float yaw = 0.f;                 // nose offset from the eye midpoint / eye distance, signed
  float pitch = 0.f;               // nose height between eye line and mouth line - 0.5, signed
  float mean_brightness = 0.f;     // 0..255
};

// Scores one detected face of a BGR image. Throws Error(kBadRequest) for an empty
// image or a box that lies outside it.
FaceQuality face_quality(const cv::Mat& bgr, const Detection& face, const QualityOptions& options = {});

}  // namespace faceid
