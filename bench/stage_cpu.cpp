// Process CPU time per image of each stage of the default pipeline, over a list of photos: the C++
// side of bench/peer_pipeline.py (same stages, same JSON), so the two compare line by line.
// Google Benchmark's CPU column counts the calling thread only; OpenCV's worker threads are
// counted here (getrusage of the whole process).
//
//   build/bench/faceid_stage_cpu --threads 1 --repeats 5 IMAGE...
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>

#include "detection/detectors.hpp"
#include "detection/landmark68.hpp"
#include "faceid/faceid.hpp"

namespace {

using namespace faceid;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // every thread of the process
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// Median over `repeats` of the CPU seconds `work` takes.
double median_cpu(int repeats, const std::function<void()>& work) {
  std::vector<double> samples;
  for (int i = 0; i < repeats; ++i) {
    const double start = cpu_seconds();
    work();
    samples.push_back(cpu_seconds() - start);
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

int usage() {
  std::cerr << "usage: faceid_stage_cpu [--threads N] [--repeats N] [--gallery N] [--clients N] IMAGE...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 5, gallery = 100, clients = 0;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--threads" && has_value) threads = std::atoi(argv[++i]);
    else if (arg == "--repeats" && has_value) repeats = std::max(1, std::atoi(argv[++i]));
    else if (arg == "--gallery" && has_value) gallery = std::max(0, std::atoi(argv[++i]));
    else if (arg == "--clients" && has_value) clients = std::max(0, std::atoi(argv[++i]));
    else if (arg.rfind("--", 0) == 0) return usage();
    else paths.push_back(arg);
  }
  if (paths.empty()) return usage();
  try {
    cv::setNumThreads(threads);
    EngineConfig config;
    config.gallery = ":memory:";
    const auto engine = Engine::open(config);
    const ModelManifest manifest = ModelManifest::for_model_dir(config.model_dir);
    const ModelSpec& detector_spec = manifest.get(config.detector);
    const ModelSpec& landmark_spec = manifest.get(detector_spec.landmarks);
    // The box network alone, and the landmark network alone, to price each.
    const auto boxes_only = detection::make_ultraface_detector(
        detector_spec, config.model_dir + "/" + detector_spec.file, config.detection, nullptr);
    const detection::Landmark68Model landmarker(landmark_spec, config.model_dir + "/" + landmark_spec.file);

    std::vector<std::vector<std::uint8_t>> bytes;
    std::vector<cv::Mat> images;
    std::vector<std::vector<Detection>> faces;
    std::vector<std::vector<cv::Mat>> crops;
    std::size_t face_count = 0;
    for (const auto& path : paths) {
      bytes.push_back(read_file_bytes(path, config.limits.max_file_bytes));
      images.push_back(decode_image(bytes.back(), config.limits));
      faces.push_back(engine->detect(images.back()));
      crops.emplace_back();
      for (const auto& face : faces.back()) crops.back().push_back(engine->aligned_crop(images.back(), face));
      face_count += faces.back().size();
    }
    std::vector<Embedding> embeddings;
    for (std::size_t i = 0; i < images.size(); ++i)
      for (auto& e : engine->embed(images[i], faces[i])) embeddings.push_back(std::move(e));

    if (embeddings.empty()) throw Error(ErrorCode::kNoFace, "no face in any of the photos");
    // The search stage's gallery: the photos' own faces over and over (its cost does not depend on content).
    PersonIndex index(static_cast<int>(embeddings[0].unit.size()));
    for (int i = 0; i < gallery; ++i)
      index.add_face(i, "person" + std::to_string(i / 4), embeddings[static_cast<std::size_t>(i) % embeddings.size()]);
    engine->identify(images.front());  // warm-up: first passes allocate

    const double n = static_cast<double>(paths.size());
    nlohmann::ordered_json result = {{"implementation", "faceid C++ (OpenCV " CV_VERSION ")"},
                                     {"threads", threads},
                                     {"images", paths.size()},
                                     {"faces", face_count},
                                     {"repeats", repeats},
                                     {"unit", "CPU ms per image (median of repeats)"}};
    const auto wall_start = std::chrono::steady_clock::now();
    const auto stage = [&](const char* name, const std::function<void()>& work) {
      result[name] = std::round(1e6 * median_cpu(repeats, work) / n) / 1000.0;
    };
    stage("decode", [&] { for (const auto& b : bytes) decode_image(b, config.limits); });
    stage("detect_boxes", [&] { for (const auto& image : images) boxes_only->detect(image); });
    stage("landmarks", [&] {
      for (std::size_t i = 0; i < images.size(); ++i)
        for (const auto& face : faces[i]) landmarker.predict(images[i], face.box);
    });
    stage("align", [&] {
      for (std::size_t i = 0; i < images.size(); ++i)
        for (const auto& face : faces[i]) engine->aligned_crop(images[i], face);
    });
    stage("embed", [&] {
      for (std::size_t i = 0; i < images.size(); ++i)
        if (!faces[i].empty()) engine->embed(images[i], faces[i]);
    });
    stage("search", [&] { for (const auto& e : embeddings) index.rank(e, MatchOptions{}, 2); });
    stage("end_to_end", [&] { for (const auto& b : bytes) engine->identify(decode_image(b, config.limits)); });
    if (clients > 0) {
      // Concurrent callers (a server's request threads): each identifies every photo `repeats` times.
      const double cpu_start = cpu_seconds();
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> callers;
      for (int c = 0; c < clients; ++c)
        callers.emplace_back([&] {
          for (int r = 0; r < repeats; ++r)
            for (const auto& b : bytes) engine->identify(decode_image(b, config.limits));
        });
      for (auto& caller : callers) caller.join();
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double identified = static_cast<double>(clients) * repeats * n;
      result["clients"] = clients;
      result["clients_cpu_ms_per_image"] = std::round(1e6 * (cpu_seconds() - cpu_start) / identified) / 1000.0;
      result["clients_images_per_s"] = std::round(10 * identified / wall) / 10;
    }
    result["wall_s"] =
        std::round(10 * std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count()) / 10;
    std::cout << result.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "faceid_stage_cpu: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
