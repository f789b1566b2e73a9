// The server's work queue: bounded waiting, and no turn for a request that waited past its deadline.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "server/work_queue.hpp"

namespace faceid::server_detail {
namespace {

using namespace std::chrono_literals;
using Refusal = WorkQueue::Refusal;

TEST(WorkQueue, ARequestThatWaitedPastItsDeadlineIsRefused) {
  WorkQueue queue(1, 4);
  auto busy = queue.enter(1000ms);
  ASSERT_TRUE(busy.turn);
  const auto start = std::chrono::steady_clock::now();
  const auto late = queue.enter(100ms);
  EXPECT_FALSE(late.turn);
  EXPECT_EQ(late.refusal, Refusal::kWaitedTooLong);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  // Freed in time, the waiting request gets the turn.
  auto waiting = std::async(std::launch::async, [&] { return queue.enter(5000ms).refusal; });
  std::this_thread::sleep_for(50ms);
  busy.turn.reset();
  EXPECT_EQ(waiting.get(), Refusal::kNone);
}

TEST(WorkQueue, AFullQueueRefusesAtOnce) {
  WorkQueue queue(1, 0);
  auto busy = queue.enter(1000ms);
  ASSERT_TRUE(busy.turn);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(queue.enter(5000ms).refusal, Refusal::kQueueFull);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

}  // namespace
}  // namespace faceid::server_detail
