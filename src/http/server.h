#pragma once
/// The HTTP/1.1 server: Boost.Beast over Asio, one io_context per core, keep-alive, optional
/// TLS 1.2/1.3, size limits and timeouts so slow or idle clients cannot hold resources, and a
/// graceful drain on SIGTERM/SIGINT. Beast stays inside server.cc; this header is light.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/http_message.h"

namespace citadel::http {

/// Limits and timeouts of the listener.
struct Limits {
  uint64_t max_body_bytes = 16ull << 20;   ///< 413 beyond this (S3 PutObject streams later)
  uint32_t max_header_bytes = 64u << 10;   ///< 431 beyond this
  std::chrono::milliseconds header_timeout{10'000};  ///< first request: headers must arrive
  std::chrono::milliseconds body_timeout{60'000};    ///< body must arrive
  std::chrono::milliseconds idle_timeout{60'000};    ///< keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};
  std::chrono::milliseconds drain_timeout{15'000};   ///< SIGTERM: in-flight requests get this
};

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;         ///< 0 = pick a free port
  std::string tls_cert_file;    ///< PEM chain; empty = plain HTTP
  std::string tls_key_file;     ///< PEM private key
  unsigned threads = 0;         ///< 0 = one per core
  Limits limits;
  std::string server_header = "citadel";
};

/// Called on an I/O thread for every complete request; fills the response synchronously.
using RequestHandler = std::function<void(HttpRequest& req, HttpResponse& resp)>;

/// Running counters of the listener (read by /metrics).
struct ServerStats {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> requests_in_flight{0};
  std::atomic<uint64_t> rejected_too_large{0};
  std::atomic<uint64_t> timeouts{0};
};

class Server {
 public:
  /// Binds the listener (throws std::runtime_error with a message when it cannot).
  Server(Options options, RequestHandler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The bound port (useful when the options asked for port 0).
  uint16_t port() const;
  bool tls() const;
  /// Runs the I/O threads until stop() or a SIGTERM/SIGINT drain completes. `on_ready` runs
  /// once the listener accepts connections.
  void run(const std::function<void()>& on_ready = {});
  /// Starts a graceful drain from any thread: stop accepting, finish in-flight requests
  /// (bounded by drain_timeout), then return from run().
  void stop();
  const ServerStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace citadel::http
