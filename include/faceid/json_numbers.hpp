#pragma once
// How numbers are written in JSON output (CLI and REST alike): rounded to what they mean, and
// rounded in double precision so that a float score of 0.3571 prints as 0.3571, not 0.35710000991821289.
#include <cmath>

namespace faceid {

// Similarity / distance scores, thresholds, detection and quality scores: 4 decimals.
inline double json_score(double value) { return std::round(value * 1e4) / 1e4; }

// Pixel coordinates and sizes (boxes, landmarks): 1 decimal.
inline double json_pixels(double value) { return std::round(value * 10.0) / 10.0; }

}  // namespace faceid
