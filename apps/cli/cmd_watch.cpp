// faceid watch SOURCE: who is in a video file, camera or stream, as events.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "faceid/annotation.hpp"
#include "faceid/error.hpp"
#include "faceid/json_numbers.hpp"
#include "faceid/video.hpp"
#include "output.hpp"

namespace faceid::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void request_stop(int) { g_stop.store(true); }

struct WatchOptions {
  std::string source;
  std::string annotate;
  bool show = false;
  bool no_status = false;
  int loops = 1;
  std::int64_t max_frames = 0;
  int reconnects = VideoSourceOptions{}.reconnect_attempts;
  VideoOptions video;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

nlohmann::json person_json(const TrackedFace& face) {
  switch (face.state) {
    case IdentityState::kIdentified: return face.person;
    case IdentityState::kUnknown: return "unknown";
    case IdentityState::kPending:
    case IdentityState::kAttack: break;  // no identity (yet, or ever)
  }
  return nullptr;
}

std::string person_text(const TrackedFace& face) {
  if (face.state == IdentityState::kAttack) return "(attack)";
  const auto person = person_json(face);
  return person.is_null() ? "(pending)" : person.get<std::string>();
}

nlohmann::json event_json(const VideoEvent& event) {
  const TrackedFace& face = event.face;
  nlohmann::json j = {{"event", video_event_name(event.type)},
                      {"time", std::round(event.timestamp * 1000.) / 1000.},
                      {"track", face.track_id},
                      {"state", identity_state_name(face.state)},
                      {"person", person_json(face)},
                      {"score", json_score(face.score)},
                      {"votes", face.votes},
                      {"recognitions", face.recognitions},
                      {"quality", json_score(face.quality)}};
  if (face.live_score) j["live"] = {{"score", json_score(*face.live_score)}, {"samples", face.live_samples}};
  j.update(detection_json(face.detection));
  return j;
}

void print_event(const VideoEvent& event, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    print_json_line(event_json(event));
    return;
  }
  std::printf("%9.3f  %-10s  %5d  %-24s  %7s  %5d\n", event.timestamp, video_event_name(event.type),
              event.face.track_id, person_text(event.face).c_str(), format_score(event.face.score).c_str(),
              event.face.votes);
  std::fflush(stdout);
}

cv::Scalar colour_of(IdentityState state) {
  switch (state) {
    case IdentityState::kIdentified: return {60, 200, 60};
    case IdentityState::kUnknown: return {60, 60, 230};
    case IdentityState::kAttack: return {200, 40, 200};
    case IdentityState::kPending: break;
  }
  return {0, 200, 230};
}

void draw_faces(cv::Mat& frame, const std::vector<TrackedFace>& faces) {
  for (const auto& face : faces) {
    const cv::Rect box(face.detection.box);
    const cv::Scalar colour = colour_of(face.state);
    cv::rectangle(frame, box, colour, 2);
    const std::string label = "#" + std::to_string(face.track_id) + " " + person_text(face) +
                              (face.state == IdentityState::kIdentified ? " " + format_score(face.score) : "");
    int baseline = 0;
    const cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, 0.5, 1, &baseline);
    const cv::Point origin = label_origin(box, text, baseline, frame.size());
    cv::rectangle(frame, origin + cv::Point(0, baseline), origin + cv::Point(text.width, -text.height - 2), colour,
                  cv::FILLED);
    cv::putText(frame, label, origin, cv::FONT_HERSHEY_SIMPLEX, 0.5, {255, 255, 255}, 1, cv::LINE_AA);
  }
}

// Running figures for the status line and the final summary.
struct WatchStats {
  Clock::time_point started = Clock::now();
  std::int64_t frames = 0;
  double latency_sum_ms = 0., latency_max_ms = 0.;
  double media_seconds = 0.;
  std::map<int, double> entered_at;           // track -> enter time (media clock)
  std::vector<double> time_to_identify;       // seconds from enter to first decision
  std::set<std::string> people;
  int reconnects = 0;
  std::int64_t failed_reads = 0;

  void record_event(const VideoEvent& event) {
    if (event.type == VideoEventType::kEnter) entered_at[event.face.track_id] = event.timestamp;
    if (event.type != VideoEventType::kIdentified) return;
    if (event.face.state == IdentityState::kIdentified) people.insert(event.face.person);
    const auto it = entered_at.find(event.face.track_id);
    if (it != entered_at.end()) {
      time_to_identify.push_back(event.timestamp - it->second);
      entered_at.erase(it);
    }
  }
};

class StatusLine {
 public:
  explicit StatusLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

  void update(const WatchStats& stats, std::size_t faces, double latency_ms) {
    if (!enabled_) return;
    const double now = seconds_since(stats.started);
    // A terminal gets a line redrawn in place; a log file one line every few seconds.
    if (now - last_ < (tty_ ? 0.5 : 5.0)) return;
    last_ = now;
    std::fprintf(stderr, "%sframe %lld  t=%.1fs  %.1f fps  %zu face%s  latency %.1f ms%s", tty_ ? "\r" : "",
                 static_cast<long long>(stats.frames), stats.media_seconds, double(stats.frames) / std::max(now, 1e-9),
                 faces, faces == 1 ? "" : "s", latency_ms, tty_ ? "   " : "\n");
    drawn_ = tty_;
  }

  void close() {
    if (drawn_) std::fputs("\n", stderr);
    drawn_ = false;
  }

 private:
  bool enabled_, tty_;
  bool drawn_ = false;
  double last_ = -1e9;
};

nlohmann::json summary_json(const WatchOptions& options, const WatchStats& stats, const VideoStats& video,
                            const std::string& end_reason) {
  const double wall = seconds_since(stats.started);
  double mean_identify = 0., max_identify = 0.;
  for (double t : stats.time_to_identify) {
    mean_identify += t;
    max_identify = std::max(max_identify, t);
  }
  if (!stats.time_to_identify.empty()) mean_identify /= double(stats.time_to_identify.size());
  auto ms = [](double seconds) { return std::round(seconds * 10000.) / 10.; };
  return {{"summary",
           {{"source", options.source},
            {"end", end_reason},
            {"frames", stats.frames},
            {"media_seconds", std::round(stats.media_seconds * 1000.) / 1000.},
            {"wall_seconds", std::round(wall * 1000.) / 1000.},
            {"fps", std::round(double(stats.frames) / std::max(wall, 1e-9) * 10.) / 10.},
            {"mean_latency_ms", std::round(stats.latency_sum_ms / double(std::max<std::int64_t>(stats.frames, 1)) * 10.) / 10.},
            {"max_latency_ms", std::round(stats.latency_max_ms * 10.) / 10.},
            {"detector_runs", video.detector_runs},
            {"recognitions", video.recognitions},
            {"tracks", video.tracks},
            {"scene_cuts", video.scene_cuts},
            {"mean_time_to_identify_ms", ms(mean_identify)},
            {"max_time_to_identify_ms", ms(max_identify)},
            {"people", stats.people},
            {"reconnects", stats.reconnects},
            {"failed_reads", stats.failed_reads}}}};
}

void print_summary(const nlohmann::json& summary, OutputFormat format) {
  if (format == OutputFormat::kJson) {
    print_json_line(summary);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : summary["summary"].items())
    rows.push_back({key, value.is_string() ? value.get<std::string>() : value.dump()});
  print_table({"SUMMARY", "VALUE"}, rows);
}

// The frames of one watch run through the identifier, with its events, status line, annotated
// video and window.
class WatchRun {
 public:
  WatchRun(const WatchOptions& options, VideoIdentifier& identifier, OutputFormat format, bool show)
      : options_(options), identifier_(identifier), format_(format), show_(show), status_(!options.no_status) {}

  // One pass over `source`, its clock starting at `time_offset`; returns why it stopped ("" at
  // the end of the file).
  std::string play(VideoSource& source, double time_offset) {
    cv::Mat frame;
    double timestamp = 0.;
    while (true) {
      if (options_.max_frames > 0 && stats.frames >= options_.max_frames) return "frame limit";
      const auto frame_started = Clock::now();
      if (!source.read(frame, timestamp)) return source.end_reason() == "end of file" ? "" : source.end_reason();
      const double t = time_offset + timestamp;
      const auto faces = identifier_.process(frame, t);
      flush_events();
      const double latency_ms = seconds_since(frame_started) * 1000.;
      ++stats.frames;
      stats.media_seconds = t;
      stats.latency_sum_ms += latency_ms;
      stats.latency_max_ms = std::max(stats.latency_max_ms, latency_ms);
      status_.update(stats, faces.size(), latency_ms);
      output_frame(frame, faces, source.fps());
    }
  }

  void flush_events() {
    for (const auto& event : identifier_.take_events()) {
      stats.record_event(event);
      print_event(event, format_);
    }
  }

  void close() {
    status_.close();
    if (writer_) writer_->writer.release();
    if (show_) cv::destroyAllWindows();
  }

  WatchStats stats;

 private:
  // The frame with boxes and names, into the annotated video and the window.
  void output_frame(cv::Mat& frame, const std::vector<TrackedFace>& faces, double fps) {
    if (options_.annotate.empty() && !show_) return;
    draw_faces(frame, faces);
    if (!options_.annotate.empty()) {
      if (!writer_) {
        writer_.emplace(open_annotation_writer(options_.annotate, fps > 0. ? fps : 25., frame.size()));
        if (!writer_->warning.empty()) spdlog::warn("{}", writer_->warning);
        spdlog::debug("annotated video {} written as {}", options_.annotate, writer_->codec);
      }
      writer_->writer.write(frame);
    }
    if (show_) {
      cv::imshow("faceid watch", frame);
      const int key = cv::waitKey(1);
      if (key == 'q' || key == 27) g_stop.store(true);
    }
  }

  const WatchOptions& options_;
  VideoIdentifier& identifier_;
  OutputFormat format_;
  bool show_;
  StatusLine status_;
  std::optional<AnnotationWriter> writer_;
};

void run_watch(const WatchOptions& options, const GlobalOptions& globals, RunState& state) {
  const OutputFormat format = globals.output_format();
  EngineConfig config = globals.engine_config();
  VideoOptions video = options.video;
  video.liveness = video.liveness || config.liveness.enabled;  // the flag here, or the global key
  config.liveness.enabled = video.liveness;  // loads the liveness model up front
  auto engine = Engine::open(config);
  VideoIdentifier identifier(*engine, video);

  g_stop.store(false);
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  bool show = options.show;
  if (show && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) {
    std::cerr << "faceid watch: no display (DISPLAY is not set); --show ignored\n";
    show = false;
  }
  if (format == OutputFormat::kTable)
    std::printf("%9s  %-10s  %5s  %-24s  %7s  %5s\n", "TIME", "EVENT", "TRACK", "PERSON", "SCORE", "VOTES");

  VideoSourceOptions source_options;
  source_options.reconnect_attempts = options.reconnects;
  source_options.stop = &g_stop;
  WatchRun run(options, identifier, format, show);
  std::string end_reason;
  double time_offset = 0.;  // replays continue the clock
  for (int loop = 0; loop < options.loops && end_reason.empty(); ++loop) {
    VideoSource source(options.source, source_options);
    if (loop > 0) identifier.finish(time_offset);  // a replay is a new scene
    end_reason = run.play(source, time_offset);
    run.stats.reconnects += source.reconnects();
    run.stats.failed_reads += source.failed_reads();
    time_offset = run.stats.media_seconds + (source.fps() > 0. ? 1. / source.fps() : 0.04);
  }
  if (end_reason.empty()) end_reason = "end of file";

  identifier.finish(run.stats.media_seconds);
  run.flush_events();
  run.close();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  print_summary(summary_json(options, run.stats, identifier.stats(), end_reason), format);
  // A live source that could not be brought back is a failure the caller must see.
  state.exit_code = end_reason.rfind("source lost", 0) == 0 ? 1 : 0;
}

}  // namespace

void add_watch_command(CLI::App& app, GlobalOptions& globals, RunState& state) {
  auto options = std::make_shared<WatchOptions>();
  auto* cmd = app.add_subcommand(
      "watch", "Identify and track the people in a video file, camera (0, /dev/video0) or stream URL, as events");
  cmd->add_option("source", options->source, "Video file, camera index or device, or rtsp/http URL")->required();
  cmd->add_option("--annotate", options->annotate, "Write the video with boxes and names drawn (.mp4)");
  cmd->add_flag("--show", options->show, "Show the annotated video in a window (needs a display; q quits)");
  cmd->add_flag("--no-status", options->no_status, "No status line (fps, faces, latency) on stderr");
  cmd->add_option("--detect-every", options->video.detect_every,
                  "Run the detector every k-th frame, track in between")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--recheck-every", options->video.recheck_every, "Re-recognise each track every N frames")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--vote-window", options->video.vote_window, "Recognitions of a track the vote looks at")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--votes", options->video.votes_to_decide, "Agreeing votes needed to name a track")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-recognitions", options->video.max_recognitions_per_frame,
                  "Faces embedded per frame at most, pending tracks first (bounds a frame's latency); 0 = no limit")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--background-recognition", options->video.background_recognition,
               "Embed new faces in a worker thread: frames never wait for it, names arrive a few frames later");
  cmd->add_option("--min-quality", options->video.min_quality, "Faces below this quality (0..1) are not recognised")
      ->capture_default_str()
      ->check(CLI::Range(0.f, 1.f));
  add_liveness_flag(cmd, options->video.liveness);
  cmd->add_option("--liveness-frames", options->video.liveness_frames,
                  "With --liveness: judged faces whose mean live score decides a track")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--scene-cut", options->video.scene_cut_threshold,
                  "Frame change (0..255) taken as a cut that ends all tracks; 0 = off")
      ->capture_default_str()
      ->check(CLI::Range(0.f, 255.f));
  cmd->add_option("--loop", options->loops, "Play a video file this many times (a longer test stream)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-frames", options->max_frames, "Stop after this many frames (0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--reconnect", options->reconnects, "Reconnect attempts for cameras and streams that drop (0.5 s, 1 s, 2 s ... at most 8 s apart); "
                  "exit 1 when all fail")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([options, &globals, &state] { run_watch(*options, globals, state); });
}

}  // namespace faceid::cli
