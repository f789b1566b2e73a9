// Embedders: score-level fusion of several networks into one embedding.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "faceid/embedder.hpp"
#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/image.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

using test::error_of;

double dot(const Embedding& a, const Embedding& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.unit.size(); ++i) sum += double(a.unit[i]) * b.unit[i];
  return sum;
}

// A stand-in network: a unit vector that depends on the crop's mean colour and on `seed`.
class FakeEmbedder final : public FaceEmbedder {
 public:
  FakeEmbedder(std::string id, int dim, cv::Size size, float seed) : id_(std::move(id)), dim_(dim), size_(size), seed_(seed) {}
  std::vector<Embedding> embed(const std::vector<cv::Mat>& crops) const override {
    std::vector<Embedding> out;
    for (const auto& crop : crops) {
      const cv::Scalar m = cv::mean(crop);
      Embedding e;
      for (int j = 0; j < dim_; ++j)
        e.unit.push_back(float(std::cos(seed_ * (j + 1)) * m[0] + std::sin(seed_ * (j + 2)) * m[1] + (j % 3) * m[2]));
      double norm = 0.0;
      for (float v : e.unit) norm += double(v) * v;
      for (float& v : e.unit) v = float(v / std::sqrt(norm));
      out.push_back(std::move(e));
    }
    return out;
  }
  int dim() const override { return dim_; }
  cv::Size input_size() const override { return size_; }
  std::string model_id() const override { return id_; }

 private:
  std::string id_;
  int dim_;
  cv::Size size_;
  float seed_;
};

ModelSpec fusion_spec(std::vector<float> weights) {
  ModelSpec spec;
  spec.name = "fused";
  spec.version = "1";
  spec.format = "fusion";
  spec.weights = std::move(weights);
  return spec;
}

std::unique_ptr<FaceEmbedder> fake_fusion(std::vector<float> weights, cv::Size second_size = {112, 112}) {
  std::vector<std::unique_ptr<FaceEmbedder>> members;
  members.push_back(std::make_unique<FakeEmbedder>("a@1", 8, cv::Size(112, 112), 0.7f));
  members.push_back(std::make_unique<FakeEmbedder>("b@1", 5, second_size, 1.9f));
  return create_fusion_embedder(fusion_spec(std::move(weights)), std::move(members));
}

std::vector<cv::Mat> colour_crops() {
  std::vector<cv::Mat> crops;
  for (int i = 0; i < 4; ++i) crops.emplace_back(112, 112, CV_8UC3, cv::Scalar(20 + 50 * i, 200 - 40 * i, 30 * i + 5));
  return crops;
}

TEST(FusionEmbedder, CosineIsTheWeightedMeanOfTheMembersCosines) {
  const auto fused = fake_fusion({3.f, 1.f});  // weights are normalised: 0.75 / 0.25
  const FakeEmbedder a("a@1", 8, {112, 112}, 0.7f), b("b@1", 5, {112, 112}, 1.9f);
  const auto crops = colour_crops();
  const auto f = fused->embed(crops), ea = a.embed(crops), eb = b.embed(crops);
  ASSERT_EQ(f.size(), crops.size());
  EXPECT_EQ(fused->dim(), 13);
  EXPECT_EQ(fused->input_size(), cv::Size(112, 112));
  for (std::size_t i = 0; i < crops.size(); ++i) {
    EXPECT_NEAR(dot(f[i], f[i]), 1.0, 1e-6);
    for (std::size_t j = i + 1; j < crops.size(); ++j)
      EXPECT_NEAR(dot(f[i], f[j]), 0.75 * dot(ea[i], ea[j]) + 0.25 * dot(eb[i], eb[j]), 1e-6);
  }
}

TEST(FusionEmbedder, ModelIdNamesEveryMemberAndItsWeight) {
  EXPECT_EQ(fake_fusion({})->model_id(), "fused@1[a@1*0.5,b@1*0.5]");
  EXPECT_EQ(fake_fusion({3.f, 1.f})->model_id(), "fused@1[a@1*0.75,b@1*0.25]");
}

TEST(FusionEmbedder, RefusesMembersOfDifferentInputSizesAndBadWeights) {
  EXPECT_EQ(error_of([] { fake_fusion({}, {96, 112}); }), ErrorCode::kModelInvalid);
  EXPECT_EQ(error_of([] { fake_fusion({1.f}); }), ErrorCode::kModelInvalid);
  EXPECT_EQ(error_of([] { fake_fusion({1.f, 0.f}); }), ErrorCode::kModelInvalid);
  EXPECT_EQ(error_of([] {
              ModelManifest::parse(R"({"format":"faceid-model-manifest","models":[{"name":"f","kind":"embedder",
                                    "format":"fusion"}]})", "x");
            }),
            ErrorCode::kBadRequest);
}

// Aligned crops of every face the default pipeline finds in the sample photos.
std::vector<cv::Mat> sample_crops() {
  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = test::model_dir();
  const auto engine = Engine::open(config);
  std::vector<cv::Mat> crops;
  for (int i = 1; i <= 6; ++i) {
    const cv::Mat photo = load_image(test::model_dir() + "/samples/sample" + std::to_string(i) + ".jpg");
    for (const auto& face : engine->detect(photo)) crops.push_back(engine->aligned_crop(photo, face));
  }
  return crops;
}

TEST(FusionEmbedder, FusesFrFeatureAndHjcMobileFaceNetOnRealCrops) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_SHARED_MODEL(hjc_file, "hjc_mobilefacenet_b1_cv46.onnx");
  const auto manifest = ModelManifest::builtin();
  const std::vector<std::string> dirs{test::model_dir(), fs::path(hjc_file).parent_path().string()};
  const ModelFileResolver resolve = [&](const ModelSpec& spec) { return resolve_model_file(spec.file, spec.sha256, dirs); };
  ModelSpec spec = manifest.get("fusion_fr_feature_hjc");
  spec.weights = {0.8f, 0.2f};  // unequal, so a swapped or ignored weight shows
  const auto fused = create_embedder(spec, manifest, resolve);
  const auto fr = create_embedder(manifest.get("fr_feature"), manifest, resolve);
  const auto hjc = create_embedder(manifest.get("hjc_mobilefacenet"), manifest, resolve);
  EXPECT_EQ(fused->dim(), 512 + 128);
  EXPECT_EQ(fused->model_id(), "fusion_fr_feature_hjc@1[fr_feature@1*0.8,hjc_mobilefacenet@1*0.2]");
  EXPECT_EQ(create_embedder(spec, manifest, resolve, {true})->model_id(),
            "fusion_fr_feature_hjc@1[fr_feature@1+flip*0.8,hjc_mobilefacenet@1+flip*0.2]");

  const auto crops = sample_crops();
  ASSERT_GE(crops.size(), 6u);
  const auto f = fused->embed(crops), a = fr->embed(crops), b = hjc->embed(crops);
  int different_people = 0;
  for (std::size_t i = 0; i < crops.size(); ++i) {
    // The 128-d file is pinned to batch 1: a batch must still give each crop its own vector.
    EXPECT_NEAR(dot(b[i], hjc->embed({crops[i]}).front()), 1.0, 1e-4) << i;
    for (std::size_t j = i + 1; j < crops.size(); ++j) {
      EXPECT_NEAR(dot(f[i], f[j]), 0.8 * dot(a[i], a[j]) + 0.2 * dot(b[i], b[j]), 1e-5) << i << "," << j;
      different_people += dot(f[i], f[j]) < 0.3;
    }
  }
  EXPECT_GT(different_people, 0);  // the crops are not all one face
}

TEST(FusionEmbedder, TheEngineBuildsAFusionFromItsManifestEntry) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_SHARED_MODEL(hjc_file, "hjc_mobilefacenet_b1_cv46.onnx");
  // A manifest whose fusion has no thresholds: an explicit threshold must be enough to open it.
  const std::string manifest_path = test::temp_dir("fusion") + "/manifest.json";
  ModelManifest manifest = ModelManifest::builtin();
  ModelSpec spec = manifest.get("fusion_fr_feature_hjc");
  spec.thresholds.clear();
  manifest.upsert(spec);
  manifest.save(manifest_path);

  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = test::model_dir();
  config.extra_model_dirs = {fs::path(hjc_file).parent_path().string()};
  config.manifest_path = manifest_path;
  config.embedder = spec.name;
  EXPECT_EQ(error_of([&] { Engine::open(config); }), ErrorCode::kBadRequest);  // no threshold anywhere
  config.threshold = 0.4f;
  EXPECT_EQ(Engine::open(config)->embedder_model_id(),
            "fusion_fr_feature_hjc@1[fr_feature@1*0.5,hjc_mobilefacenet@1*0.5]");
  config.embedder_file = hjc_file;
  EXPECT_EQ(error_of([&] { Engine::open(config); }), ErrorCode::kBadRequest);
}

}  // namespace
}  // namespace faceid
