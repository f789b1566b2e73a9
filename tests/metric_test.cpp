#include <cmath>

#include <gtest/gtest.h>

#include "faceid/error.hpp"
#include "faceid/metric.hpp"

namespace faceid {
namespace {

// Raw vectors a = (2, 0) and b = (1.8, 2.4): norms 2 and 3, unit cosine 0.6.
Embedding a_vec() { return Embedding{{1.f, 0.f}, 2.f}; }
Embedding b_vec() { return Embedding{{0.6f, 0.8f}, 3.f}; }

TEST(Metric, CosineMatchesHandComputedValue) { EXPECT_NEAR(compare(a_vec(), b_vec(), Metric::kCosine), 0.6f, 1e-6); }

TEST(Metric, EuclideanL2IsTheDistanceOfUnitVectors) {
  // |(1,0) - (0.6,0.8)| = sqrt(0.16 + 0.64)
  EXPECT_NEAR(compare(a_vec(), b_vec(), Metric::kEuclideanL2), std::sqrt(0.8f), 1e-6);
}

TEST(Metric, EuclideanIsTheDistanceOfRawVectors) {
  // |(2,0) - (1.8,2.4)| = sqrt(0.04 + 5.76)
  EXPECT_NEAR(compare(a_vec(), b_vec(), Metric::kEuclidean), std::sqrt(5.8f), 1e-5);
}

TEST(Metric, DirectionsAndThresholds) {
  EXPECT_TRUE(higher_is_better(Metric::kCosine));
  EXPECT_FALSE(higher_is_better(Metric::kEuclideanL2));
  EXPECT_TRUE(accepts(Metric::kCosine, 0.5f, 0.4f));
  EXPECT_FALSE(accepts(Metric::kCosine, 0.3f, 0.4f));
  EXPECT_TRUE(accepts(Metric::kEuclideanL2, 0.9f, 1.1f));
  EXPECT_FALSE(accepts(Metric::kEuclidean, 2.f, 1.f));
  EXPECT_TRUE(better(Metric::kEuclidean, 1.f, 2.f));
  EXPECT_TRUE(better(Metric::kCosine, 0.9f, 0.2f));
}

TEST(Metric, NamesRoundTrip) {
  for (Metric m : {Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2})
    EXPECT_EQ(parse_metric(metric_name(m)), m);
  EXPECT_FALSE(parse_metric("manhattan").has_value());
}

TEST(Metric, DifferentLengthsAreAModelMismatch) {
  try {
    compare(a_vec(), Embedding{{1.f, 0.f, 0.f}, 1.f}, Metric::kCosine);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelMismatch);
  }
}

}  // namespace
}  // namespace faceid
