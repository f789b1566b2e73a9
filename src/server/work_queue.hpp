#pragma once
// Load shedding: at most `workers` requests do image work at once and at most
// `max_waiting` wait for a turn; past that a request is refused at once (503 with
// Retry-After) instead of queueing without bound, so accepted requests keep their latency.
#include <condition_variable>
#include <mutex>
#include <optional>

namespace faceid::server_detail {

class WorkQueue {
 public:
  WorkQueue(int workers, int max_waiting);

  // A turn to work; released when destroyed.
  class Turn {
   public:
    explicit Turn(WorkQueue& queue) : queue_(&queue) {}
    Turn(Turn&& other) noexcept : queue_(other.queue_) { other.queue_ = nullptr; }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    Turn& operator=(Turn&&) = delete;
    ~Turn();

   private:
    WorkQueue* queue_;
  };
  // Waits for a turn; nullopt when the queue is full.
  std::optional<Turn> enter();

  int workers() const { return workers_; }
  int max_waiting() const { return max_waiting_; }

 private:
  void leave();

  const int workers_;
  const int max_waiting_;
  std::mutex mutex_;
  std::condition_variable turn_free_;
  int working_ = 0;
  int waiting_ = 0;
};

}  // namespace faceid::server_detail
