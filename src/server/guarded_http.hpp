#pragma once
// cpp-httplib servers whose connections are served by ConnectionGuard instead of
// httplib's own loop. httplib restarts its read timeout on every byte, so a client
// sending one byte every few seconds held a worker thread for ever; here every request
// has one deadline for its whole head and body, a budget of bytes that also covers
// chunked bodies, and each client address a bounded number of connections.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "server/http.hpp"

namespace faceid::server_detail {

struct ConnectionLimits {
  std::chrono::milliseconds request_deadline{30000};  // to read one whole request, head and body
  std::chrono::milliseconds write_timeout{30000};     // for each write of the answer
  std::size_t max_body_bytes = 32u << 20;
  int max_connections_per_client = 64;
  int listen_backlog = 1024;
};

// Why reading the request on this thread stopped early, for the error handler's answer.
enum class ReadStop { kNone, kDeadline, kTooLarge };
ReadStop current_read_stop();

// Serves connections: per-address admission, then requests with whole-request deadlines.
class ConnectionGuard {
 public:
  explicit ConnectionGuard(ConnectionLimits limits) : limits_(limits) {}

  // httplib's Server::process_request for one request read from `stream`.
  using RequestProcessor = std::function<bool(httplib::Stream& stream, bool close_connection, bool& connection_closed)>;
  struct KeepAlive {
    std::size_t max_requests;
    std::chrono::seconds idle_timeout;
  };
  // Serves `sock` (over TLS when `tls` is set) until it closes; closes it.
  void serve(int sock, SSL_CTX* tls, KeepAlive keep_alive, const std::function<bool()>& running,
             const RequestProcessor& process);

  const ConnectionLimits& limits() const { return limits_; }

 private:
  bool admit(const std::string& address);
  void release(const std::string& address);

  ConnectionLimits limits_;
  std::mutex mutex_;
  std::map<std::string, int> open_per_client_;
};

// A guarded httplib server (TLS when both files are given). Error(kBadRequest) on bad TLS files.
std::unique_ptr<httplib::Server> make_guarded_server(ConnectionLimits limits, const std::string& tls_cert_file,
                                                     const std::string& tls_key_file);
// Raises the listening socket's backlog (httplib listens with 5) once `server` is bound.
void widen_backlog(httplib::Server& server);

}  // namespace faceid::server_detail
