#pragma once
// OpenCV's own thread pool switched off for a scope whose callers already run in parallel.
#include <opencv2/core/utility.hpp>

namespace faceid {

// Workers that already fill every core gain nothing from OpenCV's pool on top: it only adds
// contention and spinning.
class SingleThreadedOpenCv {
 public:
  SingleThreadedOpenCv() : previous_(cv::getNumThreads()) { cv::setNumThreads(1); }
  ~SingleThreadedOpenCv() { cv::setNumThreads(previous_); }
  SingleThreadedOpenCv(const SingleThreadedOpenCv&) = delete;
  SingleThreadedOpenCv& operator=(const SingleThreadedOpenCv&) = delete;

 private:
  int previous_;
};

}  // namespace faceid
