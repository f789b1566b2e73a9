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

// 1:N search over N enrolled faces (random unit vectors: search cost does not depend on content).
void BM_SearchPeople(benchmark::State& state) {
  const int dim = 512, faces = static_cast<int>(state.range(0));
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  auto random_unit = [&] {
    Embedding e;
    e.unit.resize(dim);
    double len = 0;
    for (auto& v : e.unit) { v = normal(rng); len += v * v; }
    for (auto& v : e.unit) v = static_cast<float>(v / std::sqrt(len));
    return e;
  };
  PersonIndex index(dim);
  for (int i = 0; i < faces; ++i) index.add_face(i, "person" + std::to_string(i / 25), random_unit());
  const Embedding query = random_unit();
  for (auto _ : state) benchmark::DoNotOptimize(index.rank(query, MatchOptions{}, 2));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(faces) * dim * sizeof(float));
}
BENCHMARK(BM_SearchPeople)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
