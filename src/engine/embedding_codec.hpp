#pragma once
// The portable embeddings file of `faceid export` / `faceid import`.
#include <map>
#include <string>
#include <vector>

#include "faceid/store.hpp"

namespace faceid {

struct EmbeddingsFile {
  std::string model_id;
  std::map<std::string, std::vector<FaceRecord>> people;
};

// JSON: {"format":"faceid-embeddings","version":1,"model_id":...,"people":[{"name":...,
// "faces":[{"sha256":...,"source":...,"norm":...,"embedding":"<base64 float32 LE>"}]}]}.
void write_embeddings_file(const std::string& path, const std::string& model_id,
                           const std::vector<FaceRecord>& faces);
// Throws Error(kBadRequest) naming what is wrong.
EmbeddingsFile read_embeddings_file(const std::string& path);

std::string base64_encode(const void* data, std::size_t size);
std::vector<std::uint8_t> base64_decode(const std::string& text);  // Error(kBadRequest)

}  // namespace faceid
