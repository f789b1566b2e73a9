#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "faceid/error.hpp"
#include "faceid/index.hpp"
#include "matching/exact_index.hpp"
#include "matching/faiss_index.hpp"
#include "matching/int8_index.hpp"

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

// One person owning every near candidate must not hide the others from the ranking.
TEST(PersonIndex, MaxPolicyWidensPastAPersonWithThousandsOfFaces) {
  std::mt19937 rng(5);
  const int dim = 16;
  PersonIndex index(dim);
  const Embedding query = random_embedding(rng, dim);
  std::int64_t id = 1;
  for (int f = 0; f < 5000; ++f) {
    Embedding near = query;
    near.unit[f % dim] += 0.05f;  // all closer to the query than any random vector
    double length = 0;
    for (float v : near.unit) length += v * v;
    for (auto& v : near.unit) v = static_cast<float>(v / std::sqrt(length));
    index.add_face(id++, "crowd", near);
  }
  std::map<std::string, double> best;
  for (int p = 0; p < 4; ++p) {
    const std::string name = "person" + std::to_string(p);
    for (int f = 0; f < 3; ++f) {
      const Embedding e = random_embedding(rng, dim);
      best[name] = std::max(best.count(name) ? best[name] : -2.0, naive_dot(e.unit, query.unit));
      index.add_face(id++, name, e);
    }
  }
  const auto ranked = index.rank(query, MatchOptions{}, 3);
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked[0].person, "crowd");
  std::vector<std::pair<double, std::string>> others;
  for (const auto& [name, score] : best) others.push_back({score, name});
  std::sort(others.rbegin(), others.rend());
  EXPECT_EQ(ranked[1].person, others[0].second);
  EXPECT_NEAR(ranked[1].score, others[0].first, 1e-4);
  EXPECT_EQ(ranked[2].person, others[1].second);
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

// ---- index kinds ----

// Unit vectors in tight clusters around random centres: a stored vector plus a
// little noise has that vector as its clear nearest neighbour.
std::vector<float> clustered_units(std::mt19937& rng, int clusters, int per_cluster, int dim, float spread) {
  std::vector<float> rows;
  std::normal_distribution<float> normal;
  for (int c = 0; c < clusters; ++c) {
    const Embedding centre = random_embedding(rng, dim);
    for (int i = 0; i < per_cluster; ++i) {
      std::vector<float> v(dim);
      for (int j = 0; j < dim; ++j) v[j] = centre.unit[j] + spread * normal(rng) / std::sqrt(float(dim));
      double length = std::sqrt(naive_dot(v, v));
      for (float x : v) rows.push_back(static_cast<float>(x / length));
    }
  }
  return rows;
}

std::vector<float> nudged(std::mt19937& rng, const float* unit, int dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(unit, unit + dim);
  for (float& x : v) x += 0.05f * normal(rng) / std::sqrt(float(dim));
  const double length = std::sqrt(naive_dot(v, v));
  for (float& x : v) x = static_cast<float>(x / length);
  return v;
}

IndexOptions options_for(IndexKind kind) {
  IndexOptions options;
  options.kind = kind;
  options.ivf_train_from = 1000;  // small test data still trains the lists
  options.auto_hnsw_from = 1000;
  return options;
}

class EveryIndexKind : public ::testing::TestWithParam<IndexKind> {
 protected:
  static constexpr int kDim = 64, kClusters = 40, kPerCluster = 50, kCount = kClusters * kPerCluster;
  void SetUp() override {
    rows = clustered_units(rng, kClusters, kPerCluster, kDim, 0.5f);
    index = create_index(kDim, options_for(GetParam()));
    std::vector<std::int64_t> ids(kCount);
    for (int i = 0; i < kCount; ++i) ids[i] = 100 + i;
    index->add_batch(kCount, ids.data(), rows.data());
    for (int i = 0; i < kCount; ++i) exact.add(100 + i, &rows[i * kDim]);
  }
  const float* row(int i) const { return &rows[i * kDim]; }

  std::mt19937 rng{7};
  std::vector<float> rows;
  std::unique_ptr<VectorIndex> index;
  ExactIndex exact{kDim};
};

TEST_P(EveryIndexKind, ServesTheKindAskedFor) {
  EXPECT_EQ(index->kind(), GetParam() == IndexKind::kAuto ? IndexKind::kHnsw : GetParam());
  EXPECT_EQ(index->size(), std::size_t(kCount));
  EXPECT_EQ(index->dim(), kDim);
}

TEST_P(EveryIndexKind, FindsTheExactTopOneOnClusteredData) {
  for (int q = 0; q < 200; ++q) {
    const auto query = nudged(rng, row(q * 7 % kCount), kDim);
    const auto expected = exact.search(query.data(), 1);
    const auto hits = index->search(query.data(), 5);
    ASSERT_EQ(hits.size(), 5u);
    EXPECT_EQ(hits[0].id, expected[0].id) << "query " << q;
    EXPECT_NEAR(hits[0].cosine, expected[0].cosine, 0.01);  // 8-bit codes are within 1e-2
    for (std::size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].cosine, hits[i].cosine);
  }
}

TEST_P(EveryIndexKind, RemovesAndUpdatesWithoutRebuilding) {
  // Every fifth vector goes: 20% of the slots, short of the HNSW compaction fraction.
  for (int i = 0; i < kCount; i += 5) ASSERT_TRUE(index->remove(100 + i));
  EXPECT_FALSE(index->remove(100));
  EXPECT_EQ(index->size(), std::size_t(kCount - kCount / 5));
  if (const auto* graph = dynamic_cast<const HnswIndex*>(index.get())) EXPECT_EQ(graph->tombstones(), kCount / 5u);
  std::vector<float> out(kDim);
  EXPECT_FALSE(index->reconstruct(100, out.data()));
  for (int i = 0; i < 150; ++i) {
    const auto hits = index->search(row(i), 1);
    ASSERT_EQ(hits.size(), 1u);
    if (i % 5 == 0) {
      EXPECT_NE(hits[0].id, 100 + i) << "removed id " << 100 + i << " still found";
    } else {
      EXPECT_EQ(hits[0].id, 100 + i);
    }
  }
  // An update: the id now stands for another vector, found there and not at the old one.
  ASSERT_TRUE(index->remove(101));
  index->add(101, row(0));
  EXPECT_EQ(index->search(row(0), 1)[0].id, 101);
  EXPECT_LT(index->search(row(1), 1)[0].cosine, 0.95f);  // its old vector is gone
  ASSERT_TRUE(index->reconstruct(101, out.data()));
  EXPECT_NEAR(dot_product(out.data(), row(0), kDim), 1.0, 0.01);
  EXPECT_THROW(index->add(101, row(0)), Error);
}

INSTANTIATE_TEST_SUITE_P(Index, EveryIndexKind,
                         ::testing::Values(IndexKind::kExact, IndexKind::kHnsw, IndexKind::kIvfSq8, IndexKind::kAuto,
                                           IndexKind::kInt8Scan),
                         [](const auto& info) {
                           std::string name = index_kind_name(info.param);
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

// Random 512-d unit vectors are the hard case for a coded scan: no cluster
// structure, the 10 nearest within a few hundredths of each other in cosine.
TEST(Int8ScanIndex, SameTopTenAsTheFloatScanOnRandomVectors) {
  std::mt19937 rng(9);
  const int dim = 512, n = 20000;
  Int8ScanIndex coded(dim);
  ExactIndex exact(dim);
  for (int i = 0; i < n; ++i) {
    const Embedding e = random_embedding(rng, dim);
    coded.add(i, e.unit.data());
    exact.add(i, e.unit.data());
  }
  for (int i = 0; i < n; i += 3) ASSERT_TRUE(coded.remove(i) && exact.remove(i));  // row moves stay in step
  int same = 0, total = 0;
  for (int q = 0; q < 50; ++q) {
    const Embedding query = random_embedding(rng, dim);
    const auto expected = exact.search(query.unit.data(), 10);
    const auto hits = coded.search(query.unit.data(), 10);
    ASSERT_EQ(hits.size(), 10u);
    for (std::size_t i = 0; i < hits.size(); ++i) {
      total += 1;
      same += hits[i].id == expected[i].id;
      EXPECT_FLOAT_EQ(hits[i].cosine, expected[i].cosine);
    }
  }
  EXPECT_EQ(same, total);
}

TEST(HnswIndex, DeletesAreTombstonesUntilTheCompactionFraction) {
  std::mt19937 rng(8);
  const int dim = 32, n = 400;
  const auto rows = clustered_units(rng, 20, n / 20, dim, 0.5f);
  IndexOptions options;
  options.hnsw_compact_fraction = 0.25;
  HnswIndex index(dim, options);
  for (int i = 0; i < n; ++i) index.add(i, &rows[i * dim]);
  for (int i = 0; i < 99; ++i) index.remove(i);
  EXPECT_EQ(index.tombstones(), 99u);  // no rebuild yet
  index.remove(99);                    // the 100th of 400 slots: rebuilt from the live vectors
  EXPECT_EQ(index.tombstones(), 0u);
  EXPECT_EQ(index.size(), 300u);
  for (int i = 100; i < n; i += 7) EXPECT_EQ(index.search(&rows[i * dim], 1)[0].id, i);
}

TEST(HnswIndex, SaveAndLoadRoundTrip) {
  std::mt19937 rng(9);
  const int dim = 32, n = 500;
  const auto rows = clustered_units(rng, 25, n / 25, dim, 0.5f);
  HnswIndex index(dim, IndexOptions{});
  for (int i = 0; i < n; ++i) index.add(1000 + i, &rows[i * dim]);
  index.remove(1000);  // a tombstone must survive the round trip
  const auto path = (std::filesystem::temp_directory_path() / "faceid_hnsw_roundtrip.index").string();
  index.save(path);
  const auto loaded = HnswIndex::load(path, IndexOptions{});
  EXPECT_EQ(loaded->size(), index.size());
  EXPECT_EQ(loaded->tombstones(), 1u);
  for (int i = 0; i < n; i += 5) {
    const auto a = index.search(&rows[i * dim], 3), b = loaded->search(&rows[i * dim], 3);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t h = 0; h < a.size(); ++h) EXPECT_EQ(a[h].id, b[h].id);
  }
  EXPECT_NE(loaded->search(&rows[0], 1)[0].id, 1000);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "not an index";
  try {
    HnswIndex::load(path, IndexOptions{});
    ADD_FAILURE() << "a damaged file loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruptStore);
  }
  std::filesystem::remove(path);
}

// A gallery of 30 people x 10 faces as the store hands it over.
std::vector<FaceRecord> gallery_faces(std::mt19937& rng, int dim) {
  std::vector<FaceRecord> faces;
  const auto rows = clustered_units(rng, 30, 10, dim, 0.5f);
  for (int i = 0; i < 300; ++i) {
    FaceRecord face;
    face.id = 1 + i;
    face.person = "person" + std::to_string(i / 10);
    face.embedding.unit.assign(&rows[i * dim], &rows[(i + 1) * dim]);
    face.embedding.norm = 20.f;
    faces.push_back(face);
  }
  return faces;
}

TEST(PersonIndex, HnswSnapshotHoldsNoVectorOfARemovedFace) {
  std::mt19937 rng(12);
  const int dim = 32;
  const auto faces = gallery_faces(rng, dim);
  IndexOptions options = options_for(IndexKind::kHnsw);
  options.snapshot_file = (std::filesystem::temp_directory_path() / "faceid_removed_snapshot.hnsw").string();
  std::filesystem::remove(options.snapshot_file);
  PersonIndex index(dim, options);
  index.load(faces);
  ASSERT_EQ(faces[0].person, "person0");
  index.remove_person("person0");
  index.remove_face(faces[100].id);
  ASSERT_GT(index.tombstones(), 0u) << "removed faces must stay as tombstones for this test";
  index.save_snapshot();
  EXPECT_EQ(std::filesystem::status(options.snapshot_file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream in(options.snapshot_file, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto holds = [&](const FaceRecord& face) {
    const auto& unit = face.embedding.unit;
    return file.find(std::string(reinterpret_cast<const char*>(unit.data()), unit.size() * sizeof(float))) !=
           std::string::npos;
  };
  EXPECT_TRUE(holds(faces[50])) << "a kept face's vector is in the snapshot as raw floats";
  for (const auto& face : faces)
    if (face.person == "person0" || face.id == faces[100].id) EXPECT_FALSE(holds(face)) << "face " << face.id;
  std::filesystem::remove(options.snapshot_file);
}

TEST(PersonIndex, HnswSnapshotIsReusedAndReconciledWithTheGallery) {
  std::mt19937 rng(11);
  const int dim = 32;
  auto faces = gallery_faces(rng, dim);
  const auto original = faces;
  IndexOptions options = options_for(IndexKind::kHnsw);
  options.snapshot_file = (std::filesystem::temp_directory_path() / "faceid_person_snapshot.hnsw").string();
  std::filesystem::remove(options.snapshot_file);
  const auto best = [](const PersonIndex& index, const Embedding& query) {
    return index.rank(query, MatchOptions{}, 1).at(0).person;
  };
  {
    PersonIndex index(dim, options);
    index.load(faces);
    index.save_snapshot();
  }
  ASSERT_TRUE(std::filesystem::exists(options.snapshot_file));
  const auto written = std::filesystem::last_write_time(options.snapshot_file);
  {
    PersonIndex same(dim, options);  // unchanged gallery: nothing to write
    same.load(faces);
    same.save_snapshot();
    EXPECT_EQ(std::filesystem::last_write_time(options.snapshot_file), written);
    EXPECT_EQ(same.face_count(), 300u);
    EXPECT_EQ(best(same, faces[42].embedding), "person4");
  }
  // Since the snapshot: person0 left, face 150 now holds another vector (of person 29),
  // and a new person arrived.
  faces.erase(faces.begin(), faces.begin() + 10);
  faces[140].embedding = faces.back().embedding;
  FaceRecord newcomer = faces.back();
  newcomer.id = 5000;
  newcomer.person = "newcomer";
  newcomer.embedding = random_embedding(rng, dim);
  faces.push_back(newcomer);
  PersonIndex changed(dim, options);
  changed.load(faces);
  EXPECT_EQ(changed.face_count(), 291u);
  EXPECT_EQ(changed.person_count(), 30u);
  EXPECT_NE(best(changed, original[3].embedding), "person0");
  EXPECT_EQ(best(changed, newcomer.embedding), "newcomer");
  EXPECT_LT(changed.rank(original[150].embedding, MatchOptions{}, 1).at(0).score, 0.999f);  // old vector gone
  changed.save_snapshot();
  EXPECT_NE(std::filesystem::last_write_time(options.snapshot_file), written);
  // A damaged snapshot costs a rebuild, not the gallery.
  std::ofstream(options.snapshot_file, std::ios::binary | std::ios::trunc) << "damaged";
  PersonIndex rebuilt(dim, options);
  rebuilt.load(faces);
  EXPECT_EQ(rebuilt.face_count(), 291u);
  EXPECT_EQ(best(rebuilt, newcomer.embedding), "newcomer");
  rebuilt.save_snapshot();
  EXPECT_EQ(HnswIndex::load(options.snapshot_file, options)->size(), 291u);
  std::filesystem::remove(options.snapshot_file);
}

TEST(IndexFactory, AutoSwitchesToHnswAtTheSizeThreshold) {
  std::mt19937 rng(10);
  const int dim = 32;
  const auto rows = clustered_units(rng, 10, 60, dim, 0.5f);
  IndexOptions options;
  options.kind = IndexKind::kAuto;
  options.auto_hnsw_from = 500;
  auto index = create_index(dim, options);
  for (int i = 0; i < 499; ++i) index->add(i, &rows[i * dim]);
  EXPECT_EQ(index->kind(), IndexKind::kExact);
  index->add(499, &rows[499 * dim]);
  EXPECT_EQ(index->kind(), IndexKind::kHnsw);
  for (int i = 500; i < 600; ++i) index->add(i, &rows[i * dim]);
  EXPECT_EQ(index->size(), 600u);
  for (int i = 0; i < 600; i += 11) EXPECT_EQ(index->search(&rows[i * dim], 1)[0].id, i);
}

TEST(IndexFactory, RejectsBadOptionsAndNames) {
  IndexOptions bad;
  bad.hnsw_m = 1;
  EXPECT_THROW(create_index(64, bad), Error);
  bad = IndexOptions{};
  bad.hnsw_compact_fraction = 0;
  EXPECT_THROW(create_index(64, bad), Error);
  EXPECT_THROW(create_index(0, IndexOptions{}), Error);
  const std::vector<float> unit(64, 0.125f);
  EXPECT_THROW(create_index(64, options_for(IndexKind::kHnsw))->add(-1, unit.data()), Error);  // -1 marks a tombstone
  for (IndexKind k : {IndexKind::kAuto, IndexKind::kExact, IndexKind::kHnsw, IndexKind::kIvfSq8, IndexKind::kInt8Scan})
    EXPECT_EQ(parse_index_kind(index_kind_name(k)), k);
  EXPECT_FALSE(parse_index_kind("ivf-pq").has_value());
}

TEST(PersonIndex, RanksPeopleWithAnApproximateIndex) {
  std::mt19937 rng(11);
  const int dim = 32;
  PersonIndex index(dim, options_for(IndexKind::kHnsw));
  std::vector<Embedding> faces;
  for (int p = 0; p < 30; ++p)
    for (int f = 0; f < 3; ++f) {
      faces.push_back(random_embedding(rng, dim));
      index.add_face(p * 3 + f, "person" + std::to_string(p), faces.back());
    }
  const MatchOptions max{Metric::kCosine, MatchPolicy::kMax, 3};
  EXPECT_EQ(index.rank(faces[31], max, 1)[0].person, "person10");
  EXPECT_TRUE(index.remove_face(31));
  EXPECT_NE(index.rank(faces[31], max, 1)[0].score, 1.f);
  index.remove_person("person10");
  EXPECT_EQ(index.face_count(), 87u);
  EXPECT_NE(index.rank(faces[30], max, 1)[0].person, "person10");
}

TEST(MatchPolicy, NamesRoundTrip) {
  for (MatchPolicy p : {MatchPolicy::kMax, MatchPolicy::kMeanTemplate, MatchPolicy::kTopKMean})
    EXPECT_EQ(parse_match_policy(match_policy_name(p)), p);
  EXPECT_FALSE(parse_match_policy("median").has_value());
}

}  // namespace
}  // namespace faceid
