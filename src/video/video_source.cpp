// VideoSource: files end, live sources are reopened with back-off.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <thread>

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

VideoSource::VideoSource(const std::string& spec, const VideoSourceOptions& options)
    : spec_(spec), kind_(kind_of(spec)), options_(options) {
  if (options.reconnect_attempts < 0 || options.max_failed_reads < 1 || options.max_backoff_seconds < 0.)
    throw Error(ErrorCode::kBadRequest,
                "video source options: reconnect_attempts >= 0, max_failed_reads >= 1, max_backoff_seconds >= 0");
  if (kind_ == SourceKind::kFile && !std::filesystem::exists(spec))
    throw Error(ErrorCode::kNotFound, "video file not found: " + spec);
  if (!open())
    throw Error(ErrorCode::kIo, "cannot open video source " + spec +
                                    (kind_ == SourceKind::kFile ? " (not a video OpenCV/FFmpeg can decode)"
                                                                : " (device busy or absent, or stream unreachable)"));
  live_origin_ = steady_seconds();
}

bool VideoSource::open() {
  capture_.release();
  if (kind_ == SourceKind::kCamera) {
    const int index = is_camera_index(spec_) ? std::stoi(spec_) : -1;
    if (index >= 0) capture_.open(index);
    else capture_.open(spec_, cv::CAP_V4L2);
  } else if (kind_ == SourceKind::kStream) {
    // A stalled network stream must end in a reconnect, not block read() for ever.
    capture_.open(spec_, cv::CAP_FFMPEG,
                  {cv::CAP_PROP_OPEN_TIMEOUT_MSEC, kStreamTimeoutMs, cv::CAP_PROP_READ_TIMEOUT_MSEC, kStreamTimeoutMs});
  } else {
    capture_.open(spec_, cv::CAP_FFMPEG);
  }
  return capture_.isOpened();
}

double VideoSource::fps() const {
  const double fps = capture_.isOpened() ? capture_.get(cv::CAP_PROP_FPS) : 0.;
  return std::isfinite(fps) && fps > 0. && fps < 1000. ? fps : 0.;
}

bool VideoSource::wait(double seconds) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (options_.stop && options_.stop->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !(options_.stop && options_.stop->load());
}

bool VideoSource::reconnect() {
  double backoff = 0.5;
  while (reconnects_ < options_.reconnect_attempts) {
    ++reconnects_;
    spdlog::warn("video source {} dropped; reconnecting in {:.1f} s (attempt {}/{})", spec_, backoff, reconnects_,
                 options_.reconnect_attempts);
    if (!wait(backoff)) return false;
    if (open()) return true;
    backoff = std::min(backoff * 2, options_.max_backoff_seconds);
  }
  return false;
}

bool VideoSource::read(cv::Mat& frame, double& timestamp_seconds) {
  if (!end_reason_.empty()) return false;
  int failed_in_a_row = 0;
  while (true) {
    if (options_.stop && options_.stop->load()) {
      end_reason_ = "stopped";
      return false;
    }
    cv::Mat raw;
    bool ok = capture_.isOpened() && capture_.read(raw) && !raw.empty();
    if (ok) {
      try {
        frame = to_bgr_frame(raw);
      } catch (const Error&) {
        ok = false;  // a frame of a kind we cannot use counts as a corrupt one
      }
    }
    if (ok) break;
    ++failed_reads_;
    // A file's first failed read is usually its end; a few more tries skip a corrupt
    // frame in the middle without hanging on a truncated file.
    const int allowed = kind_ == SourceKind::kFile ? std::min(options_.max_failed_reads, 3) : options_.max_failed_reads;
    if (++failed_in_a_row < allowed && capture_.isOpened()) continue;
    if (kind_ == SourceKind::kFile) {
      end_reason_ = "end of file";
      return false;
    }
    if (!reconnect()) {
      end_reason_ = options_.stop && options_.stop->load() ? "stopped" : "source lost (reconnect attempts exhausted)";
      return false;
    }
    failed_in_a_row = 0;
  }
  ++frames_read_;
  double t = kind_ == SourceKind::kFile ? capture_.get(cv::CAP_PROP_POS_MSEC) / 1000. : steady_seconds() - live_origin_;
  // Some containers report no or repeating positions: fall back to the frame count.
  if (!std::isfinite(t) || t <= last_timestamp_) {
    const double rate = fps() > 0. ? fps() : 25.;
    t = std::max(last_timestamp_ + 1. / rate, double(frames_read_ - 1) / rate);
  }
  last_timestamp_ = t;
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
