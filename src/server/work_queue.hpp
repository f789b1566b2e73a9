#pragma once
// Load shedding: at most `workers` requests do image work at once and at most
// `max_waiting` wait for a turn; past that a request is refused at once (503 with
// Retry-After) instead of queueing without bound, so accepted requests keep their latency.
// A request that waited longer than its deadline is refused too: processed that late, its
// answer would most likely reach a client that has given up, at the cost of the ones behind it.
#include <chrono>
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
  enum class Refusal { kNone, kQueueFull, kWaitedTooLong };
  struct Admission {
    std::optional<Turn> turn;  // empty when refused
    Refusal refusal = Refusal::kNone;
  };
  // Waits at most `max_wait` for a turn; refused at once when the queue is full.
  Admission enter(std::chrono::milliseconds max_wait);

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
