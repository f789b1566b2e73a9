// Liveness: the context-crop geometry by hand, the cannot-judge cases, the gate every front-end
// uses, and the shipped model on real print / replay attacks (../shared/datasets/spoof_dev).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/engine.hpp"
#include "faceid/error.hpp"
#include "faceid/eval.hpp"
#include "faceid/liveness.hpp"
#include "faceid/video.hpp"
#include "sample_people.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace faceid {
namespace {

#define FACEID_REQUIRE_LIVENESS_MODEL()                                                            \
  do {                                                                                             \
    FACEID_REQUIRE_MODELS();                                                                       \
    if (!fs::exists(fs::path(test::model_dir()) / "fr_liveness.onnx"))                             \
      FAIL() << "fr_liveness.onnx is not installed in " << test::model_dir()                       \
             << ": run `faceid models install` (it is one of the default models)";                 \
  } while (0)

ModelSpec square_spec(float scale = 2.7f) {
  ModelSpec spec;
  spec.kind = ModelKind::kLiveness;
  spec.crop_scale = scale;
  spec.square_crop = true;
  return spec;
}

ModelSpec box_spec(float scale) {
  ModelSpec spec = square_spec(scale);
  spec.square_crop = false;
  return spec;
}

TEST(LivenessCrop, CentresTheScaledSquareOnTheFace) {
  // Side 100 x 2.7 = 270, centred on (500, 500): 500 - 135 = 365.
  const auto crop = liveness_crop({1000, 1000}, {450, 450, 100, 100}, square_spec(), {});
  ASSERT_TRUE(crop.cannot_judge.empty()) << crop.cannot_judge;
  EXPECT_EQ(crop.roi, cv::Rect(365, 365, 270, 270));
  EXPECT_FLOAT_EQ(crop.scale, 2.7f);
}

TEST(LivenessCrop, SquareSideIsTheBoxHeight) {
  // An 80 x 100 box centred on (500, 500) gives the same square as a 100 x 100 one.
  const auto crop = liveness_crop({1000, 1000}, {460, 450, 80, 100}, square_spec(), {});
  EXPECT_EQ(crop.roi, cv::Rect(365, 365, 270, 270));
}

TEST(LivenessCrop, BoxGeometryKeepsTheAspectForMiniFasNet) {
  // 80 x 100 x 2.7 = 216 x 270 about (500, 500): left 392, top 365.
  const auto crop = liveness_crop({1000, 1000}, {460, 450, 80, 100}, box_spec(2.7f), {});
  EXPECT_EQ(crop.roi, cv::Rect(392, 365, 216, 270));
}

TEST(LivenessCrop, ShiftsBackInsideTheImageInsteadOfPadding) {
  // Centre (60, 250), side 270: left would be -75, so the crop starts at 0; top 250 - 135 = 115.
  const auto left = liveness_crop({640, 480}, {10, 200, 100, 100}, square_spec(), {});
  ASSERT_TRUE(left.cannot_judge.empty()) << left.cannot_judge;
  EXPECT_EQ(left.roi, cv::Rect(0, 115, 270, 270));
  // Centre (590, 430), side 162: right edge bound 640 - 1 - 162 = 477, bottom 480 - 1 - 162 = 317.
  const auto corner = liveness_crop({640, 480}, {560, 400, 60, 60}, square_spec(), {});
  ASSERT_TRUE(corner.cannot_judge.empty()) << corner.cannot_judge;
  EXPECT_EQ(corner.roi, cv::Rect(477, 317, 162, 162));
}

TEST(LivenessCrop, ShrinksTheScaleWhenTheImageIsTooSmallForIt) {
  // 150 px face in a 300 px image: scale min(2.7, 299 / 150) = 1.9933, crop 299 px from 0.
  const auto crop = liveness_crop({300, 300}, {100, 100, 150, 150}, square_spec(), {});
  ASSERT_TRUE(crop.cannot_judge.empty()) << crop.cannot_judge;
  EXPECT_NEAR(crop.scale, 299.f / 150.f, 1e-5);
  EXPECT_EQ(crop.roi, cv::Rect(0, 0, 299, 299));
}

TEST(LivenessCrop, CannotJudgeATinyFace) {
  const auto crop = liveness_crop({640, 480}, {300, 200, 20, 20}, square_spec(), {});
  EXPECT_TRUE(crop.roi.empty());
  EXPECT_NE(crop.cannot_judge.find("too small"), std::string::npos) << crop.cannot_judge;
}

TEST(LivenessCrop, CannotJudgeAFaceMostlyOutsideTheImage) {
  const auto crop = liveness_crop({640, 480}, {-80, 100, 100, 100}, square_spec(), {});
  EXPECT_NE(crop.cannot_judge.find("outside"), std::string::npos) << crop.cannot_judge;
}

TEST(LivenessCrop, CannotJudgeAFaceThatLeavesNoContext) {
  // The face fills a 200 px image: (200 / 540)^2 = 14 % of the x2.7 context is inside.
  const auto crop = liveness_crop({200, 200}, {0, 0, 200, 200}, square_spec(), {});
  EXPECT_NE(crop.cannot_judge.find("border"), std::string::npos) << crop.cannot_judge;
  EXPECT_NE(crop.cannot_judge.find("14%"), std::string::npos) << crop.cannot_judge;
}

TEST(LivenessCrop, TellsGreyFromColour) {
  cv::Mat colour(64, 64, CV_8UC3, cv::Scalar(40, 120, 200));
  cv::Mat grey;
  cv::cvtColor(colour, grey, cv::COLOR_BGR2GRAY);
  cv::Mat grey_bgr;
  cv::cvtColor(grey, grey_bgr, cv::COLOR_GRAY2BGR);
  const cv::Rect all(0, 0, 64, 64);
  EXPECT_FALSE(is_grayscale(colour, all));
  EXPECT_TRUE(is_grayscale(grey_bgr, all));
  EXPECT_TRUE(is_grayscale(grey, all));
}

TEST(LivenessGate, OnlyAJudgedLiveFacePasses) {
  LivenessResult live{0.9f, true, 0.5f, ""};
  LivenessResult spoof{0.1f, false, 0.5f, ""};
  LivenessResult unknown{std::nullopt, false, 0.5f, "face too small"};
  EXPECT_FALSE(liveness_refusal(live));
  ASSERT_TRUE(liveness_refusal(spoof));
  EXPECT_EQ(liveness_refusal(spoof)->rfind("spoof", 0), 0u);
  ASSERT_TRUE(liveness_refusal(unknown));
  EXPECT_NE(liveness_refusal(unknown)->find("face too small"), std::string::npos);
  EXPECT_STREQ(liveness_status(live), "live");
  EXPECT_STREQ(liveness_status(spoof), "spoof");
  EXPECT_STREQ(liveness_status(unknown), "cannot_judge");

  std::optional<std::string> person = "alice";
  std::optional<LivenessResult> recorded;
  gate_identity(person, recorded, live);
  EXPECT_EQ(person.value_or(""), "alice");
  gate_identity(person, recorded, unknown);
  EXPECT_FALSE(person);
  ASSERT_TRUE(recorded);
  EXPECT_FALSE(recorded->judged());
}

// ------------------------------------------------------------------ on real images

EngineConfig liveness_config() {
  EngineConfig config;
  config.gallery = ":memory:";
  config.model_dir = test::model_dir();
  config.liveness.enabled = true;
  if (!test::shared_dir().empty()) config.extra_model_dirs.push_back(test::shared_dir() + "/models");
  return config;
}

std::vector<eval::LivenessSample> every_nth(const std::vector<eval::LivenessSample>& all, std::size_t n) {
  std::vector<eval::LivenessSample> picked;
  for (std::size_t i = 0; i < all.size(); i += n) picked.push_back(all[i]);
  return picked;
}

EnrollImage image_file(const std::string& path) { return {path, read_file_bytes(path, 64u << 20)}; }

TEST(Liveness, ShippedModelRanksRealAttacksAboveLiveFaces) {
  FACEID_REQUIRE_LIVENESS_MODEL();
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  const auto engine = Engine::open(liveness_config());
  // A quarter of the set, spread over every source: enough to catch a wrong channel order or crop.
  const auto samples = every_nth(eval::parse_liveness_manifest(spoof + "/manifest.tsv", ""), 4);
  const auto scores = eval::score_liveness(*engine, samples, false);
  const auto metrics = eval::liveness_metrics(scores, engine->liveness_threshold());
  EXPECT_GE(metrics.auc, 0.99);
  EXPECT_LE(metrics.apcer, 0.10);
  EXPECT_LE(metrics.bpcer, 0.05);
  EXPECT_EQ(metrics.bona_fide_not_judged, 0u);
}

cv::Mat in_grey(const cv::Mat& bgr) {
  cv::Mat grey, out;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(grey, out, cv::COLOR_GRAY2BGR);
  return out;
}

void expect_cannot_be_judged(const Engine& engine, const cv::Mat& grey) {
  const auto faces = engine.identify(grey);
  ASSERT_FALSE(faces.empty());
  ASSERT_TRUE(faces[0].liveness);
  EXPECT_FALSE(faces[0].liveness->judged());
  EXPECT_NE(faces[0].liveness->reason.find("grayscale"), std::string::npos) << faces[0].liveness->reason;
  EXPECT_FALSE(faces[0].person);
}

// Needs only a real face: alice's other photo (sample3.jpg) in grey always, a live NUAA photo of
// ../shared/datasets/spoof_dev in grey where present. alice is enrolled, and named from the grey
// photo without liveness: the verdict it cannot have is what keeps her name back.
TEST(Liveness, GreyPhotoCannotBeJudged) {
  FACEID_REQUIRE_LIVENESS_MODEL();
  auto config = liveness_config();
  config.gallery = test::temp_dir("liveness_grey") + "/g.db";
  config.liveness.enabled = false;
  const cv::Mat alice = in_grey(load_image(test::sample_photo(3)));
  {
    const auto plain = Engine::open(config);
    ASSERT_EQ(plain->enroll("alice", {image_file(test::sample_photo(1))})[0].error,
              std::nullopt);
    const auto faces = plain->identify(alice);
    ASSERT_FALSE(faces.empty());
    EXPECT_EQ(faces[0].person.value_or("unknown"), "alice");
  }
  config.liveness.enabled = true;
  const auto engine = Engine::open(config);
  expect_cannot_be_judged(*engine, alice);
  if (const std::string spoof = test::dataset_dir("spoof_dev"); !spoof.empty())
    expect_cannot_be_judged(*engine, in_grey(load_image(spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg")));
}

TEST(Liveness, PrintedPhotoOfAnEnrolledUserIsNeverIdentifiedOrEnrolled) {
  FACEID_REQUIRE_LIVENESS_MODEL();
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  const std::string real = spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg";
  const std::string print = spoof + "/images/spoof/nuaa/";
  std::string attack;
  for (const auto& e : fs::directory_iterator(print))
    if (e.path().filename().string().rfind("0004_", 0) == 0) attack = std::max(attack, e.path().string());
  ASSERT_FALSE(attack.empty());

  auto engine = Engine::open(liveness_config());
  const auto enrolled = engine->enroll("subject_0004", {image_file(real)});
  ASSERT_EQ(enrolled[0].error, std::nullopt) << enrolled[0].message;
  ASSERT_TRUE(enrolled[0].liveness);
  EXPECT_TRUE(enrolled[0].liveness->is_live);
  // Every face of a photo is checked, in one call (the model takes one crop per pass).
  const auto everyone = engine->identify(load_image(real));
  ASSERT_GE(everyone.size(), 2u) << "the NUAA photo shows a second face";
  for (const auto& face : everyone) EXPECT_TRUE(face.liveness);
  EXPECT_TRUE(std::any_of(everyone.begin(), everyone.end(),
                          [](const FaceResult& face) { return face.person == "subject_0004"; }));

  const cv::Mat attack_bgr = load_image(attack);
  const auto without = engine->identify(attack_bgr, false);
  ASSERT_FALSE(without.empty());
  EXPECT_FALSE(without[0].liveness);
  const auto with = engine->identify(attack_bgr);
  ASSERT_FALSE(with.empty());
  ASSERT_TRUE(with[0].liveness);
  EXPECT_TRUE(with[0].liveness->judged());
  EXPECT_FALSE(with[0].liveness->is_live) << "score " << *with[0].liveness->score;
  EXPECT_FALSE(with[0].person);
  EXPECT_EQ(with[0].score, without[0].score) << "the match is still scored, only not named";

  const auto refused = engine->enroll("subject_0004", {image_file(attack)});
  EXPECT_EQ(refused[0].error, ErrorCode::kSpoof) << refused[0].message;
  EXPECT_FALSE(refused[0].face_id);
  EXPECT_EQ(engine->people().at(0).face_count, 1);
  EXPECT_EQ(test::error_of([&] { engine->enroll("subject_0004", {image_file(attack)}, true); }),
            ErrorCode::kBadRequest);

  const VerifyResult verified = engine->verify(load_image(real), attack_bgr);
  ASSERT_TRUE(verified.liveness_a && verified.liveness_b);
  EXPECT_TRUE(verified.liveness_a->is_live);
  EXPECT_FALSE(verified.liveness_b->is_live);
  EXPECT_FALSE(verified.same_person);
}

TEST(Liveness, TwoScaleMiniFasNetFusionIsTheMeanOfItsMembers) {
  FACEID_REQUIRE_MODELS();
  FACEID_REQUIRE_SHARED_MODEL(v2, "sf_2.7_80x80_MiniFASNetV2.onnx");
  FACEID_REQUIRE_SHARED_MODEL(v1se, "sf_4_0_0_80x80_MiniFASNetV1SE.onnx");
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  const ModelManifest manifest = ModelManifest::builtin();
  const std::vector<std::string> dirs{test::shared_dir() + "/models"};
  const ModelFileResolver resolve = [&](const ModelSpec& spec) { return resolve_model_file(spec.file, spec.sha256, dirs); };
  LivenessOptions options;
  options.threshold = 0.5f;
  const auto fusion = create_liveness_checker(manifest.get("minifasnet_fusion"), manifest, resolve, options);
  const auto first = create_liveness_checker(manifest.get("minifasnet_v2"), manifest, resolve, options);
  const auto second = create_liveness_checker(manifest.get("minifasnet_v1se"), manifest, resolve, options);
  auto engine_config = liveness_config();
  engine_config.liveness.enabled = false;
  const auto engine = Engine::open(engine_config);
  const cv::Mat bgr = load_image(spoof + "/images/real/silentface/image_T1.jpg");
  const auto faces = engine->detect(bgr);
  ASSERT_FALSE(faces.empty());
  const auto fused = fusion->check(bgr, {faces[0]}).front();
  const auto a = first->check(bgr, {faces[0]}).front();
  const auto b = second->check(bgr, {faces[0]}).front();
  ASSERT_TRUE(fused.judged() && a.judged() && b.judged());
  EXPECT_NEAR(*fused.score, (*a.score + *b.score) / 2.f, 1e-5);
  EXPECT_TRUE(fused.is_live) << "a live sample photo of the model's own repository";
  EXPECT_EQ(test::error_of([&] {
              create_liveness_checker(manifest.get("minifasnet_v2"), manifest, resolve, LivenessOptions{});
            }),
            ErrorCode::kBadRequest)
      << "no shipped threshold: it must be calibrated or given";
}

TEST(Liveness, VideoTrackIsNamedOnlyAfterItsMeanLiveScorePasses) {
  FACEID_REQUIRE_LIVENESS_MODEL();
  FACEID_REQUIRE_DATASET(spoof, "spoof_dev");
  auto config = liveness_config();
  auto engine = Engine::open(config);
  const std::string real = spoof + "/images/real/nuaa/0004_0004_01_06_03_0.jpg";
  const std::string print = spoof + "/images/spoof/nuaa/0004_0004_01_01_03_0.jpg";
  ASSERT_EQ(engine->enroll("s0004", {image_file(real)})[0].error, std::nullopt);
  for (const auto& [path, attack] : {std::pair{print, true}, std::pair{real, false}}) {
    VideoOptions options;
    options.liveness = true;
    options.liveness_frames = 3;
    options.detect_every = 1;
    VideoIdentifier video(*engine, options);
    const cv::Mat frame = load_image(path);
    std::map<VideoEventType, int> events;
    for (int i = 0; i < 15; ++i) {
      video.process(frame, i / 10.0);
      for (const auto& event : video.take_events()) ++events[event.type];
    }
    EXPECT_EQ(events[VideoEventType::kAttack], attack ? 1 : 0) << path;
    EXPECT_EQ(events[VideoEventType::kIdentified], attack ? 0 : 1) << path;
    EXPECT_EQ(video.stats().liveness_checks, 3) << "one verdict per track from three faces, not every frame";
  }
}

}  // namespace
}  // namespace faceid
