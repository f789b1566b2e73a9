#pragma once
// SQLite cache of detections and embeddings, so repeated evaluation runs (a grid over
// embedders, metrics and settings) compute each (image, model, setting) only once.
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "faceid/types.hpp"

struct sqlite3;

namespace faceid::eval {

class EmbeddingCache {
 public:
  // Opens or creates the cache file. Error(kIo) when it cannot.
  explicit EmbeddingCache(const std::string& path);
  ~EmbeddingCache();  // writes what is still pending
  EmbeddingCache(const EmbeddingCache&) = delete;
  EmbeddingCache& operator=(const EmbeddingCache&) = delete;

  // Outer optional: known or not; inner: a face, or none found.
  std::optional<std::optional<Detection>> detection(const std::string& key);
  std::optional<std::optional<Embedding>> embedding(const std::string& key);
  void put_detection(const std::string& key, const std::optional<Detection>& detection);
  void put_embedding(const std::string& key, const std::optional<Embedding>& embedding);
  // Writes pending entries in one transaction.
  void flush();

 private:
  struct Pending {
    std::string table, key;
    std::vector<float> values;  // empty = no face
    float norm = 0.f;
  };
  std::optional<std::optional<std::vector<float>>> lookup(const char* sql, const std::string& key, float* norm);
  void put(Pending entry);
  void flush_locked();

  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  std::vector<Pending> pending_;
};

}  // namespace faceid::eval
