#include "faceid/error.hpp"

namespace faceid {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadImage: return "bad_image";
    case ErrorCode::kNoFace: return "no_face";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kCorruptStore: return "corrupt_store";
    case ErrorCode::kModelMismatch: return "model_mismatch";
    case ErrorCode::kModelInvalid: return "model_invalid";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kIo: return "io_error";
    case ErrorCode::kUnavailable: return "unavailable";
  }
  return "unknown_error";
}

}  // namespace faceid
