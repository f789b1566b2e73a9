#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "faceid/error.hpp"
#include "faceid/models.hpp"
#include "test_support.hpp"

namespace faceid {
namespace {

using test::error_of;

TEST(Models, BuiltinManifestDescribesTheDefaultPipeline) {
  const auto manifest = ModelManifest::builtin();
  const ModelSpec& embedder = manifest.get("fr_feature");
  EXPECT_EQ(embedder.kind, ModelKind::kEmbedder);
  EXPECT_EQ(embedder.output_dim, 512);
  EXPECT_EQ(embedder.input_size, cv::Size(112, 112));
  EXPECT_EQ(embedder.sha256.size(), 64u);
  EXPECT_FALSE(embedder.package.empty());
  for (const char* metric : {"cosine", "euclidean", "euclidean_l2"}) EXPECT_TRUE(embedder.thresholds.count(metric));
  const ModelSpec& detector = manifest.get("ultraface_rfb320");
  EXPECT_EQ(detector.kind, ModelKind::kDetector);
  EXPECT_EQ(manifest.get(detector.landmarks).kind, ModelKind::kLandmarks);
  EXPECT_FALSE(manifest.assets().empty());
}

TEST(Models, UnknownNameListsTheKnownOnes) {
  try {
    ModelManifest::builtin().get("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("fr_feature"), std::string::npos);
  }
}

TEST(Models, MalformedManifestsAreBadRequests) {
  EXPECT_EQ(error_of([] { ModelManifest::parse("{", "x"); }), ErrorCode::kBadRequest);
  EXPECT_EQ(error_of([] { ModelManifest::parse(R"({"format":"other","models":[]})", "x"); }), ErrorCode::kBadRequest);
  EXPECT_EQ(error_of([] {
              ModelManifest::parse(R"({"format":"faceid-model-manifest","models":[{"name":"a","kind":"teapot",
                                    "format":"x","file":"f"}]})", "x");
            }),
            ErrorCode::kBadRequest);
}

TEST(Models, SaveLoadRoundTripAndModelDirOverlay) {
  const std::string dir = test::temp_dir("manifest");
  auto manifest = ModelManifest::builtin();
  ModelSpec spec = manifest.get("fr_feature");
  spec.thresholds["cosine"] = 0.4242f;
  manifest.upsert(spec);
  manifest.save(dir + "/manifest.json");
  EXPECT_FLOAT_EQ(ModelManifest::load(dir + "/manifest.json").get("fr_feature").thresholds.at("cosine"), 0.4242f);
  EXPECT_FLOAT_EQ(ModelManifest::for_model_dir(dir).get("fr_feature").thresholds.at("cosine"), 0.4242f);
  EXPECT_NE(ModelManifest::for_model_dir(dir + "/elsewhere").get("fr_feature").thresholds.at("cosine"), 0.4242f);
}

TEST(Models, Sha256OfKnownInput) {
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Models, WrongHashAndMissingFileAreInvalidModels) {
  const std::string dir = test::temp_dir("models");
  std::ofstream(dir + "/fr_feature.onnx") << "not the model";
  const ModelSpec spec = ModelManifest::builtin().get("fr_feature");
  try {
    resolve_model_file(spec.file, spec.sha256, {dir});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos);
  }
  try {
    resolve_model_file("absent.onnx", "", {dir});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("faceid models install"), std::string::npos);
  }
  // An unpinned, user-supplied file is used as it is.
  EXPECT_EQ(resolve_model_file(dir + "/fr_feature.onnx", "", {}), dir + "/fr_feature.onnx");
}

TEST(Models, InstalledDefaultModelsMatchTheirPins) {
  FACEID_REQUIRE_MODELS();
  const auto manifest = ModelManifest::builtin();
  for (const auto& spec : manifest.models()) {
    if (spec.package.empty()) continue;
    EXPECT_NO_THROW(resolve_model_file(spec.file, spec.sha256, {test::model_dir()})) << spec.name;
  }
}

}  // namespace
}  // namespace faceid
