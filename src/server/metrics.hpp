#pragma once
// Request counters and latency histograms, rendered in the Prometheus text format.
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "faceid/server.hpp"

namespace faceid::server_detail {

class RequestMetrics {
 public:
  // `route` is the route's pattern name (bounded label set), never the raw path.
  void record(const std::string& route, const std::string& method, int status, double seconds);
  std::string render(const std::vector<CollectionInfo>& collections) const;

 private:
  static constexpr std::array<double, 12> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1.0,  2.5,   5.0,  10.0, 30.0};
  struct Latency {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0.;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Latency> latency_;
};

}  // namespace faceid::server_detail
