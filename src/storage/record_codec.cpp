#include "storage/record_codec.hpp"

#include <cmath>
#include <cstring>
#include <set>

#include "faceid/error.hpp"

namespace faceid {
namespace {

constexpr std::size_t kMaxNameBytes = 128;
// Embeddings arrive as float32: their squared length drifts from 1 by ~1e-6 per component.
constexpr double kUnitTolerance = 1e-3;

// Length of the UTF-8 sequence starting at `text[i]`, or 0 when it is malformed.
std::size_t utf8_sequence_length(const std::string& text, std::size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    code = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    code = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3f);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  static const std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinimum[length] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return 0;
  return length;
}

bool finite(float value) { return std::isfinite(value); }

}  // namespace

void validate_person_name(const std::string& name) {
  if (name.empty()) throw Error(ErrorCode::kBadRequest, "a person's name must not be empty");
  if (name.size() > kMaxNameBytes)
    throw Error(ErrorCode::kBadRequest, "the person's name '" + name.substr(0, 32) + "...' is longer than " +
                                            std::to_string(kMaxNameBytes) + " bytes");
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f)
      throw Error(ErrorCode::kBadRequest, "a person's name must not contain control characters");
    if (c == '/') throw Error(ErrorCode::kBadRequest, "the person's name '" + name + "' contains '/'");
    const std::size_t length = utf8_sequence_length(name, i);
    if (length == 0) throw Error(ErrorCode::kBadRequest, "a person's name must be valid UTF-8");
    i += length;
  }
}

void validate_embedding(const Embedding& embedding, const std::string& owner) {
  if (embedding.unit.empty()) throw Error(ErrorCode::kBadRequest, owner + ": the embedding is empty");
  double squared = 0.0;
  for (float v : embedding.unit) {
    if (!finite(v)) throw Error(ErrorCode::kBadRequest, owner + ": the embedding has a non-finite value");
    squared += static_cast<double>(v) * v;
  }
  if (std::abs(squared - 1.0) > kUnitTolerance)
    throw Error(ErrorCode::kBadRequest, owner + ": the embedding is not of unit length (length " +
                                            std::to_string(std::sqrt(squared)) + ")");
  if (!finite(embedding.norm) || embedding.norm <= 0.f)
    throw Error(ErrorCode::kBadRequest, owner + ": the embedding norm must be finite and positive");
}

std::string validate_face_batch(const std::vector<FaceRecord>& faces) {
  if (faces.empty()) throw Error(ErrorCode::kBadRequest, "no faces to add");
  const FaceRecord& first = faces.front();
  std::set<std::string> hashes;
  for (const auto& face : faces) {
    const std::string owner = "face from '" + face.source + "'";
    validate_embedding(face.embedding, owner);
    if (face.embedding.unit.size() != first.embedding.unit.size())
      throw Error(ErrorCode::kModelMismatch, owner + " has a " + std::to_string(face.embedding.unit.size()) +
                                                 "-d embedding but '" + first.source + "' a " +
                                                 std::to_string(first.embedding.unit.size()) + "-d one");
    if (face.model_id != first.model_id)
      throw Error(ErrorCode::kModelMismatch, "one batch mixes embeddings of models '" + first.model_id +
                                                 "' and '" + face.model_id + "'");
    if (face.content_sha256.empty())
      throw Error(ErrorCode::kBadRequest, owner + " has no content hash");
    if (!hashes.insert(face.content_sha256).second)
      throw Error(ErrorCode::kConflict, owner + " appears twice in the batch (same image content)");
    const auto& d = face.detection;
    bool finite_detection = finite(d.box.x) && finite(d.box.y) && finite(d.box.width) &&
                            finite(d.box.height) && finite(d.score);
    for (const auto& p : d.landmarks) finite_detection = finite_detection && finite(p.x) && finite(p.y);
    if (!finite_detection) throw Error(ErrorCode::kBadRequest, owner + " has a non-finite detection");
  }
  return first.model_id;
}

std::string batch_model_for(const std::string& batch_model, const std::string& bound) {
  const std::string model = batch_model.empty() ? bound : batch_model;
  if (model.empty()) throw Error(ErrorCode::kBadRequest, "the faces carry no model id and the gallery has none");
  if (!bound.empty() && model != bound)
    throw Error(ErrorCode::kModelMismatch, "faces of model " + model + " cannot join a gallery of model " + bound +
                                               "; run `faceid reindex` first");
  return model;
}

void require_same_dim(std::size_t stored_dim, std::size_t dim) {
  if (stored_dim != dim)
    throw Error(ErrorCode::kModelMismatch, "the gallery holds " + std::to_string(stored_dim) +
                                               "-d embeddings, not " + std::to_string(dim) + "-d ones");
}

Error model_mismatch(const std::string& bound, const std::string& wanted) {
  return Error(ErrorCode::kModelMismatch, "the gallery holds embeddings of model " + bound + ", not " + wanted +
                                              "; run `faceid reindex` to convert it");
}

Error person_not_found(const std::string& name) {
  return Error(ErrorCode::kNotFound, "no person named '" + name + "' in the gallery");
}

void validate_replacements(const std::string& model_id,
                           const std::vector<std::pair<std::int64_t, Embedding>>& embeddings) {
  if (model_id.empty()) throw Error(ErrorCode::kBadRequest, "cannot reindex to an empty model id");
  std::set<std::int64_t> ids;
  for (const auto& [id, embedding] : embeddings) {
    validate_embedding(embedding, "face " + std::to_string(id));
    if (embedding.unit.size() != embeddings.front().second.unit.size())
      throw Error(ErrorCode::kModelMismatch, "the new embeddings do not all have the same dimension");
    if (!ids.insert(id).second)
      throw Error(ErrorCode::kBadRequest, "face " + std::to_string(id) + " is given two new embeddings");
  }
}

void require_every_face_replaced(std::int64_t stored, std::size_t given) {
  if (stored != static_cast<std::int64_t>(given))
    throw Error(ErrorCode::kConflict, "the gallery holds " + std::to_string(stored) + " faces but " +
                                          std::to_string(given) +
                                          " new embeddings were given; it changed meanwhile, run the reindex again");
}

bool change_log_covers(std::int64_t since, std::int64_t current) {
  // A reader ahead of the store saw a gallery that was since deleted and created anew.
  return since >= 0 && since <= current && current - since <= kChangeLogVersions;
}

std::vector<std::uint8_t> encode_floats(const float* values, std::size_t count) {
  std::vector<std::uint8_t> bytes(count * 4);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<std::uint8_t>(bits >> (8 * b));
  }
  return bytes;
}

std::vector<float> decode_floats(const std::vector<std::uint8_t>& bytes, const std::string& what) {
  if (bytes.size() % 4 != 0)
    throw Error(ErrorCode::kCorruptStore, what + " is damaged (" + std::to_string(bytes.size()) +
                                              " bytes is not a whole number of floats)");
  std::vector<float> values(bytes.size() / 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= static_cast<std::uint32_t>(bytes[4 * i + b]) << (8 * b);
    std::memcpy(&values[i], &bits, 4);
  }
  return values;
}

std::vector<std::uint8_t> encode_landmarks(const Landmarks5& points) {
  float xy[10];
  for (std::size_t i = 0; i < points.size(); ++i) {
    xy[2 * i] = points[i].x;
    xy[2 * i + 1] = points[i].y;
  }
  return encode_floats(xy, 10);
}

Landmarks5 decode_landmarks(const std::vector<std::uint8_t>& bytes, const std::string& what) {
  const auto xy = decode_floats(bytes, what);
  if (xy.size() != 10)
    throw Error(ErrorCode::kCorruptStore, what + " is damaged (" + std::to_string(xy.size()) + " values, not 10)");
  Landmarks5 points;
  for (std::size_t i = 0; i < points.size(); ++i) points[i] = cv::Point2f(xy[2 * i], xy[2 * i + 1]);
  return points;
}

}  // namespace faceid
