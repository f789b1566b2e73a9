#pragma once
// Rules and byte layouts shared by every gallery backend, so that a gallery means the
// same thing whichever database holds it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "faceid/error.hpp"
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

// The model a batch given to add_faces is stored under, for a gallery bound to `bound`
// ("" = unbound): kBadRequest when neither names one, kModelMismatch when they differ.
std::string batch_model_for(const std::string& batch_model, const std::string& bound);
// kModelMismatch when a gallery holding `stored_dim`-d vectors is given `dim`-d ones.
void require_same_dim(std::size_t stored_dim, std::size_t dim);
// What bind_model() throws for a gallery bound to another model: it names the way out.
Error model_mismatch(const std::string& bound, const std::string& wanted);
// Error(kNotFound) for a person the gallery does not hold.
Error person_not_found(const std::string& name);
// Error(kConflict) for the first face whose image content `owner_of(content_sha256)` (an
// optional person name) finds already enrolled: an image is enrolled once.
template <typename OwnerOf>
void reject_enrolled_content(const std::vector<FaceRecord>& faces, OwnerOf&& owner_of) {
  for (const auto& face : faces)
    if (const auto owner = owner_of(face.content_sha256))
      throw Error(ErrorCode::kConflict,
                  "'" + face.source + "' is already enrolled as " + *owner + " (same image content)");
}

// Checks the arguments of replace_embeddings: a model id, valid vectors of one dimension,
// distinct face ids.
void validate_replacements(const std::string& model_id,
                           const std::vector<std::pair<std::int64_t, Embedding>>& embeddings);
// kConflict unless a reindex computed vectors for as many faces as the gallery holds.
void require_every_face_replaced(std::int64_t stored, std::size_t given);

// The change log keeps the faces touched by this many most recent versions; a reader that
// is further behind reloads the whole gallery.
inline constexpr std::int64_t kChangeLogVersions = 10000;
// Whether a log of `current` covers every change after `since`.
bool change_log_covers(std::int64_t since, std::int64_t current);

// A face row in the column order both backends select: id, person name, model id,
// embedding (blob), norm, content hash, source, box x, y, w, h, detection score, landmarks
// (blob), created_at and, when `with_crop`, the crop (blob). `Row` reads column i with
// integer(i), text(i), real(i) and blob(i).
template <typename Row>
FaceRecord read_face_row(const Row& row, bool with_crop);

// float32 little-endian, whatever the host's byte order, so gallery files are portable.
std::vector<std::uint8_t> encode_floats(const float* values, std::size_t count);
// Error(kCorruptStore) naming `what` when the byte count is not a whole number of floats.
std::vector<float> decode_floats(const std::vector<std::uint8_t>& bytes, const std::string& what);

// The five landmarks as ten floats: x0, y0, ..., x4, y4.
std::vector<std::uint8_t> encode_landmarks(const Landmarks5& points);
Landmarks5 decode_landmarks(const std::vector<std::uint8_t>& bytes, const std::string& what);

template <typename Row>
FaceRecord read_face_row(const Row& row, bool with_crop) {
  FaceRecord face;
  face.id = row.integer(0);
  const std::string what = "face " + std::to_string(face.id);
  face.person = row.text(1);
  face.model_id = row.text(2);
  face.embedding.unit = decode_floats(row.blob(3), "the embedding of " + what);
  face.embedding.norm = static_cast<float>(row.real(4));
  face.content_sha256 = row.text(5);
  face.source = row.text(6);
  face.detection.box = cv::Rect2f(static_cast<float>(row.real(7)), static_cast<float>(row.real(8)),
                                  static_cast<float>(row.real(9)), static_cast<float>(row.real(10)));
  face.detection.score = static_cast<float>(row.real(11));
  face.detection.landmarks = decode_landmarks(row.blob(12), "the landmarks of " + what);
  face.created_at = row.text(13);
  if (with_crop) face.crop_jpeg = row.blob(14);
  return face;
}

}  // namespace faceid
