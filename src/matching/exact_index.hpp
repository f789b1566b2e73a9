#pragma once
// Brute-force inner-product index over a contiguous row-major float matrix.
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "faceid/index.hpp"

namespace faceid {

// Inner product of two float vectors, vectorised for the running CPU.
float dot_product(const float* a, const float* b, int n);

// Best first by cosine, ties by id: the order every index returns.
inline bool hit_before(const IndexHit& a, const IndexHit& b) {
  return a.cosine != b.cosine ? a.cosine > b.cosine : a.id < b.id;
}

class ExactIndex final : public VectorIndex {
 public:
  explicit ExactIndex(int dim);
  void add(std::int64_t id, const float* unit) override;
  bool remove(std::int64_t id) override;
  std::vector<IndexHit> search(const float* unit_query, int k) const override;
  bool reconstruct(std::int64_t id, float* out) const override;
  std::size_t size() const override { return ids_.size(); }
  std::vector<std::int64_t> stored_ids() const override { return ids_; }
  int dim() const override { return dim_; }
  IndexKind kind() const override { return IndexKind::kExact; }
  const std::vector<std::int64_t>& ids() const { return ids_; }  // row order
  const float* rows() const { return rows_.data(); }
  std::optional<std::size_t> row_of(std::int64_t id) const;
  // The cosine of the query with row `row`.
  float score_row(std::size_t row, const float* unit_query) const {
    return dot_product(&rows_[row * dim_], unit_query, dim_);
  }

 private:
  int dim_;
  std::vector<float> rows_;  // size() x dim_, row i belongs to ids_[i]
  std::vector<std::int64_t> ids_;
  std::unordered_map<std::int64_t, std::size_t> row_of_;
};

}  // namespace faceid
