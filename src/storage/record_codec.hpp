#pragma once
// Rules and byte layouts shared by every gallery backend, so that a gallery means the
// same thing whichever database holds it.
#include <cstdint>
#include <string>
#include <vector>

#include "faceid/store.hpp"

namespace faceid {

// A person's name is a label used in file names, URLs and JSON: 1..128 bytes of valid
// UTF-8 without control characters or '/'. Error(kBadRequest) otherwise.
void validate_person_name(const std::string& name);

// Error(kBadRequest) unless `embedding` is non-empty, finite, of unit length, with a
// finite positive norm. `owner` names the face in the message.
void validate_embedding(const Embedding& embedding, const std::string& owner);

// Checks a batch given to add_faces: at least one face, valid embeddings of one
// dimension (kModelMismatch otherwise) and one model id (kModelMismatch), content hashes
// present and distinct (kConflict), finite detections. Returns the batch's model id.
std::string validate_face_batch(const std::vector<FaceRecord>& faces);

// float32 little-endian, whatever the host's byte order, so gallery files are portable.
std::vector<std::uint8_t> encode_floats(const float* values, std::size_t count);
// Error(kCorruptStore) naming `what` when the byte count is not a whole number of floats.
std::vector<float> decode_floats(const std::vector<std::uint8_t>& bytes, const std::string& what);

// The five landmarks as ten floats: x0, y0, ..., x4, y4.
std::vector<std::uint8_t> encode_landmarks(const Landmarks5& points);
Landmarks5 decode_landmarks(const std::vector<std::uint8_t>& bytes, const std::string& what);

}  // namespace faceid
