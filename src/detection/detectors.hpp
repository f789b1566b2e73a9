#pragma once
// One factory per network format; create_detector picks among them.
#include <memory>
#include <string>

#include "detection/landmark68.hpp"
#include "faceid/detector.hpp"
#include "faceid/models.hpp"

namespace faceid::detection {

// UltraFace (RFB-320 layout): boxes only, so the 68-point model supplies the landmarks.
std::unique_ptr<FaceDetector> make_ultraface_detector(const ModelSpec& spec, const std::string& model_file,
                                                      const DetectorOptions& options,
                                                      std::unique_ptr<Landmark68Model> landmarker);

// YuNet through cv::FaceDetectorYN.
std::unique_ptr<FaceDetector> make_yunet_detector(const ModelSpec& spec, const std::string& model_file,
                                                  const DetectorOptions& options);

// SCRFD with keypoints (InsightFace): per-stride score, distance and keypoint heads.
std::unique_ptr<FaceDetector> make_scrfd_detector(const ModelSpec& spec, const std::string& model_file,
                                                  const DetectorOptions& options);

// RetinaFace (MobileNet-0.25, Pytorch_Retinaface layout): prior-box regression.
std::unique_ptr<FaceDetector> make_retinaface_detector(const ModelSpec& spec, const std::string& model_file,
                                                       const DetectorOptions& options);

}  // namespace faceid::detection
