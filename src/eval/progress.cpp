#include "eval/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace faceid::eval {

namespace {

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return text;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && total > 0),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (enabled_) draw(done_.load(), true);
}

void ProgressBar::advance() {
  const std::size_t done = ++done_;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(draw_mutex_, std::try_to_lock);
  if (!lock) return;
  if (terminal_) {
    if (now - last_draw_ < std::chrono::milliseconds(200) && done != total_) return;
  } else {
    // Logs (not a terminal) get a line per tenth instead of a redrawn bar.
    const std::size_t tenth = done * 10 / total_;
    if (tenth == last_logged_tenth_ || done == total_) return;  // the destructor prints the last line
    last_logged_tenth_ = tenth;
  }
  last_draw_ = now;
  draw(done, false);
}

void ProgressBar::draw(std::size_t done, bool final_line) {
  constexpr int kWidth = 30;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
  const double eta = rate > 0 ? double(total_ - done) / rate : 0.0;
  const int filled = static_cast<int>(kWidth * double(done) / double(total_));
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<std::size_t>(kWidth - filled - 1), ' ');
  std::fprintf(stderr, "%s%s [%s] %zu/%zu %.1f/s %s %s%s", terminal_ ? "\r" : "", label_.c_str(), bar.c_str(), done,
               total_, rate, final_line ? "took" : "ETA", format_duration(final_line ? elapsed : eta).c_str(),
               terminal_ && !final_line ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace faceid::eval
