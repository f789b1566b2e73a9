// Per-call overhead of the Python binding: engine.identify(frame) run as Python code against
// Engine::identify called from C++, on the same frame (the NumPy array views the cv::Mat's
// pixels), in one process, with the same models and gallery content.
// Run: build/bench/faceid_python_bench
// BM_IdentifyOverhead is the figure to read: it alternates the two calls and compares the CPU
// time of the calling thread, which stays meaningful on a machine busy with other work.
// Photo: $FACEID_BENCH_IMAGE, else the installed sample group photo (as faceid_bench).
#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <pybind11/embed.h>
#include <pybind11/numpy.h>

#include "faceid/faceid.hpp"

namespace py = pybind11;

namespace {

std::string bench_image_path() {
  if (const char* env = std::getenv("FACEID_BENCH_IMAGE"); env && *env) return env;
  return faceid::default_model_dir() + "/samples/sample1.jpg";
}

struct Setup {
  Setup() {
    cv::resize(faceid::load_image(bench_image_path()), frame, cv::Size(640, 480), 0, 0, cv::INTER_AREA);
    faceid::EngineConfig config;
    config.gallery = ":memory:";
    engine = faceid::Engine::open(config);
    // Both engines hold the photo's largest face, so results carry a best candidate.
    engine->enroll("someone", {{"photo", faceid::read_file_bytes(bench_image_path(), 64u << 20)}});

    py::module_::import("sys").attr("path").attr("insert")(0, FACEID_PYTHON_DIR);
    globals["faceid"] = py::module_::import("faceid");
    globals["photo"] = bench_image_path();
    py::exec("engine = faceid.Engine(gallery=':memory:')\nengine.enroll('someone', [photo])\n", globals);
    // A view of the C++ frame's pixels, as cv2 would hand them over (no copy).
    const std::vector<py::ssize_t> strides = {static_cast<py::ssize_t>(frame.step[0]), 3, 1};
    globals["frame"] = py::array_t<std::uint8_t>({frame.rows, frame.cols, 3}, strides, frame.data,
                                                 py::capsule(frame.data, [](void*) {}));
    identify_call = py::reinterpret_steal<py::object>(
        Py_CompileString("engine.identify(frame)", "<bench>", Py_eval_input));
  }

  py::scoped_interpreter python;  // first in, last out: every Python object below needs it
  cv::Mat frame;
  std::unique_ptr<faceid::Engine> engine;
  py::dict globals;  // holds the view of `frame`, so it goes first
  py::object identify_call;
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_IdentifyCpp(benchmark::State& state) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  auto& s = setup();
  for (auto _ : state) benchmark::DoNotOptimize(s.engine->identify(s.frame));
}
BENCHMARK(BM_IdentifyCpp)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a Python caller pays: bytecode, argument conversion, GIL release, result objects.
void identify_from_python(const Setup& s) {
  PyObject* faces = PyEval_EvalCode(s.identify_call.ptr(), s.globals.ptr(), s.globals.ptr());
  if (!faces) throw py::error_already_set();
  Py_DECREF(faces);
}

void BM_IdentifyPython(benchmark::State& state) {
  cv::setNumThreads(static_cast<int>(state.range(0)));
  auto& s = setup();
  for (auto _ : state) identify_from_python(s);
}
BENCHMARK(BM_IdentifyPython)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

template <typename F>
double thread_cpu_ms(F&& call) {
  timespec start{}, end{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  call();
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
  return (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Pairs of calls, C++ and Python, timed by the CPU time of this thread: with one OpenCV thread
// every step of both runs here, so time lost to other processes is not counted. Counters:
// median C++ and Python ms per call, and the median per-pair difference in % of the C++ call.
void BM_IdentifyOverhead(benchmark::State& state) {
  cv::setNumThreads(1);
  auto& s = setup();
  std::vector<double> cpp, python, extra;
  for (auto _ : state) {
    const auto cpp_call = [&] {
      cpp.push_back(thread_cpu_ms([&] { benchmark::DoNotOptimize(s.engine->identify(s.frame)); }));
    };
    const auto python_call = [&] { python.push_back(thread_cpu_ms([&] { identify_from_python(s); })); };
    // Alternating which goes first cancels what the first call leaves warm for the second.
    if (cpp.size() % 2) {
      python_call();
      cpp_call();
    } else {
      cpp_call();
      python_call();
    }
    extra.push_back(python.back() - cpp.back());
  }
  state.counters["cpp_ms"] = median(cpp);
  state.counters["python_ms"] = median(python);
  state.counters["overhead_pct"] = 100. * median(extra) / median(cpp);
}
BENCHMARK(BM_IdentifyOverhead)->Iterations(60)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
