#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "faceid/index.hpp"

namespace faceid {
namespace {

Embedding random_embedding(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal;
  Embedding e;
  e.unit.resize(dim);
  double length = 0;
  for (auto& v : e.unit) {
    v = normal(rng);
    length += v * v;
  }
  for (auto& v : e.unit) v = static_cast<float>(v / std::sqrt(length));
  e.norm = 1.f + std::uniform_real_distribution<float>(0.f, 30.f)(rng);
  return e;
}

double naive_dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

TEST(ExactIndex, SameAnswerAsANaiveLoop) {
  std::mt19937 rng(1);
  const int dim = 512;
  auto index = create_exact_index(dim);
  std::vector<Embedding> stored;
  for (int i = 0; i < 700; ++i) {
    stored.push_back(random_embedding(rng, dim));
    index->add(1000 + i, stored.back().unit.data());
  }
  for (int q = 0; q < 20; ++q) {
    const Embedding query = random_embedding(rng, dim);
    std::vector<std::pair<double, std::int64_t>> naive;
    for (int i = 0; i < 700; ++i) naive.emplace_back(naive_dot(stored[i].unit, query.unit), 1000 + i);
    std::sort(naive.rbegin(), naive.rend());
    const auto hits = index->search(query.unit.data(), 10);
    ASSERT_EQ(hits.size(), 10u);
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ(hits[k].id, naive[k].second);
      EXPECT_NEAR(hits[k].cosine, naive[k].first, 1e-5);
    }
  }
}

TEST(ExactIndex, RemoveKeepsTheOthersSearchable) {
  std::mt19937 rng(2);
  auto index = create_exact_index(64);
  std::vector<Embedding> stored;
  for (int i = 0; i < 50; ++i) {
    stored.push_back(random_embedding(rng, 64));
    index->add(i, stored.back().unit.data());
  }
  EXPECT_TRUE(index->remove(0));
  EXPECT_FALSE(index->remove(0));
  EXPECT_TRUE(index->remove(25));
  EXPECT_EQ(index->size(), 48u);
  for (int i : {1, 24, 26, 49}) {
    const auto hits = index->search(stored[i].unit.data(), 1);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].id, i);
    EXPECT_NEAR(hits[0].cosine, 1.0, 1e-5);
  }
  EXPECT_NE(index->search(stored[0].unit.data(), 1)[0].id, 0);
}

// Person scores computed the slow, obvious way, to check PersonIndex against.
float naive_person_score(const std::vector<Embedding>& faces, const Embedding& query, const MatchOptions& o) {
  std::vector<float> scores;
  for (const auto& f : faces) scores.push_back(compare(f, query, o.metric));
  std::sort(scores.begin(), scores.end(), [&](float a, float b) { return better(o.metric, a, b); });
  if (o.policy == MatchPolicy::kMax) return scores.front();
  if (o.policy == MatchPolicy::kTopKMean) {
    const std::size_t k = std::min<std::size_t>(o.top_k, scores.size());
    double s = 0;
    for (std::size_t i = 0; i < k; ++i) s += scores[i];
    return static_cast<float>(s / k);
  }
  std::vector<double> sum(query.unit.size(), 0.0);
  for (const auto& f : faces)
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += double(f.unit[i]) * f.norm;
  double length = 0;
  for (double v : sum) length += v * v;
  length = std::sqrt(length);
  Embedding mean;
  for (double v : sum) mean.unit.push_back(static_cast<float>(v / length));
  mean.norm = static_cast<float>(length / faces.size());
  return compare(mean, query, o.metric);
}

TEST(PersonIndex, EveryPolicyAndMetricMatchesTheNaiveComputation) {
  std::mt19937 rng(3);
  const int dim = 32;
  PersonIndex index(dim);
  std::map<std::string, std::vector<Embedding>> people;
  std::int64_t id = 1;
  for (int p = 0; p < 12; ++p) {
    const std::string name = "person" + std::to_string(p);
    for (int f = 0; f < 1 + p % 5; ++f) {
      people[name].push_back(random_embedding(rng, dim));
      index.add_face(id++, name, people[name].back());
    }
  }
  for (Metric metric : {Metric::kCosine, Metric::kEuclidean, Metric::kEuclideanL2}) {
    for (MatchPolicy policy : {MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean}) {
      const MatchOptions options{metric, policy, 3};
      const Embedding query = random_embedding(rng, dim);
      const auto ranked = index.rank(query, options, 100);
      ASSERT_EQ(ranked.size(), people.size());
      for (std::size_t i = 0; i < ranked.size(); ++i) {
        EXPECT_NEAR(ranked[i].score, naive_person_score(people[ranked[i].person], query, options), 1e-4)
            << metric_name(metric) << "/" << match_policy_name(policy) << " " << ranked[i].person;
        if (i > 0) EXPECT_FALSE(better(metric, ranked[i].score, ranked[i - 1].score));
      }
    }
  }
}

TEST(PersonIndex, RemoveAndRenameUpdateTemplates) {
  std::mt19937 rng(4);
  PersonIndex index(16);
  const Embedding a1 = random_embedding(rng, 16), a2 = random_embedding(rng, 16), b1 = random_embedding(rng, 16);
  index.add_face(1, "alice", a1);
  index.add_face(2, "alice", a2);
  index.add_face(3, "bob", b1);
  EXPECT_TRUE(index.remove_face(2));
  const MatchOptions mean{Metric::kCosine, MatchPolicy::kMeanTemplate, 3};
  auto ranked = index.rank(a1, mean, 1);
  ASSERT_EQ(ranked.size(), 1u);
  EXPECT_EQ(ranked[0].person, "alice");
  EXPECT_NEAR(ranked[0].score, 1.0, 1e-5);  // alice's template is a1 alone now
  index.rename_person("alice", "carol");
  EXPECT_EQ(index.rank(a1, mean, 1)[0].person, "carol");
  index.remove_person("carol");
  EXPECT_EQ(index.person_count(), 1u);
  EXPECT_EQ(index.face_count(), 1u);
  EXPECT_EQ(index.rank(a1, mean, 5).size(), 1u);
}

TEST(MatchPolicy, NamesRoundTrip) {
  for (MatchPolicy p : {MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean})
    EXPECT_EQ(parse_match_policy(match_policy_name(p)), p);
  EXPECT_FALSE(parse_match_policy("median").has_value());
}

}  // namespace
}  // namespace faceid
