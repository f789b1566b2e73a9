// Cohort score normalisation: the math against hand-computed values, and the gallery's
// cached cohort kept current on enroll / remove / rename.
#include <cmath>

#include <gtest/gtest.h>

#include "faceid/score_norm.hpp"

namespace faceid {
namespace {

Embedding unit(float x, float y) {
  const float n = std::sqrt(x * x + y * y);
  return Embedding{{x / n, y / n}, 1.f};
}

TEST(ScoreNorm, StatisticsOfAllScores) {
  // {1, 2, 3, 4}: mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
  const CohortStats s = cohort_stats({1.f, 2.f, 3.f, 4.f}, Metric::kCosine, 0);
  EXPECT_NEAR(s.mean, 2.5f, 1e-6);
  EXPECT_NEAR(s.std, std::sqrt(1.25f), 1e-6);
}

TEST(ScoreNorm, AdaptiveStatisticsKeepTheBestScoresOfTheMetric) {
  // Similarities keep the highest {4, 3}; distances the smallest {1, 2}.
  const CohortStats similar = cohort_stats({1.f, 4.f, 2.f, 3.f}, Metric::kCosine, 2);
  EXPECT_NEAR(similar.mean, 3.5f, 1e-6);
  EXPECT_NEAR(similar.std, 0.5f, 1e-6);
  const CohortStats near = cohort_stats({1.f, 4.f, 2.f, 3.f}, Metric::kEuclideanL2, 2);
  EXPECT_NEAR(near.mean, 1.5f, 1e-6);
  EXPECT_NEAR(near.std, 0.5f, 1e-6);
  // top_k beyond the cohort size uses every score.
  EXPECT_NEAR(cohort_stats({1.f, 3.f}, Metric::kCosine, 10).mean, 2.f, 1e-6);
}

TEST(ScoreNorm, ZeroSpreadDoesNotDivideByZero) {
  const CohortStats s = cohort_stats({0.3f, 0.3f, 0.3f}, Metric::kCosine, 0);
  EXPECT_NEAR(s.mean, 0.3f, 1e-6);
  EXPECT_GT(s.std, 0.f);
  EXPECT_TRUE(std::isfinite(normalize_score(0.5f, ScoreNorm::kZNorm, s, s)));
}

TEST(ScoreNorm, FormulasMatchHandComputedValues) {
  const CohortStats enrolled{0.2f, 0.1f}, probe{0.3f, 0.2f};
  EXPECT_NEAR(normalize_score(0.8f, ScoreNorm::kNone, enrolled, probe), 0.8f, 1e-6);
  EXPECT_NEAR(normalize_score(0.8f, ScoreNorm::kZNorm, enrolled, probe), 6.0f, 1e-5);   // (0.8-0.2)/0.1
  EXPECT_NEAR(normalize_score(0.8f, ScoreNorm::kTNorm, enrolled, probe), 2.5f, 1e-5);   // (0.8-0.3)/0.2
  EXPECT_NEAR(normalize_score(0.8f, ScoreNorm::kSNorm, enrolled, probe), 4.25f, 1e-5);  // (6+2.5)/2
  EXPECT_NEAR(normalize_score(0.8f, ScoreNorm::kAdaptiveSNorm, enrolled, probe), 4.25f, 1e-5);
  // A distance below its cohort mean becomes negative: lower stays better.
  EXPECT_LT(normalize_score(0.5f, ScoreNorm::kZNorm, {1.2f, 0.1f}, {1.2f, 0.1f}), 0.f);
}

TEST(ScoreNorm, NamesAndThresholdKeys) {
  for (ScoreNorm n : {ScoreNorm::kNone, ScoreNorm::kZNorm, ScoreNorm::kTNorm, ScoreNorm::kSNorm,
                      ScoreNorm::kAdaptiveSNorm})
    EXPECT_EQ(parse_score_norm(score_norm_name(n)), n);
  EXPECT_FALSE(parse_score_norm("snorm2"));
  EXPECT_EQ(threshold_key(Metric::kCosine, ScoreNorm::kNone), "cosine");
  EXPECT_EQ(threshold_key(Metric::kEuclideanL2, ScoreNorm::kAdaptiveSNorm), "euclidean_l2/asnorm");
}

TEST(ScoreNorm, CohortStatisticsLeaveThePersonOut) {
  Cohort cohort;
  cohort.add(1, "p", unit(1, 0));
  cohort.add(2, "q", unit(0, 1));
  cohort.add(3, "", unit(0.6f, 0.8f));
  const auto scores = cohort.scores(unit(1, 0), Metric::kCosine);  // 1, 0, 0.6
  NormOptions options;
  options.norm = ScoreNorm::kSNorm;
  const CohortStats all = stats_excluding(scores, "", Metric::kCosine, options);
  EXPECT_NEAR(all.mean, 1.6f / 3.f, 1e-6);
  const CohortStats without_p = stats_excluding(scores, "p", Metric::kCosine, options);  // {0, 0.6}
  EXPECT_NEAR(without_p.mean, 0.3f, 1e-6);
  EXPECT_NEAR(without_p.std, 0.3f, 1e-6);
  options.norm = ScoreNorm::kAdaptiveSNorm;
  options.top_k = 1;
  EXPECT_NEAR(stats_excluding(scores, "p", Metric::kCosine, options).mean, 0.6f, 1e-6);
  cohort.rename_person("q", "r");
  cohort.remove_person("p");
  EXPECT_EQ(cohort.size(), 2u);
  EXPECT_FALSE(cohort.contains(1));
}

// Two enrolled people; "a" looks like the extra cohort faces (a crowded region of face
// space), "b" does not. A probe at equal raw distance from both must go to "b" once the
// scores are normalised: "a"'s raw score is what anybody gets against "a".
class GalleryNormalizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options.norm = ScoreNorm::kSNorm;
    options.min_cohort = 4;
    normalizer = std::make_unique<GalleryNormalizer>(Metric::kCosine, options);
    normalizer->add_face(1, "a", unit(1, 0.1f));
    normalizer->add_face(2, "b", unit(0.1f, 1));
    normalizer->add_extra({unit(1, 0.2f), unit(1, 0.3f), unit(1, -0.2f), unit(0.9f, 0.1f), unit(0.3f, 1)});
  }
  NormOptions options;
  std::unique_ptr<GalleryNormalizer> normalizer;
};

// The first user enrolled with many photos: the cohort holds only their own faces, which never
// count against them, so scores stay raw (and the raw threshold applies) until other people's
// faces make min_cohort without them.
TEST(GalleryNormalizer, StaysRawUntilTheCohortHoldsEnoughOtherPeople) {
  NormOptions options;
  options.norm = ScoreNorm::kAdaptiveSNorm;
  options.min_cohort = 4;
  GalleryNormalizer normalizer(Metric::kCosine, options);
  for (int i = 0; i < 6; ++i) normalizer.add_face(i + 1, "first", unit(1, 0.1f * i));
  EXPECT_EQ(normalizer.cohort_size(), 6u);
  EXPECT_FALSE(normalizer.active()) << "normalised against nobody";
  const Embedding probe = unit(1, 0.05f);
  EXPECT_FLOAT_EQ(normalizer.normalize(probe, {{"first", 0.9f}}).front().score, 0.9f);
  for (int i = 0; i < 3; ++i) normalizer.add_face(10 + i, "second", unit(0.1f * i, 1));
  EXPECT_FALSE(normalizer.active()) << "3 faces besides the first person's 6";
  normalizer.add_face(20, "third", unit(-1, 0.2f));
  EXPECT_TRUE(normalizer.active());
}

TEST_F(GalleryNormalizerTest, NormalisationReordersCandidates) {
  ASSERT_TRUE(normalizer->active());
  EXPECT_EQ(normalizer->cohort_size(), 7u);
  const Embedding probe = unit(1, 1);
  // Equal raw scores (cos 45 deg - a little); "a" is listed first.
  const float raw = compare(probe, unit(1, 0.1f), Metric::kCosine);
  const auto ranked = normalizer->normalize(probe, {{"a", raw}, {"b", raw}});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].person, "b");
  EXPECT_GT(ranked[0].score, ranked[1].score);
}

TEST_F(GalleryNormalizerTest, StatisticsFollowEnrolAndRemove) {
  const Embedding probe = unit(1, 1);
  const float raw = compare(probe, unit(0.1f, 1), Metric::kCosine);
  const float before = normalizer->normalize(probe, {{"b", raw}}).front().score;
  // A second person near "b" makes "b"'s region crowded: the same raw score counts for less.
  normalizer->add_face(3, "c", unit(0.15f, 1));
  normalizer->add_face(4, "d", unit(0.05f, 1));
  const float crowded = normalizer->normalize(probe, {{"b", raw}}).front().score;
  EXPECT_LT(crowded, before);
  normalizer->remove_person("c");
  normalizer->remove_face(4);
  EXPECT_NEAR(normalizer->normalize(probe, {{"b", raw}}).front().score, before, 1e-5);
  normalizer->rename_person("b", "e");
  EXPECT_NEAR(normalizer->normalize(probe, {{"e", raw}}).front().score, before, 1e-5);
}

TEST_F(GalleryNormalizerTest, SmallCohortOrNoNormKeepsRawScores) {
  GalleryNormalizer small(Metric::kCosine, options);
  small.add_face(1, "a", unit(1, 0));
  EXPECT_FALSE(small.active());
  EXPECT_EQ(small.norm(), ScoreNorm::kNone);
  EXPECT_FLOAT_EQ(small.normalize(unit(1, 1), {{"a", 0.7f}}).front().score, 0.7f);
  EXPECT_FLOAT_EQ(small.normalize_pair(unit(1, 1), unit(1, 0), 0.7f), 0.7f);
  GalleryNormalizer none(Metric::kCosine, NormOptions{});
  none.add_extra({unit(1, 0), unit(0, 1), unit(1, 1), unit(1, 2), unit(2, 1)});
  EXPECT_FALSE(none.active());
}

TEST_F(GalleryNormalizerTest, PairScoreUsesBothSides) {
  // Neither side is enrolled: statistics over the whole cohort, (z + t) / 2.
  const Embedding a = unit(1, 0), b = unit(0.8f, 0.6f);
  const float raw = compare(a, b, Metric::kCosine);
  Cohort cohort;
  const Embedding members[] = {unit(1, 0.1f), unit(0.1f, 1), unit(1, 0.2f), unit(1, 0.3f), unit(1, -0.2f),
                               unit(0.9f, 0.1f), unit(0.3f, 1)};
  for (int i = 0; i < 7; ++i) cohort.add(i, "", members[i]);
  const CohortStats sa = stats_excluding(cohort.scores(a, Metric::kCosine), "", Metric::kCosine, options);
  const CohortStats sb = stats_excluding(cohort.scores(b, Metric::kCosine), "", Metric::kCosine, options);
  const float expected = 0.5f * ((raw - sa.mean) / sa.std + (raw - sb.mean) / sb.std);
  EXPECT_NEAR(normalizer->normalize_pair(a, b, raw), expected, 1e-4);
}

}  // namespace
}  // namespace faceid
