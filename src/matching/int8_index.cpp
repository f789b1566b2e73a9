#include "matching/int8_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FACEID_X86_DISPATCH 1
#endif

#include "matching/scan.hpp"

namespace faceid {
namespace {

// Symmetric 8-bit codes with the vector's own scale, so that a vector with small
// components keeps its resolution. Returns the scale.
template <typename Code>
float quantize(const float* unit, int dim, Code* codes) {
  float largest = 0.f;
  for (int i = 0; i < dim; ++i) largest = std::max(largest, std::fabs(unit[i]));
  const float scale = largest > 0.f ? largest / 127.f : 1.f;
  for (int i = 0; i < dim; ++i) codes[i] = static_cast<Code>(std::lrint(unit[i] / scale));
  return scale;
}

std::int32_t dot_codes_portable(const std::int16_t* query, const std::int8_t* row, int n) {
  std::int32_t sum = 0;
  for (int i = 0; i < n; ++i) sum += query[i] * row[i];
  return sum;
}

#ifdef FACEID_X86_DISPATCH
// The query is widened to 16 bits once; each row is widened on the fly and
// multiplied pairwise into 32-bit sums (|sum| <= 512 * 127 * 127, far from overflow).
__attribute__((target("avx2"))) std::int32_t dot_codes_avx2(const std::int16_t* query, const std::int8_t* row,
                                                              int n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0;
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i r0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i)));
    const __m256i r1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i + 16)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(r0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(query + i))));
    s1 = _mm256_add_epi32(s1,
                          _mm256_madd_epi16(r1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(query + i + 16))));
  }
  const __m256i s = _mm256_add_epi32(s0, s1);
  __m128i half = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  half = _mm_hadd_epi32(half, half);
  half = _mm_hadd_epi32(half, half);
  std::int32_t sum = _mm_cvtsi128_si32(half);
  for (; i < n; ++i) sum += query[i] * row[i];
  return sum;
}
#endif

using DotCodesFn = std::int32_t (*)(const std::int16_t*, const std::int8_t*, int);

DotCodesFn pick_dot_codes() {
#ifdef FACEID_X86_DISPATCH
  if (__builtin_cpu_supports("avx2")) return dot_codes_avx2;
#endif
  return dot_codes_portable;
}

}  // namespace

Int8ScanIndex::Int8ScanIndex(int dim) : floats_(dim) {}

void Int8ScanIndex::add(std::int64_t id, const float* unit) {
  floats_.add(id, unit);  // throws on a duplicate id before the codes change
  const int d = dim();
  codes_.resize(codes_.size() + d);
  scales_.push_back(quantize(unit, d, &codes_[codes_.size() - d]));
}

bool Int8ScanIndex::remove(std::int64_t id) {
  const auto row = floats_.row_of(id);
  if (!row) return false;
  floats_.remove(id);  // moves the last row into the hole: mirror it
  const std::size_t last = scales_.size() - 1, d = dim();
  if (*row != last) {
    std::memcpy(&codes_[*row * d], &codes_[last * d], d);
    scales_[*row] = scales_[last];
  }
  codes_.resize(last * d);
  scales_.pop_back();
  return true;
}

std::vector<IndexHit> Int8ScanIndex::search(const float* unit_query, int k) const {
  static const DotCodesFn dot_codes = pick_dot_codes();
  const int d = dim();
  const std::size_t keep = std::min(size(), static_cast<std::size_t>(std::max(0, k)));
  if (keep == 0) return {};
  std::vector<std::int16_t> query(d);
  const float query_scale = quantize(unit_query, d, query.data());
  const auto& ids = floats_.ids();
  auto candidates = scan_top_k(size(), d, rerank_count(keep), [&](std::size_t row) {
    return IndexHit{ids[row], query_scale * scales_[row] * dot_codes(query.data(), &codes_[row * d], d)};
  });
  for (auto& hit : candidates) hit.cosine = floats_.score_row(*floats_.row_of(hit.id), unit_query);
  std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(), hit_before);
  candidates.resize(keep);
  return candidates;
}

}  // namespace faceid
