#pragma once
// A detector that does not give up on the first empty answer: tight face chips and faces cut by
// the frame (lab photos, cropped enrolment photos) are often missed because the network never
// saw a face touching the border. When the primary detector finds nothing, it tries again on a
// padded (and, for small images, enlarged) copy, then with an optional second detector, and
// maps what it finds back to the original image. An image with a face costs one pass, as before.
#include <memory>

#include "faceid/detector.hpp"

namespace faceid::detection {

struct RetryOptions {
  bool padded_copy = true;  // retry on a padded / enlarged copy
  int min_face_size = 0;    // pixels in the original image: faces found on an enlarged copy below it are dropped
};

// `fallback` may be null (no second detector). Error(kBadRequest) when there is nothing to retry
// with (no padded copy and no fallback) or `primary` is null.
std::unique_ptr<FaceDetector> make_retry_detector(std::unique_ptr<FaceDetector> primary,
                                                  std::unique_ptr<FaceDetector> fallback,
                                                  const RetryOptions& options);

}  // namespace faceid::detection
