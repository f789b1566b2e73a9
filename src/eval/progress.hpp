#pragma once
// A progress bar with rate and ETA on stderr, for long evaluation runs.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

namespace faceid::eval {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, bool enabled);
  ~ProgressBar();  // ends the line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // One more item done. Thread-safe; redraws at most a few times a second.
  void advance();

 private:
  void draw(std::size_t done, bool final_line);

  std::string label_;
  std::size_t total_;
  bool enabled_;
  bool terminal_;
  std::atomic<std::size_t> done_{0};
  std::mutex draw_mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::size_t last_logged_tenth_ = 0;
};

}  // namespace faceid::eval
