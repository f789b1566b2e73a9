// VideoSource: files end, live sources are reopened with back-off.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <thread>

#include <opencv2/videoio.hpp>
#include <spdlog/spdlog.h>

#include "faceid/error.hpp"
#include "faceid/video.hpp"
#include "frame_input.hpp"

namespace faceid {
namespace {

constexpr int kStreamTimeoutMs = 10000;

bool is_url(const std::string& spec) {
  for (const char* scheme : {"rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://"})
    if (spec.rfind(scheme, 0) == 0) return true;
  return false;
}

bool is_camera_index(const std::string& spec) {
  return !spec.empty() && spec.size() <= 3 && std::all_of(spec.begin(), spec.end(), [](unsigned char c) {
           return std::isdigit(c);
         });
}

SourceKind kind_of(const std::string& spec) {
  if (is_url(spec)) return SourceKind::kStream;
  if (is_camera_index(spec) || spec.rfind("/dev/video", 0) == 0) return SourceKind::kCamera;
  return SourceKind::kFile;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

struct VideoSource::State {
  State(const std::string& source_spec, const VideoSourceOptions& source_options)
      : spec(source_spec), kind(kind_of(source_spec)), options(source_options) {}

  bool open();
  bool reconnect();
  bool wait(double seconds) const;  // false when stopped
  bool stopped() const { return options.stop && options.stop->load(); }
  double fps() const;
  bool read(cv::Mat& frame, double& timestamp_seconds);

  std::string spec;
  SourceKind kind;
  VideoSourceOptions options;
  cv::VideoCapture capture;
  std::int64_t frames_read = 0;
  std::int64_t failed_reads = 0;
  int reconnects = 0;
  double last_timestamp = -1.;
  double live_origin = 0.;  // steady-clock seconds when the live source was first opened
  std::string end_reason;
};

VideoSource::VideoSource(const std::string& spec, const VideoSourceOptions& options)
    : state_(std::make_unique<State>(spec, options)) {
  if (options.reconnect_attempts < 0 || options.max_failed_reads < 1 || options.max_backoff_seconds < 0.)
    throw Error(ErrorCode::kBadRequest,
                "video source options: reconnect_attempts >= 0, max_failed_reads >= 1, max_backoff_seconds >= 0");
  const bool file = state_->kind == SourceKind::kFile;
  if (file && !std::filesystem::exists(spec)) throw Error(ErrorCode::kNotFound, "video file not found: " + spec);
  if (!state_->open())
    throw Error(ErrorCode::kIo, "cannot open video source " + spec +
                                    (file ? " (not a video OpenCV/FFmpeg can decode)"
                                          : " (device busy or absent, or stream unreachable)"));
  state_->live_origin = steady_seconds();
}

VideoSource::~VideoSource() = default;

bool VideoSource::read(cv::Mat& frame, double& timestamp_seconds) { return state_->read(frame, timestamp_seconds); }
SourceKind VideoSource::kind() const { return state_->kind; }
const std::string& VideoSource::spec() const { return state_->spec; }
double VideoSource::fps() const { return state_->fps(); }
int VideoSource::reconnects() const { return state_->reconnects; }
std::int64_t VideoSource::failed_reads() const { return state_->failed_reads; }
const std::string& VideoSource::end_reason() const { return state_->end_reason; }

bool VideoSource::State::open() {
  capture.release();
  if (kind == SourceKind::kCamera) {
    const int index = is_camera_index(spec) ? std::stoi(spec) : -1;
    if (index >= 0) capture.open(index);
    else capture.open(spec, cv::CAP_V4L2);
  } else if (kind == SourceKind::kStream) {
    // A stalled network stream must end in a reconnect, not block read() for ever.
    capture.open(spec, cv::CAP_FFMPEG,
                 {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, kStreamTimeoutMs, cv::CAP_PROP_READ_TIMEOUT_MSEC, kStreamTimeoutMs});
  } else {
    capture.open(spec, cv::CAP_FFMPEG);
  }
  return capture.isOpened();
}

double VideoSource::State::fps() const {
  const double fps = capture.isOpened() ? capture.get(cv::CAP_PROP_FPS) : 0.;
  return std::isfinite(fps) && fps > 0. && fps < 1000. ? fps : 0.;
}

bool VideoSource::State::wait(double seconds) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (stopped()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !stopped();
}

bool VideoSource::State::reconnect() {
  double backoff = 0.5;
  while (reconnects < options.reconnect_attempts) {
    ++reconnects;
    spdlog::warn("video source {} dropped; reconnecting in {:.1f} s (attempt {}/{})", spec, backoff, reconnects,
                 options.reconnect_attempts);
    if (!wait(backoff)) return false;
    if (open()) return true;
    backoff = std::min(backoff * 2, options.max_backoff_seconds);
  }
  return false;
}

bool VideoSource::State::read(cv::Mat& frame, double& timestamp_seconds) {
  if (!end_reason.empty()) return false;
  int failed_in_a_row = 0;
  while (true) {
    if (stopped()) {
      end_reason = "stopped";
      return false;
    }
    cv::Mat raw;
    bool ok = capture.isOpened() && capture.read(raw) && !raw.empty();
    if (ok) {
      try {
        frame = to_bgr_frame(raw);
      } catch (const Error&) {
        ok = false;  // a frame of a kind we cannot use counts as a corrupt one
      }
    }
    if (ok) break;
    ++failed_reads;
    // A file's first failed read is usually its end; a few more tries skip a corrupt
    // frame in the middle without hanging on a truncated file.
    const int allowed = kind == SourceKind::kFile ? std::min(options.max_failed_reads, 3) : options.max_failed_reads;
    if (++failed_in_a_row < allowed && capture.isOpened()) continue;
    if (kind == SourceKind::kFile) {
      end_reason = "end of file";
      return false;
    }
    if (!reconnect()) {
      end_reason = stopped() ? "stopped" : "source lost (reconnect attempts exhausted)";
      return false;
    }
    failed_in_a_row = 0;
  }
  ++frames_read;
  double t = kind == SourceKind::kFile ? capture.get(cv::CAP_PROP_POS_MSEC) / 1000. : steady_seconds() - live_origin;
  // Some containers report no or repeating positions: fall back to the frame count.
  if (!std::isfinite(t) || t <= last_timestamp) {
    const double rate = fps() > 0. ? fps() : 25.;
    t = std::max(last_timestamp + 1. / rate, double(frames_read - 1) / rate);
  }
  last_timestamp = t;
  timestamp_seconds = t;
  return true;
}

std::vector<CapturedFace> capture_faces(const Engine& engine, const std::string& source, const CaptureOptions& options,
                                        CaptureSummary* summary, const std::atomic<bool>* stop) {
  VideoSourceOptions source_options;
  source_options.stop = stop;
  VideoSource video(source, source_options);
  FaceCapture capture(engine, options);
  cv::Mat frame;
  double timestamp = 0.;
  while (video.read(frame, timestamp)) capture.add_frame(frame, timestamp);
  if (summary) *summary = capture.summary();
  return capture.finish();
}

}  // namespace faceid
