#pragma once
// The top-k scan shared by the indexes that read every row. Only files compiled
// with OpenMP include it.
#include <omp.h>

#include <algorithm>
#include <queue>
#include <vector>

#include "matching/exact_index.hpp"

namespace faceid {

// Below this many bytes per query one thread scans faster than waking a second one.
constexpr std::size_t kParallelScanBytes = std::size_t{16} << 20;

// The k best of rows [begin, end) by hit_of(row) -> IndexHit, best first. A size-k
// heap whose top is the worst kept hit: one pass, no n-sized buffer.
template <typename HitOf>
std::vector<IndexHit> top_k_of_rows(std::size_t begin, std::size_t end, std::size_t k, const HitOf& hit_of) {
  std::priority_queue<IndexHit, std::vector<IndexHit>, decltype(&hit_before)> kept(hit_before);
  for (std::size_t i = begin; i < end; ++i) {
    const IndexHit hit = hit_of(i);
    if (kept.size() < k) {
      kept.push(hit);
    } else if (hit_before(hit, kept.top())) {
      kept.pop();
      kept.push(hit);
    }
  }
  std::vector<IndexHit> hits(kept.size());
  for (std::size_t i = hits.size(); i-- > 0; kept.pop()) hits[i] = kept.top();
  return hits;
}

// top_k_of_rows over all n rows, split over the OpenMP threads when a query reads
// enough bytes to pay for them: each thread keeps the top k of its slice, and the
// merged slices hold the global top k.
template <typename HitOf>
std::vector<IndexHit> scan_top_k(std::size_t n, std::size_t row_bytes, std::size_t k, const HitOf& hit_of) {
  k = std::min(n, k);
  if (k == 0) return {};
  const int threads = n * row_bytes < kParallelScanBytes ? 1 : std::max(1, omp_get_max_threads());
  if (threads == 1) return top_k_of_rows(0, n, k, hit_of);
  std::vector<std::vector<IndexHit>> parts(threads);
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) parts[t] = top_k_of_rows(n * t / threads, n * (t + 1) / threads, k, hit_of);
  std::vector<IndexHit> hits;
  for (const auto& part : parts) hits.insert(hits.end(), part.begin(), part.end());
  std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), hit_before);
  hits.resize(k);
  return hits;
}

}  // namespace faceid
