#include "server/guarded_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

#include "faceid/error.hpp"

namespace faceid::server_detail {

namespace {

using Clock = std::chrono::steady_clock;

// Head of a request beyond its body: request line, headers and chunk-size lines.
constexpr std::size_t kHeadAllowance = 64u << 10;
// How long a refused or cut-off connection may take to read what its client already sent,
// so that closing does not reset the connection before the client has read our answer.
constexpr std::chrono::milliseconds kLingerTime{500};
constexpr std::size_t kLingerBytes = 4u << 20;

std::string address_of(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
  else if (address.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text, sizeof text);
  return text;
}

int port_of(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
  return 0;
}

// Waits until `sock` is ready for `events` or `deadline` passes.
bool wait_for(int sock, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{sock, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

// One connection's bytes, plain or TLS, on a non-blocking socket. Reads stop at the
// request's deadline or past its byte budget; ReadStop says which.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int sock, SSL* ssl, const ConnectionLimits& limits) : sock_(sock), ssl_(ssl), limits_(limits) {}
  using httplib::Stream::write;

  void begin_request(Clock::time_point deadline) {
    deadline_ = deadline;
    request_bytes_ = 0;
    stop_ = ReadStop::kNone;
  }
  ReadStop stop() const { return stop_; }
  bool buffered() const { return begin_ < end_ || (ssl_ && SSL_pending(ssl_) > 0); }

  bool is_readable() const override { return buffered() || wait_for(sock_, POLLIN, deadline_); }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, Clock::now() + limits_.write_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (begin_ == end_) {
      const ssize_t got = receive(buffer_, sizeof buffer_);
      if (got <= 0) return got;
      begin_ = 0;
      end_ = static_cast<std::size_t>(got);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    std::size_t sent = 0;
    const auto deadline = Clock::now() + limits_.write_timeout;
    while (sent < size) {
      const ssize_t n = ssl_ ? ssl_write(ptr + sent, size - sent) : ::send(sock_, ptr + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (!(n < 0 && would_block()) || !wait_for(sock_, wanted_events(POLLOUT), deadline)) {
        return -1;
      }
    }
    return static_cast<ssize_t>(sent);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { endpoint(::getpeername, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { endpoint(::getsockname, ip, port); }
  socket_t socket() const override { return sock_; }

  // The TLS handshake, within the first request's deadline.
  bool accept_tls() {
    for (;;) {
      const int result = SSL_accept(ssl_);
      if (result == 1) return true;
      last_ssl_error_ = SSL_get_error(ssl_, result);
      if (!would_block() || !wait_for(sock_, wanted_events(POLLIN), deadline_)) return false;
    }
  }

 private:
  ssize_t receive(char* into, std::size_t size) {
    if (request_bytes_ >= limits_.max_body_bytes + kHeadAllowance) {
      stop_ = ReadStop::kTooLarge;
      return -1;
    }
    for (;;) {
      const ssize_t n = ssl_ ? ssl_read(into, size) : ::recv(sock_, into, size, 0);
      if (n > 0) {
        request_bytes_ += static_cast<std::size_t>(n);
        return n;
      }
      if (n == 0 || !would_block()) return n;
      if (!wait_for(sock_, wanted_events(POLLIN), deadline_)) {
        stop_ = ReadStop::kDeadline;
        return -1;
      }
    }
  }

  // One end of the connection: `name_of` is getpeername or getsockname.
  void endpoint(int (*name_of)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (name_of(sock_, reinterpret_cast<sockaddr*>(&address), &length) != 0) return;
    ip = address_of(address);
    port = port_of(address);
  }

  ssize_t ssl_read(char* into, std::size_t size) {
    const int n = SSL_read(ssl_, into, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
    if (n > 0) return n;
    last_ssl_error_ = SSL_get_error(ssl_, n);
    return last_ssl_error_ == SSL_ERROR_ZERO_RETURN ? 0 : -1;
  }
  ssize_t ssl_write(const char* from, std::size_t size) {
    const int n = SSL_write(ssl_, from, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
    if (n > 0) return n;
    last_ssl_error_ = SSL_get_error(ssl_, n);
    return -1;
  }
  bool would_block() const {
    if (ssl_) return last_ssl_error_ == SSL_ERROR_WANT_READ || last_ssl_error_ == SSL_ERROR_WANT_WRITE;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  // TLS may need to read while writing (and the other way round).
  short wanted_events(short plain) const {
    if (!ssl_) return plain;
    return last_ssl_error_ == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
  }

  int sock_;
  SSL* ssl_;
  const ConnectionLimits& limits_;
  Clock::time_point deadline_ = Clock::now();
  std::size_t request_bytes_ = 0;
  ReadStop stop_ = ReadStop::kNone;
  int last_ssl_error_ = SSL_ERROR_NONE;
  char buffer_[CPPHTTPLIB_RECV_BUFSIZ];
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

thread_local const GuardedStream* current_stream = nullptr;

// Reads (and drops) what the client has sent, briefly, after our side stopped writing.
void linger(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + kLingerTime;
  char sink[16384];
  for (std::size_t drained = 0; drained < kLingerBytes && wait_for(sock, POLLIN, deadline);) {
    const ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;
    drained += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
}

void refuse_busy_client(GuardedStream& stream, int sock) {
  // Let the request arrive first (briefly), so that the client reads the answer rather than a reset.
  wait_for(sock, POLLIN, Clock::now() + kLingerTime);
  const std::string body =
      R"({"error":{"code":"overloaded","message":"too many connections from this address"}})";
  stream.write("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
               "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  linger(sock);
}

// The guard's way of serving httplib's connections, in plain and TLS servers alike.
class Guarded {
 public:
  virtual ~Guarded() = default;
  virtual void widen_backlog() = 0;
};

class GuardedPlainServer final : public httplib::Server, public Guarded {
 public:
  explicit GuardedPlainServer(ConnectionLimits limits) : guard_(limits) {}
  void widen_backlog() override { ::listen(svr_sock_, guard_.limits().listen_backlog); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    guard_.serve(sock, nullptr, {keep_alive_max_count_, std::chrono::seconds(keep_alive_timeout_sec_)},
                 [this] { return svr_sock_ != INVALID_SOCKET; },
                 [this](httplib::Stream& stream, bool close, bool& closed) {
                   return process_request(stream, close, closed, nullptr);
                 });
    return true;
  }
  ConnectionGuard guard_;
};

class GuardedTlsServer final : public httplib::SSLServer, public Guarded {
 public:
  GuardedTlsServer(ConnectionLimits limits, const std::string& cert, const std::string& key)
      : httplib::SSLServer(cert.c_str(), key.c_str()), guard_(limits) {}
  void widen_backlog() override { ::listen(svr_sock_, guard_.limits().listen_backlog); }

 private:
  bool process_and_close_socket(socket_t sock) override {
    guard_.serve(sock, ssl_context(), {keep_alive_max_count_, std::chrono::seconds(keep_alive_timeout_sec_)},
                 [this] { return svr_sock_ != INVALID_SOCKET; },
                 [this](httplib::Stream& stream, bool close, bool& closed) {
                   return process_request(stream, close, closed, nullptr);
                 });
    return true;
  }
  ConnectionGuard guard_;
};

}  // namespace

ReadStop current_read_stop() { return current_stream ? current_stream->stop() : ReadStop::kNone; }

bool ConnectionGuard::admit(const std::string& address) {
  std::lock_guard lock(mutex_);
  int& open = open_per_client_[address];
  if (open >= limits_.max_connections_per_client) return false;
  ++open;
  return true;
}

void ConnectionGuard::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  if (--open_per_client_[address] <= 0) open_per_client_.erase(address);
}

void ConnectionGuard::serve(int sock, SSL_CTX* tls, KeepAlive keep_alive, const std::function<bool()>& running,
                            const RequestProcessor& process) {
  ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(tls ? SSL_new(tls) : nullptr, &SSL_free);
  if (tls && (!ssl || SSL_set_fd(ssl.get(), sock) != 1)) {
    ::close(sock);
    return;
  }
  GuardedStream stream(sock, ssl.get(), limits_);
  stream.begin_request(Clock::now() + limits_.request_deadline);
  std::string address;
  int port = 0;
  stream.get_remote_ip_and_port(address, port);

  if (!admit(address)) {
    if (!tls || stream.accept_tls()) refuse_busy_client(stream, sock);
    ::close(sock);
    return;
  }
  current_stream = &stream;
  bool clean_end = true;
  if (!tls || stream.accept_tls()) {
    for (std::size_t served = 0; served < keep_alive.max_requests && running(); ++served) {
      // The first request's deadline runs from the accept; later ones from their first byte,
      // after an idle wait bounded by the keep-alive timeout.
      if (served > 0) {
        if (!stream.buffered() && !wait_for(sock, POLLIN, Clock::now() + keep_alive.idle_timeout)) break;
        stream.begin_request(Clock::now() + limits_.request_deadline);
      }
      bool closed = false;
      const bool last = served + 1 == keep_alive.max_requests;
      const bool answered = process(stream, last, closed);
      if (stream.stop() != ReadStop::kNone) clean_end = false;
      if (!answered || closed || stream.stop() != ReadStop::kNone) break;
    }
  }
  current_stream = nullptr;
  if (ssl) SSL_shutdown(ssl.get());
  if (!clean_end) linger(sock);
  ::close(sock);
  release(address);
}

std::unique_ptr<httplib::Server> make_guarded_server(ConnectionLimits limits, const std::string& tls_cert_file,
                                                     const std::string& tls_key_file) {
  if (tls_cert_file.empty() && tls_key_file.empty()) return std::make_unique<GuardedPlainServer>(limits);
  if (tls_cert_file.empty() || tls_key_file.empty())
    throw Error(ErrorCode::kBadRequest, "TLS needs both a certificate and a private key file");
  auto server = std::make_unique<GuardedTlsServer>(limits, tls_cert_file, tls_key_file);
  if (!server->is_valid())
    throw Error(ErrorCode::kBadRequest, "cannot load the TLS certificate " + tls_cert_file + " with key " + tls_key_file);
  return server;
}

void widen_backlog(httplib::Server& server) {
  if (auto* guarded = dynamic_cast<Guarded*>(&server)) guarded->widen_backlog();
}

}  // namespace faceid::server_detail
