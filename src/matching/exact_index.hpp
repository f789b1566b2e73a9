#pragma once
// Brute-force inner-product index over a contiguous row-major float matrix.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "faceid/index.hpp"

namespace faceid {

// Inner product of two float vectors, vectorised for the running CPU.
float dot_product(const float* a, const float* b, int n);

class ExactIndex final : public VectorIndex {
 public:
  explicit ExactIndex(int dim);
  void add(std::int64_t id, const float* unit) override;
  bool remove(std::int64_t id) override;
  std::vector<IndexHit> search(const float* unit_query, int k) const override;
  std::size_t size() const override { return ids_.size(); }
  // The stored vector of `id`, or nullptr. Valid until the next add/remove.
  const float* vector(std::int64_t id) const;
  int dim() const override { return dim_; }

 private:
  int dim_;
  std::vector<float> rows_;  // size() x dim_, row i belongs to ids_[i]
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, std::size_t> row_of_;
};

}  // namespace faceid
