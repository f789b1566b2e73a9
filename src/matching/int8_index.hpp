#pragma once
// Exact-scan index that reads 8-bit codes and re-scores its best candidates in float.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "faceid/index.hpp"
#include "matching/exact_index.hpp"

namespace faceid {

// The exact scan is bound by memory bandwidth: a query reads every float row.
// This index also keeps each vector as 8-bit codes with one scale per vector, scans
// those (a quarter of the bytes), and re-scores the best `rerank_count(k)`
// candidates on the float rows. Hits and cosines are the float ones; a true top-k
// hit is missed only if the codes rank it below that many others, which needs a
// code error far above the one measured (~1e-3 in cosine). Memory: the float
// matrix plus a quarter of it.
class Int8ScanIndex final : public VectorIndex {
 public:
  explicit Int8ScanIndex(int dim);
  void add(std::int64_t id, const float* unit) override;
  bool remove(std::int64_t id) override;
  std::vector<IndexHit> search(const float* unit_query, int k) const override;
  bool reconstruct(std::int64_t id, float* out) const override { return floats_.reconstruct(id, out); }
  std::size_t size() const override { return floats_.size(); }
  std::vector<std::int64_t> stored_ids() const override { return floats_.stored_ids(); }
  int dim() const override { return floats_.dim(); }
  IndexKind kind() const override { return IndexKind::kInt8Scan; }

  static std::size_t rerank_count(std::size_t k) { return std::max<std::size_t>(4 * k, 64); }

 private:
  ExactIndex floats_;             // row order is shared with the codes
  std::vector<std::int8_t> codes_;  // size() x dim
  std::vector<float> scales_;       // per row: value = code * scale
};

}  // namespace faceid
