#pragma once
// cv::dnn networks described by a manifest entry, shared between threads.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "faceid/models.hpp"

namespace faceid {

// Instances of one network for concurrent callers. A cv::dnn::Net keeps per-inference state, so
// each pass borrows an instance of its own: a caller that finds every instance busy loads one
// more, up to one per hardware thread, and beyond that waits. Parallel requests with one OpenCV
// thread each then cost less CPU than one request at a time on OpenCV's thread pool
// (docs/performance.md, "Threads").
class DnnNetPool {
 public:
  // Reads an ONNX file, or a Caffe model whose prototxt is spec.config (next to `model_file`),
  // once: every instance is built from those bytes, on the CPU backend. The first instance is
  // built now, so a bad model fails here with Error(kModelInvalid).
  DnnNetPool(const ModelSpec& spec, const std::string& model_file);

  // Runs work(cv::dnn::Net&) on an instance no other thread uses meanwhile; returns its result.
  template <typename Work>
  auto run(Work&& work) const {
    const Lease lease(*this);
    return work(*lease.net);
  }

  // The first instance, for set-up queries (output names, layer shapes) before any pass.
  const cv::dnn::Net& first() const { return *instances_.front(); }

 private:
  struct Lease {
    explicit Lease(const DnnNetPool& pool);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const DnnNetPool& pool;
    cv::dnn::Net* net;
  };

  cv::dnn::Net load() const;

  std::string name_, framework_;
  std::vector<unsigned char> model_, config_;
  std::size_t max_instances_;
  mutable std::mutex mutex_;
  mutable std::condition_variable released_;
  mutable std::vector<std::unique_ptr<cv::dnn::Net>> instances_;
  mutable std::vector<cv::dnn::Net*> idle_;
  mutable std::size_t loading_ = 0;  // instances being loaded outside the lock
};

}  // namespace faceid
