#include "matching/exact_index.hpp"

#include <algorithm>
#include <cstring>

#include "faceid/error.hpp"

namespace faceid {

// One binary serves old and new x86 CPUs: the loader picks the AVX2/FMA clone when available.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2,fma", "default")))
#endif
float dot_product(const float* a, const float* b, int n) {
  float sum = 0.f;
#pragma GCC ivdep
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

ExactIndex::ExactIndex(int dim) : dim_(dim) {
  if (dim <= 0) throw Error(ErrorCode::kBadRequest, "index dimension must be positive");
}

void ExactIndex::add(std::int64_t id, const float* unit) {
  if (row_of_.count(id)) throw Error(ErrorCode::kConflict, "index already holds id " + std::to_string(id));
  row_of_[id] = ids_.size();
  ids_.push_back(id);
  rows_.insert(rows_.end(), unit, unit + dim_);
}

bool ExactIndex::remove(std::int64_t id) {
  const auto it = row_of_.find(id);
  if (it == row_of_.end()) return false;
  // Move the last row into the hole: O(dim) per delete, no rebuild.
  const std::size_t row = it->second, last = ids_.size() - 1;
  if (row != last) {
    std::memcpy(&rows_[row * dim_], &rows_[last * dim_], sizeof(float) * dim_);
    ids_[row] = ids_[last];
    row_of_[ids_[row]] = row;
  }
  ids_.pop_back();
  rows_.resize(ids_.size() * dim_);
  row_of_.erase(it);
  return true;
}

const float* ExactIndex::vector(std::int64_t id) const {
  const auto it = row_of_.find(id);
  return it == row_of_.end() ? nullptr : &rows_[it->second * dim_];
}

std::vector<IndexHit> ExactIndex::search(const float* unit_query, int k) const {
  const std::size_t n = ids_.size();
  std::vector<IndexHit> hits(n);
  for (std::size_t i = 0; i < n; ++i) hits[i] = {ids_[i], dot_product(&rows_[i * dim_], unit_query, dim_)};
  const std::size_t keep = std::min<std::size_t>(n, static_cast<std::size_t>(std::max(0, k)));
  const auto by_score = [](const IndexHit& a, const IndexHit& b) {
    return a.cosine != b.cosine ? a.cosine > b.cosine : a.id < b.id;
  };
  std::partial_sort(hits.begin(), hits.begin() + keep, hits.end(), by_score);
  hits.resize(keep);
  return hits;
}

std::unique_ptr<VectorIndex> create_exact_index(int dim) { return std::make_unique<ExactIndex>(dim); }

}  // namespace faceid
