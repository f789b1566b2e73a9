// create_detector: validates a detector spec and builds the decoder its format names.
#include "detection/detectors.hpp"
#include "faceid/detector.hpp"
#include "faceid/error.hpp"

namespace faceid {

std::unique_ptr<FaceDetector> create_detector(const ModelSpec& spec, const std::string& model_file,
                                              const DetectorOptions& options, const ModelSpec* landmark_spec,
                                              const std::string& landmark_file) {
  if (spec.kind != ModelKind::kDetector)
    throw Error(ErrorCode::kBadRequest,
                "model " + spec.name + " is a " + model_kind_name(spec.kind) + " model, not a detector");
  if (!(spec.std > 0.f))
    throw Error(ErrorCode::kModelInvalid,
                "detector " + spec.name + " has a non-positive std in its manifest");

  if (spec.format == "ultraface") {
    if (landmark_spec == nullptr || landmark_file.empty())
      throw Error(ErrorCode::kBadRequest, "detector " + spec.name +
                                              " gives no landmarks of its own: it needs the "
                                              "landmark model " +
                                              (spec.landmarks.empty() ? "(landmark68)" : spec.landmarks));
    if (landmark_spec->format != "landmark68")
      throw Error(ErrorCode::kBadRequest, "landmark model " + landmark_spec->name + " has format '" +
                                              landmark_spec->format + "', expected landmark68");
    if (!(landmark_spec->std > 0.f))
      throw Error(ErrorCode::kModelInvalid,
                  "landmark model " + landmark_spec->name + " has a non-positive std in its manifest");
    return detection::make_ultraface_detector(
        spec, model_file, options,
        std::make_unique<detection::Landmark68Model>(*landmark_spec, landmark_file));
  }
  // The remaining formats find landmarks themselves; a landmark model passed along is not needed.
  if (spec.format == "yunet") return detection::make_yunet_detector(spec, model_file, options);
  if (spec.format == "scrfd") return detection::make_scrfd_detector(spec, model_file, options);
  if (spec.format == "retinaface") return detection::make_retinaface_detector(spec, model_file, options);
  throw Error(ErrorCode::kBadRequest, "detector " + spec.name + " has unknown format '" + spec.format +
                                          "' (known: ultraface, yunet, scrfd, retinaface)");
}

}  // namespace faceid
