// Per-stage cost of the default pipeline on real photos: decode, detect, align, embed, search.
// Run: build/bench/faceid_bench [--benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
// Photos: $FACEID_BENCH_IMAGE (any photo with faces), else the installed sample group photo.
#include <algorithm>
#include <cstdlib>
#include <random>

#include <benchmark/benchmark.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>

#include "faceid/faceid.hpp"

namespace {

using namespace faceid;

std::string bench_image_path() {
  if (const char* env = std::getenv("FACEID_BENCH_IMAGE"); env && *env) return env;
  return default_model_dir() + "/samples/sample1.jpg";
}

struct Pipeline {
  Pipeline() {
    EngineConfig config;
    config.gallery = ":memory:";
    engine = Engine::open(config);
    photo = load_image(bench_image_path());
    // The camera case: a 640x480 frame.
    cv::resize(photo, frame, cv::Size(640, 480), 0, 0, cv::INTER_AREA);
    faces = engine->detect(frame);
  }
  std::unique_ptr<Engine> engine;
  cv::Mat photo, frame;
  std::vector<Detection> faces;
};

Pipeline& pipeline() {
  static Pipeline p;
  return p;
}

void set_threads(const benchmark::State& state) { cv::setNumThreads(static_cast<int>(state.range(0))); }

void BM_Decode(benchmark::State& state) {
  const auto bytes = read_file_bytes(bench_image_path(), 64u << 20);
  for (auto _ : state) benchmark::DoNotOptimize(decode_image(bytes));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

void BM_Detect640x480(benchmark::State& state) {
  set_threads(state);
  auto& p = pipeline();
  for (auto _ : state) benchmark::DoNotOptimize(p.engine->detect(p.frame));
  state.counters["faces"] = static_cast<double>(p.faces.size());
}
BENCHMARK(BM_Detect640x480)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AlignOneFace(benchmark::State& state) {
  auto& p = pipeline();
  if (p.faces.empty()) return state.SkipWithError("no face in the benchmark image");
  for (auto _ : state) benchmark::DoNotOptimize(p.engine->aligned_crop(p.frame, p.faces[0]));
}
BENCHMARK(BM_AlignOneFace)->Unit(benchmark::kMicrosecond);

// Embedding cost per batch of N faces (the faces of one frame go in one batch).
void BM_EmbedBatch(benchmark::State& state) {
  cv::setNumThreads(2);
  auto& p = pipeline();
  if (p.faces.empty()) return state.SkipWithError("no face in the benchmark image");
  std::vector<Detection> batch(static_cast<std::size_t>(state.range(0)), p.faces[0]);
  for (auto _ : state) benchmark::DoNotOptimize(p.engine->embed(p.frame, batch));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EmbedBatch)->Arg(1)->Arg(4)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

// Liveness cost per checked face (crop, resize, fr_liveness), one OpenCV thread: its CPU time.
void BM_LivenessOneFace(benchmark::State& state) {
  set_threads(state);
  auto& p = pipeline();
  const auto judgeable = std::find_if(p.faces.begin(), p.faces.end(), [&](const Detection& face) {
    return p.engine->check_liveness(p.frame, {face}).front().judged();
  });
  if (judgeable == p.faces.end()) return state.SkipWithError("no face of the benchmark image can be judged");
  const std::vector<Detection> one{*judgeable};
  for (auto _ : state) benchmark::DoNotOptimize(p.engine->check_liveness(p.frame, one));
}
BENCHMARK(BM_LivenessOneFace)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_IdentifyFrame(benchmark::State& state) {
  set_threads(state);
  auto& p = pipeline();
  for (auto _ : state) benchmark::DoNotOptimize(p.engine->identify(p.frame));
}
BENCHMARK(BM_IdentifyFrame)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// N enrolled faces of 25 photos a person (random unit vectors: search cost does not depend on content).
struct RandomGallery {
  static constexpr int kDim = 512;
  explicit RandomGallery(int faces) : index(kDim) {
    for (int i = 0; i < faces; ++i) {
      FaceRecord record;
      record.id = i;
      record.person = "person" + std::to_string(i / 25);
      record.embedding = random_unit();
      index.add_face(record.id, record.person, record.embedding);
      records.push_back(std::move(record));
    }
    for (int i = 0; i < 64; ++i) probes.push_back(random_unit());
  }
  Embedding random_unit() {
    Embedding e;
    e.unit.resize(kDim);
    double len = 0;
    for (auto& v : e.unit) { v = normal(rng); len += v * v; }
    for (auto& v : e.unit) v = static_cast<float>(v / std::sqrt(len));
    return e;
  }
  std::mt19937 rng{42};
  std::normal_distribution<float> normal;
  PersonIndex index;
  std::vector<FaceRecord> records;
  std::vector<Embedding> probes;  // searched in turn
};

// 1:N search, raw scores.
void BM_SearchPeople(benchmark::State& state) {
  RandomGallery gallery(static_cast<int>(state.range(0)));
  std::size_t next = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(gallery.index.rank(gallery.probes[next++ % gallery.probes.size()], MatchOptions{}, 2));
  state.SetBytesProcessed(state.iterations() * state.range(0) * RandomGallery::kDim * std::int64_t(sizeof(float)));
}
BENCHMARK(BM_SearchPeople)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// The same search with the shipped normalisation (adaptive S-norm over the gallery's cohort):
// the probe's pass over the cohort and the re-ranking of the best raw candidates on top.
void BM_SearchPeopleNormalized(benchmark::State& state) {
  RandomGallery gallery(static_cast<int>(state.range(0)));
  GalleryNormalizer normalizer(Metric::kCosine, default_norm_options());
  normalizer.load(gallery.records);
  // Steady state: each face's cohort statistics are computed once (at enrollment, or at the first
  // search after a start-up that ranks its person among the best candidates), then cached.
  for (const auto& probe : gallery.probes) rank_normalized(gallery.index, normalizer, probe, MatchOptions{}, 2);
  std::size_t next = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        rank_normalized(gallery.index, normalizer, gallery.probes[next++ % gallery.probes.size()], MatchOptions{}, 2));
}
BENCHMARK(BM_SearchPeopleNormalized)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
