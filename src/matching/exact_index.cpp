#include "matching/exact_index.hpp"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FACEID_X86_DISPATCH 1
#endif
#include "faceid/error.hpp"
#include "matching/scan.hpp"

namespace faceid {
namespace {

float dot_portable(const float* a, const float* b, int n) {
  float sum = 0.f;
  for (int i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

#ifdef FACEID_X86_DISPATCH
// Four independent accumulators hide the FMA latency, so a 512-d row costs about
// as long as reading it from memory. (A plain float loop is not vectorised at all:
// without -ffast-math the compiler may not reorder the sum.)
__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
  __m128 half = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  half = _mm_hadd_ps(half, half);
  half = _mm_hadd_ps(half, half);
  float sum = _mm_cvtss_f32(half);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}
#endif

using DotFn = float (*)(const float*, const float*, int);

DotFn pick_dot() {
#ifdef FACEID_X86_DISPATCH
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dot_avx2;
#endif
  return dot_portable;
}

}  // namespace

float dot_product(const float* a, const float* b, int n) {
  static const DotFn dot = pick_dot();
  return dot(a, b, n);
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

bool ExactIndex::reconstruct(std::int64_t id, float* out) const {
  const auto it = row_of_.find(id);
  if (it == row_of_.end()) return false;
  std::memcpy(out, &rows_[it->second * dim_], sizeof(float) * dim_);
  return true;
}

std::optional<std::size_t> ExactIndex::row_of(std::int64_t id) const {
  const auto it = row_of_.find(id);
  if (it == row_of_.end()) return std::nullopt;
  return it->second;
}

std::vector<IndexHit> ExactIndex::search(const float* unit_query, int k) const {
  return scan_top_k(ids_.size(), sizeof(float) * dim_, static_cast<std::size_t>(std::max(0, k)),
                    [&](std::size_t row) { return IndexHit{ids_[row], score_row(row, unit_query)}; });
}

std::unique_ptr<VectorIndex> create_exact_index(int dim) { return std::make_unique<ExactIndex>(dim); }

}  // namespace faceid
