#pragma once
// Typed errors: every failure a caller can act on carries a stable code.
#include <stdexcept>
#include <string>

namespace faceid {

enum class ErrorCode {
  kBadImage,       // unreadable, truncated, empty or unsupported image data
  kNoFace,         // an image that must contain a face has none
  kSpoof,          // a presentation attack: the liveness check judged the face not live
  kCannotJudge,    // liveness could not judge the face (too small, at the border, grey...)
  kNotFound,       // unknown person, face, file or model
  kConflict,       // name already taken, duplicate enrollment
  kCorruptStore,   // gallery file damaged, locked, or from a newer schema
  kModelMismatch,  // embeddings from a different model than the engine's
  kModelInvalid,   // model file missing, wrong hash, or not loadable
  kBadRequest,     // invalid argument or malformed input file
  kIo,             // file-system or network failure
  kUnavailable,    // a backing service (database) cannot be reached
  // Refusals of a request to a server (REST):
  kUnauthorized,    // no API key, or an unknown one
  kForbidden,       // a key without the rights for this operation
  kTooLarge,        // a body, an image or a URI past the server's limits
  kOverloaded,      // the server's work queue is full, or the request waited too long
  kRequestTimeout,  // the client sent the request too slowly
  kInternal,        // a bug: an unexpected failure inside FaceID
};

// Stable lower-case identifier, e.g. "no_face"; used by the CLI and the REST API.
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace faceid
