#include "faceid/batch.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "core/opencv_threads.hpp"

namespace faceid {
namespace {

FileIdentification identify_file(const Engine& engine, const std::string& file) {
  FileIdentification result;
  result.file = file;
  try {
    result.faces = engine.identify(load_image(file, engine.config().limits));
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kBadImage && e.code() != ErrorCode::kNotFound && e.code() != ErrorCode::kIo)
      throw;
    result.error = e;
  }
  return result;
}

}  // namespace

void identify_files(const Engine& engine, const std::vector<std::string>& files,
                    const std::function<void(const FileIdentification&)>& on_result) {
  const std::size_t workers = std::min<std::size_t>(files.size(), std::max(1u, std::thread::hardware_concurrency()));
  if (workers <= 1) {
    for (const auto& file : files) on_result(identify_file(engine, file));
    return;
  }
  // Workers run at most `ahead` files past the one being handed out, so memory stays bounded.
  const std::size_t ahead = 4 * workers;
  std::vector<std::optional<FileIdentification>> done(files.size());
  std::size_t next_to_hand = 0;
  std::atomic<std::size_t> next_to_take{0};
  std::exception_ptr failure;
  std::mutex mutex;
  std::condition_variable changed;
  SingleThreadedOpenCv opencv_threads;
  auto work = [&] {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] {
          return failure || next_to_take >= files.size() || next_to_take < next_to_hand + ahead;
        });
        if (failure || next_to_take >= files.size()) return;
        i = next_to_take++;
      }
      try {
        FileIdentification result = identify_file(engine, files[i]);
        std::lock_guard lock(mutex);
        done[i] = std::move(result);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers; ++t) threads.emplace_back(work);
  std::exception_ptr handing_failure;
  for (; next_to_hand < files.size(); ) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return failure || done[next_to_hand]; });
    if (failure) break;
    FileIdentification result = std::move(*done[next_to_hand]);
    done[next_to_hand].reset();
    lock.unlock();
    try {
      on_result(result);
    } catch (...) {
      handing_failure = std::current_exception();
    }
    lock.lock();
    ++next_to_hand;
    if (handing_failure && !failure) failure = handing_failure;
    lock.unlock();
    changed.notify_all();
    if (handing_failure) break;
  }
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace faceid
