#include "faceid/error.hpp"

namespace faceid {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadImage: return "bad_image";
    case ErrorCode::kNoFace: return "no_face";
    case ErrorCode::kSpoof: return "spoof";
    case ErrorCode::kCannotJudge: return "cannot_judge";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kCorruptStore: return "corrupt_store";
    case ErrorCode::kModelMismatch: return "model_mismatch";
    case ErrorCode::kModelInvalid: return "model_invalid";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kIo: return "io_error";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kRequestTimeout: return "request_timeout";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown_error";
}

}  // namespace faceid
