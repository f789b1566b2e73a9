#include "engine/embedding_codec.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "faceid/error.hpp"

namespace faceid {

std::string base64_encode(const void* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      static_cast<const unsigned char*>(data), static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::vector<std::uint8_t> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) throw Error(ErrorCode::kBadRequest, "invalid base64 length");
  std::vector<std::uint8_t> out(3 * text.size() / 4);
  const int written = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (written < 0) throw Error(ErrorCode::kBadRequest, "invalid base64 data");
  // EVP_DecodeBlock counts padding as zero bytes: drop them.
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

void write_embeddings_file(const std::string& path, const std::string& model_id,
                           const std::vector<FaceRecord>& faces) {
  std::map<std::string, nlohmann::json> people;
  for (const auto& face : faces) {
    people[face.person].push_back({{"sha256", face.content_sha256},
                                   {"source", face.source},
                                   {"norm", face.embedding.norm},
                                   {"embedding", base64_encode(face.embedding.unit.data(),
                                                               face.embedding.unit.size() * sizeof(float))}});
  }
  nlohmann::json root = {{"format", "faceid-embeddings"}, {"version", 1}, {"model_id", model_id},
                         {"people", nlohmann::json::array()}};
  for (auto& [name, list] : people) root["people"].push_back({{"name", name}, {"faces", list}});
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << root.dump() << "\n";
    if (!out.flush()) throw Error(ErrorCode::kIo, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::kIo, "cannot write " + path + ": " + ec.message());
}

EmbeddingsFile read_embeddings_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot open " + path);
  EmbeddingsFile file;
  try {
    const auto root = nlohmann::json::parse(in);
    if (root.value("format", "") != "faceid-embeddings")
      throw Error(ErrorCode::kBadRequest, path + " is not a FaceID embeddings file");
    file.model_id = root.at("model_id").get<std::string>();
    for (const auto& person : root.at("people")) {
      const std::string name = person.at("name").get<std::string>();
      for (const auto& face : person.at("faces")) {
        FaceRecord record;
        record.person = name;
        record.model_id = file.model_id;
        record.content_sha256 = face.at("sha256").get<std::string>();
        record.source = face.value("source", "import");
        record.embedding.norm = face.at("norm").get<float>();
        const auto bytes = base64_decode(face.at("embedding").get<std::string>());
        if (bytes.empty() || bytes.size() % sizeof(float) != 0)
          throw Error(ErrorCode::kBadRequest, path + ": embedding of " + name + " has a bad length");
        record.embedding.unit.resize(bytes.size() / sizeof(float));
        std::memcpy(record.embedding.unit.data(), bytes.data(), bytes.size());
        file.people[name].push_back(std::move(record));
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kBadRequest, path + ": invalid embeddings file: " + e.what());
  }
  return file;
}

}  // namespace faceid
