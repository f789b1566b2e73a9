// CPU and wall time of each VideoIdentifier::process() call over a video, and how soon each track
// is first named: what `faceid watch` costs per frame, measured without its output.
// Process CPU (getrusage, every thread: OpenCV's pool included) is the figure a loaded machine
// cannot stretch.
//
//   build/bench/faceid_video_cpu --detect-every 1 --enroll lin=ref.png ... clip.mp4
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>

#include "faceid/faceid.hpp"
#include "faceid/video.hpp"

namespace {

using namespace faceid;

double cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return 1e3 * (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-3 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

nlohmann::json distribution(std::vector<double> samples) {
  if (samples.empty()) return nullptr;
  std::sort(samples.begin(), samples.end());
  double sum = 0.;
  for (double s : samples) sum += s;
  const auto at = [&](double q) { return samples[std::min(samples.size() - 1, std::size_t(q * samples.size()))]; };
  return {{"mean", sum / double(samples.size())}, {"median", at(0.5)}, {"p99", at(0.99)}, {"max", samples.back()}};
}

int usage() {
  std::cerr << "usage: faceid_video_cpu [--detect-every N] [--background-recognition] [--threads N] [--enroll PERSON=IMAGE]... VIDEO\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  VideoOptions options;
  int threads = -1;  // OpenCV's default, as `faceid watch`
  std::vector<std::pair<std::string, std::string>> references;
  std::string video;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--detect-every" && has_value) {
      options.detect_every = std::atoi(argv[++i]);
    } else if (arg == "--background-recognition") {
      options.background_recognition = true;
    } else if (arg == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--enroll" && has_value) {
      const std::string spec = argv[++i];
      const auto equals = spec.find('=');
      if (equals == std::string::npos) return usage();
      references.emplace_back(spec.substr(0, equals), spec.substr(equals + 1));
    } else if (arg[0] != '-' && video.empty()) {
      video = arg;
    } else {
      return usage();
    }
  }
  if (video.empty()) return usage();
  if (threads > 0) cv::setNumThreads(threads);

  try {
    EngineConfig config;
    const auto gallery = std::filesystem::temp_directory_path() / ("faceid_video_cpu_" + std::to_string(getpid()));
    std::filesystem::remove_all(gallery);
    std::filesystem::create_directories(gallery);
    config.gallery = (gallery / "gallery.db").string();
    auto engine = Engine::open(config);
    for (const auto& [person, path] : references)
      engine->enroll(person, {{path, read_file_bytes(path, 64u << 20)}}, true);

    VideoIdentifier identifier(*engine, options);
    VideoSource source(video);
    std::vector<double> cpu, wall;
    std::map<int, double> entered;
    std::vector<double> first_identification_ms;
    std::map<int, std::string> final_identity;  // track -> person ("" unknown) at its leave
    std::set<std::string> named;
    const auto record = [&](const std::vector<VideoEvent>& events) {
      for (const auto& event : events) {
        const int track = event.face.track_id;
        if (event.type == VideoEventType::kEnter) entered[track] = event.timestamp;
        if (event.type == VideoEventType::kIdentified && entered.count(track)) {
          first_identification_ms.push_back(1e3 * (event.timestamp - entered[track]));
          entered.erase(track);
        }
        if (event.type == VideoEventType::kIdentified) named.insert(event.face.person);
        if (event.type == VideoEventType::kLeave) final_identity[track] = event.face.person;
      }
    };
    cv::Mat frame;
    double t = 0.;
    while (source.read(frame, t)) {
      const double cpu_start = cpu_ms();
      const auto wall_start = std::chrono::steady_clock::now();
      identifier.process(frame, t);
      wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_start).count());
      cpu.push_back(cpu_ms() - cpu_start);
      record(identifier.take_events());
    }
    identifier.finish(t);
    record(identifier.take_events());
    std::filesystem::remove_all(gallery);

    const VideoStats stats = identifier.stats();
    nlohmann::json tracks = nlohmann::json::object();
    for (const auto& [track, person] : final_identity) tracks[std::to_string(track)] = person;
    const nlohmann::json report = {
        {"video", video},
        {"detect_every", options.detect_every},
        {"background_recognition", options.background_recognition},
        {"frames", stats.frames},
        {"detector_runs", stats.detector_runs},
        {"landmark_runs", stats.landmark_runs},
        {"recognitions", stats.recognitions},
        {"cpu_ms_per_frame", distribution(cpu)},
        {"wall_ms_per_frame", distribution(wall)},
        {"first_identification_ms_after_enter", distribution(first_identification_ms)},
        {"named", named},
        {"final_identity_by_track", tracks}};
    std::cout << report.dump(2) << "\n";
  } catch (const Error& e) {
    std::cerr << "faceid_video_cpu: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
