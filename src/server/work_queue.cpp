#include "server/work_queue.hpp"

#include "faceid/error.hpp"

namespace faceid::server_detail {

WorkQueue::WorkQueue(int workers, int max_waiting) : workers_(workers), max_waiting_(max_waiting) {
  if (workers < 1) throw Error(ErrorCode::kBadRequest, "the server needs at least one worker");
  if (max_waiting < 0) throw Error(ErrorCode::kBadRequest, "the work queue length cannot be negative");
}

WorkQueue::Turn::~Turn() {
  if (queue_) queue_->leave();
}

WorkQueue::Admission WorkQueue::enter(std::chrono::milliseconds max_wait) {
  std::unique_lock lock(mutex_);
  if (working_ >= workers_) {
    if (waiting_ >= max_waiting_) return {std::nullopt, Refusal::kQueueFull};
    ++waiting_;
    const bool turn_came = turn_free_.wait_for(lock, max_wait, [this] { return working_ < workers_; });
    --waiting_;
    if (!turn_came) return {std::nullopt, Refusal::kWaitedTooLong};
  }
  ++working_;
  return {Turn(*this), Refusal::kNone};
}

void WorkQueue::leave() {
  {
    std::lock_guard lock(mutex_);
    --working_;
  }
  turn_free_.notify_one();
}

}  // namespace faceid::server_detail
