// The only translation unit that includes Boost.Beast/Asio (they are heavy to compile).
#include "http/server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <array>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/encoding.h"
#include "core/log.h"
#include "core/time.h"

namespace citadel::http {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

/// State shared by the listener and every session.
struct Shared {
  Options opts;
  RequestHandler handler;
  ServerStats stats;
  std::atomic<bool> draining{false};
};

std::string_view statusReason(int status) {
  auto r = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return r.empty() ? std::string_view("Unknown") : std::string_view(r.data(), r.size());
}

/// One connection. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(std::shared_ptr<Shared> shared, std::string remote_ip, Args&&... args)
      : shared_(std::move(shared)), remote_ip_(std::move(remote_ip)),
        stream_(std::forward<Args>(args)...) {
    shared_->stats.connections_open++;
    shared_->stats.connections_total++;
  }
  ~Session() {
    releaseInFlight();
    shared_->stats.connections_open--;
  }

  void start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(shared_->opts.limits.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return;  // failed handshakes just close
                                self->readHeader();
                              });
    } else {
      readHeader();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  void readHeader() {
    const auto& lim = shared_->opts.limits;
    parser_.emplace();
    parser_->header_limit(lim.max_header_bytes);
    parser_->body_limit(lim.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(requests_ == 0 ? lim.header_timeout
                                                                  : lim.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->onHeader(ec);
                             });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    // From here the request counts as in flight: a drain waits for it to be answered.
    holdInFlight();
    const auto& lim = shared_->opts.limits;
    auto& msg = parser_->get();
    if (auto len = parser_->content_length(); len && *len > lim.max_body_bytes) {
      shared_->stats.rejected_too_large++;
      return sendSimpleAndClose(413, "Request body too large");
    }
    auto expect = msg[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      beast::get_lowest_layer(stream_).expires_after(lim.write_timeout);
      bhttp::async_write(stream_, *cont,
                         [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
                           if (ec) return;
                           self->readBody();
                         });
      return;
    }
    readBody();
  }

  void readBody() {
    beast::get_lowest_layer(stream_).expires_after(shared_->opts.limits.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->onRead(ec);
                      });
  }

  void holdInFlight() {
    if (!in_flight_) {
      in_flight_ = true;
      shared_->stats.requests_in_flight++;
    }
  }
  void releaseInFlight() {
    if (in_flight_) {
      in_flight_ = false;
      shared_->stats.requests_in_flight--;
    }
  }

  void onReadError(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      shared_->stats.timeouts++;
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      shared_->stats.rejected_too_large++;
      return sendSimpleAndClose(413, "Request body too large");
    }
    if (ec == bhttp::error::header_limit) {
      return sendSimpleAndClose(431, "Request header fields too large");
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted ||
        ec == net::ssl::error::stream_truncated) {
      return close();
    }
    // Malformed HTTP: answer 400 and close, as a front end would.
    sendSimpleAndClose(400, "Bad request");
  }

  void onRead(beast::error_code ec) {
    if (ec) return onReadError(ec);
    ++requests_;
    auto msg = parser_->release();
    parser_.reset();

    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    splitTarget(req);
    req.headers.reserve(16);
    for (const auto& f : msg) {
      req.headers.emplace_back(toLower(std::string_view(f.name_string().data(), f.name_string().size())),
                               std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote_ip = remote_ip_;
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      req.tls = true;
      req.tls_version = SSL_get_version(ssl);
      if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) req.tls_cipher = SSL_CIPHER_get_name(c);
      if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) req.sni = sni;
    }
    bool keep_alive = msg.keep_alive() && !shared_->draining.load();
    bool head = msg.method() == bhttp::verb::head;

    holdInFlight();
    HttpResponse out;
    try {
      shared_->handler(req, out);
    } catch (const std::exception& e) {
      log::error("handler escaped", {{"error", e.what()}});
      out = HttpResponse{};
      out.status = 500;
      out.body = "internal error";
    }
    writeResponse(out, keep_alive, head);
  }

  /// The response in one write: the head (status line, the handler's headers, Server, Date,
  /// Connection, Content-Length) built into one buffer, then the body as it is. (Beast's
  /// serializer cost as much CPU as the kernel's send of a small response.)
  void writeResponse(HttpResponse& out, bool keep_alive, bool head) {
    const int status = out.status >= 100 && out.status <= 999 ? out.status : 500;
    // RFC 9110: 1xx, 204 and 304 carry no body and no Content-Length.
    const bool no_body = status < 200 || status == 204 || status == 304;
    std::string& w = head_;
    w.clear();
    w += "HTTP/1.1 ";
    w += std::to_string(status);
    w += ' ';
    w += statusReason(status);
    w += "\r\n";
    bool has_length = false;
    for (const auto& [k, v] : out.headers) {
      // A header name or value that could split the message is dropped, never sent.
      if (k.empty() || k.find_first_of(":\r\n") != std::string::npos ||
          v.find_first_of("\r\n") != std::string::npos) {
        continue;
      }
      if (beast::iequals(k, "content-length")) {
        if (!(head || no_body)) continue;  // the length written below is the body's own
        has_length = true;
      }
      w += k;
      w += ": ";
      w += v;
      w += "\r\n";
    }
    w += "Server: ";
    w += shared_->opts.server_header;
    w += "\r\nDate: ";
    w += currentHttpDate();
    w += "\r\n";
    if (!keep_alive) w += "Connection: close\r\n";
    if (!no_body && !(head && has_length)) {
      // HEAD without a stated length: the length of the body that is not sent.
      w += "Content-Length: ";
      w += std::to_string(out.body.size());
      w += "\r\n";
    }
    w += "\r\n";
    body_.clear();
    if (!head && !no_body) body_ = std::move(out.body);

    beast::get_lowest_layer(stream_).expires_after(shared_->opts.limits.write_timeout);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(body_)};
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), close_after = !keep_alive](
                         beast::error_code ec, size_t) {
                       self->releaseInFlight();
                       std::string().swap(self->body_);  // an idle connection keeps no body
                       if (ec || close_after) return self->close();
                       self->readHeader();
                     });
  }

  /// The Date header's text, formatted once per second per thread.
  static const std::string& currentHttpDate() {
    thread_local std::string text;
    thread_local std::chrono::system_clock::rep second = -1;
    auto now = std::chrono::system_clock::now();
    auto s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (s != second) {
      second = s;
      text = formatRfc1123(now);
    }
    return text;
  }

  void sendSimpleAndClose(int status, std::string_view text) {
    HttpResponse out;
    out.status = status;
    out.headers.emplace_back("Content-Type", "text/plain");
    out.body = std::string(text);
    holdInFlight();
    writeResponse(out, false, false);
  }

  void close() {
    releaseInFlight();
    beast::error_code ec;
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code e;
        beast::get_lowest_layer(self->stream_).socket().close(e);
      });
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }
  }

  std::shared_ptr<Shared> shared_;
  std::string remote_ip_;
  Stream stream_;
  beast::flat_buffer buffer_{8192};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string head_;  // the response being written (one at a time per connection): its head
  std::string body_;  // and its body
  uint64_t requests_ = 0;
  bool in_flight_ = false;  // this connection holds one count in stats.requests_in_flight
};

}  // namespace

struct Server::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::ssl::context> ssl;
  std::unique_ptr<net::signal_set> signals;
  std::unique_ptr<net::steady_timer> drain_timer;
  std::unique_ptr<net::steady_timer> accept_retry;
  size_t next = 0;
  uint16_t port = 0;
  std::chrono::steady_clock::time_point drain_deadline;

  void accept() {
    auto& ioc = *iocs[next++ % iocs.size()];
    acceptor->async_accept(ioc.get_executor(), [this, &ioc](beast::error_code ec, tcp::socket sock) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      if (ec) {
        // Out of descriptors and the like: back off briefly, keep serving the others.
        accept_retry->expires_after(std::chrono::milliseconds(50));
        accept_retry->async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      auto ep = sock.remote_endpoint(ignored);
      std::string ip = ignored ? std::string() : ep.address().to_string();
      if (ssl) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(shared, std::move(ip),
                                                                        std::move(sock), *ssl)
            ->start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(shared, std::move(ip), std::move(sock))->start();
      }
      (void)ioc;
      accept();
    });
  }

  void beginDrain() {
    if (shared->draining.exchange(true)) return;
    log::info("draining", {{"in_flight", std::to_string(shared->stats.requests_in_flight.load())}});
    beast::error_code ec;
    acceptor->close(ec);
    drain_deadline = std::chrono::steady_clock::now() + shared->opts.limits.drain_timeout;
    pollDrain();
  }

  void pollDrain() {
    if (shared->stats.requests_in_flight.load() == 0 ||
        std::chrono::steady_clock::now() >= drain_deadline) {
      for (auto& g : guards) g.reset();
      for (auto& ioc : iocs) ioc->stop();
      return;
    }
    drain_timer->expires_after(std::chrono::milliseconds(10));
    drain_timer->async_wait([this](beast::error_code) { pollDrain(); });
  }
};

Server::Server(Options options, RequestHandler handler) : impl_(std::make_unique<Impl>()) {
  auto& s = *impl_->shared;
  s.opts = std::move(options);
  s.handler = std::move(handler);
  unsigned n = s.opts.threads ? s.opts.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    impl_->iocs.push_back(std::make_unique<net::io_context>(1));
    impl_->guards.push_back(net::make_work_guard(*impl_->iocs.back()));
  }
  auto& ioc0 = *impl_->iocs[0];
  if (!s.opts.tls_cert_file.empty()) {
    impl_->ssl = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    impl_->ssl->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                            net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                            net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    beast::error_code ec;
    impl_->ssl->use_certificate_chain_file(s.opts.tls_cert_file, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate " + s.opts.tls_cert_file + ": " + ec.message());
    impl_->ssl->use_private_key_file(s.opts.tls_key_file, net::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key " + s.opts.tls_key_file + ": " + ec.message());
  }
  beast::error_code ec;
  auto addr = net::ip::make_address(s.opts.host == "localhost" ? "127.0.0.1" : s.opts.host, ec);
  if (ec) throw std::runtime_error("invalid listen address " + s.opts.host);
  tcp::endpoint ep(addr, s.opts.port);
  impl_->acceptor = std::make_unique<tcp::acceptor>(ioc0);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(4096, ec);
  if (ec) throw std::runtime_error("cannot listen on " + s.opts.host + ":" + std::to_string(s.opts.port) + ": " + ec.message());
  impl_->port = impl_->acceptor->local_endpoint().port();
  impl_->drain_timer = std::make_unique<net::steady_timer>(ioc0);
  impl_->accept_retry = std::make_unique<net::steady_timer>(ioc0);
  impl_->signals = std::make_unique<net::signal_set>(ioc0, SIGINT, SIGTERM);
}

Server::~Server() = default;

uint16_t Server::port() const { return impl_->port; }
bool Server::tls() const { return impl_->ssl != nullptr; }
const ServerStats& Server::stats() const { return impl_->shared->stats; }

void Server::run(const std::function<void()>& on_ready) {
  impl_->signals->async_wait([this](beast::error_code ec, int) {
    if (!ec) impl_->beginDrain();
  });
  impl_->accept();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->iocs.size(); ++i)
    threads.emplace_back([ioc = impl_->iocs[i].get()] { ioc->run(); });
  if (on_ready) on_ready();
  impl_->iocs[0]->run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  net::post(*impl_->iocs[0], [this] { impl_->beginDrain(); });
}

}  // namespace citadel::http
