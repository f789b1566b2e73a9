#include "core/dnn_net.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "faceid/error.hpp"
#include "faceid/image.hpp"

namespace faceid {

namespace {

std::vector<unsigned char> model_bytes(const std::string& path) {
  constexpr std::size_t kMaxModelBytes = std::size_t{1} << 30;
  const std::vector<std::uint8_t> bytes = read_file_bytes(path, kMaxModelBytes);
  return {bytes.begin(), bytes.end()};
}

// cv::dnn's name for the format of a model file: its extension ("onnx", "pb", ...).
std::string framework_of(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  return extension.empty() ? extension : extension.substr(1);
}

}  // namespace

DnnNetPool::DnnNetPool(const ModelSpec& spec, const std::string& model_file)
    : name_(spec.name + " (" + model_file + ")"),
      framework_(spec.config.empty() ? framework_of(model_file) : "caffe"),
      max_instances_(std::max(1u, std::thread::hardware_concurrency())) {
  try {
    model_ = model_bytes(model_file);
    if (!spec.config.empty())
      config_ = model_bytes((std::filesystem::path(model_file).parent_path() / spec.config).string());
  } catch (const Error& e) {
    throw Error(ErrorCode::kModelInvalid, "cannot load model " + name_ + ": " + e.what());
  }
  instances_.push_back(std::make_unique<cv::dnn::Net>(load()));
  idle_.push_back(instances_.back().get());
}

cv::dnn::Net DnnNetPool::load() const {
  cv::dnn::Net net;
  try {
    // cv::dnn::readNet(framework, buffers) does not know ONNX in OpenCV 4.6.
    net = framework_ == "onnx" ? cv::dnn::readNetFromONNX(model_) : cv::dnn::readNet(framework_, model_, config_);
  } catch (const cv::Exception& e) {
    throw Error(ErrorCode::kModelInvalid, "cannot load model " + name_ + ": " + e.what());
  }
  if (net.empty()) throw Error(ErrorCode::kModelInvalid, "model " + name_ + " is empty");
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

DnnNetPool::Lease::Lease(const DnnNetPool& p) : pool(p), net(nullptr) {
  std::unique_lock lock(pool.mutex_);
  for (;;) {
    if (!pool.idle_.empty()) {
      net = pool.idle_.back();
      pool.idle_.pop_back();
      return;
    }
    if (pool.instances_.size() + pool.loading_ < pool.max_instances_) break;
    pool.released_.wait(lock);
  }
  // Every instance is busy and there is room for one more: load it without holding the lock.
  ++pool.loading_;
  lock.unlock();
  std::unique_ptr<cv::dnn::Net> fresh;
  try {
    fresh = std::make_unique<cv::dnn::Net>(pool.load());
  } catch (...) {
    lock.lock();
    --pool.loading_;
    pool.released_.notify_one();
    throw;
  }
  lock.lock();
  --pool.loading_;
  net = fresh.get();
  pool.instances_.push_back(std::move(fresh));
}

DnnNetPool::Lease::~Lease() {
  {
    std::lock_guard lock(pool.mutex_);
    pool.idle_.push_back(net);
  }
  pool.released_.notify_one();
}

}  // namespace faceid
