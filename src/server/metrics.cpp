#include "server/metrics.hpp"

#include <sstream>

namespace faceid::server_detail {

void RequestMetrics::record(const std::string& route, const std::string& method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status}];
  Latency& latency = latency_[route];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++latency.buckets[i];
  ++latency.count;
  latency.sum += seconds;
}

std::string RequestMetrics::render(const std::vector<CollectionInfo>& collections) const {
  std::ostringstream out;
  out << "# HELP faceid_http_requests_total HTTP requests by route, method and status.\n"
         "# TYPE faceid_http_requests_total counter\n";
  std::lock_guard lock(mutex_);
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out << "faceid_http_requests_total{route=\"" << route << "\",method=\"" << method << "\",status=\""
        << status << "\"} " << count << "\n";
  }
  out << "# HELP faceid_http_request_duration_seconds Request latency by route.\n"
         "# TYPE faceid_http_request_duration_seconds histogram\n";
  for (const auto& [route, latency] : latency_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      out << "faceid_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"" << kBuckets[i]
          << "\"} " << latency.buckets[i] << "\n";
    out << "faceid_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} "
        << latency.count << "\n"
        << "faceid_http_request_duration_seconds_sum{route=\"" << route << "\"} " << latency.sum << "\n"
        << "faceid_http_request_duration_seconds_count{route=\"" << route << "\"} " << latency.count << "\n";
  }
  out << "# HELP faceid_gallery_faces Enrolled faces per collection.\n# TYPE faceid_gallery_faces gauge\n";
  for (const auto& c : collections) out << "faceid_gallery_faces{collection=\"" << c.name << "\"} " << c.faces << "\n";
  out << "# HELP faceid_gallery_subjects Subjects per collection.\n# TYPE faceid_gallery_subjects gauge\n";
  for (const auto& c : collections)
    out << "faceid_gallery_subjects{collection=\"" << c.name << "\"} " << c.people << "\n";
  return out.str();
}

}  // namespace faceid::server_detail
