#pragma once
// In-memory search over unit embeddings, and person-level matching on top of it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceid/metric.hpp"
#include "faceid/types.hpp"

namespace faceid {

struct IndexHit {
  std::int64_t id = 0;
  float cosine = 0.f;  // inner product of the unit vectors
};

// Nearest-neighbour index over unit vectors, keyed by caller-chosen ids.
// Not internally synchronised: the gallery guards it.
class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual void add(std::int64_t id, const float* unit) = 0;
  virtual bool remove(std::int64_t id) = 0;
  // The k hits with the highest cosine, best first.
  virtual std::vector<IndexHit> search(const float* unit_query, int k) const = 0;
  virtual std::size_t size() const = 0;
  virtual int dim() const = 0;
};

// Brute-force inner products over one contiguous row-major matrix.
std::unique_ptr<VectorIndex> create_exact_index(int dim);

enum class MatchPolicy { kMax, kMeanTemplate, kTopKMean };

const char* match_policy_name(MatchPolicy policy);  // "max", "mean", "topk"
std::optional<MatchPolicy> parse_match_policy(const std::string& name);

struct MatchOptions {
  Metric metric = Metric::kCosine;
  MatchPolicy policy = MatchPolicy::kMax;
  int top_k = 3;  // faces averaged by kTopKMean
};

// All enrolled faces of all people, grouped by person, searchable by embedding.
class PersonIndex {
 public:
  explicit PersonIndex(int dim);
  ~PersonIndex();
  PersonIndex(PersonIndex&&) noexcept;
  PersonIndex& operator=(PersonIndex&&) noexcept;

  void add_face(std::int64_t face_id, const std::string& person, const Embedding& embedding);
  bool remove_face(std::int64_t face_id);
  void remove_person(const std::string& person);
  void rename_person(const std::string& from, const std::string& to);
  void clear();

  // People ranked best first under `options`, at most `limit` of them.
  std::vector<MatchCandidate> rank(const Embedding& query, const MatchOptions& options,
                                   int limit) const;

  std::size_t face_count() const;
  std::size_t person_count() const;
  int dim() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace faceid
