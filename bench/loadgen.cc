// loadgen — a small closed-loop HTTP/1.1 load generator for bench/run.py.
//
// Reads a file of raw HTTP/1.1 requests, opens N keep-alive connections to host:port, and
// replays the requests round-robin with one outstanding request per connection. After a
// warm-up it counts statuses and records the latency of every completed request, then prints
// one JSON object on stdout:
//   {"requests":..,"seconds":..,"rps":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..,
//    "non_2xx":..,"errors":..,"connections":..,"all_responses":..,"statuses":{"200":..},
//    "first_error":".."}
// where all_responses counts every complete response (warm-up included, for CPU-per-request
// figures) and first_error is the status and the start of the body of the first non-2xx response
// (empty when there was none), so that a run of errors explains itself.
//
// Request file framing: for each request, one ASCII line holding the byte length of the
// request in decimal, then exactly that many bytes (the raw request, head and body), then
// optionally a single '\n'. Blank lines between records are ignored.
//
// Usage:
//   loadgen --port P --requests FILE [--host 127.0.0.1] [--connections 32] [--duration 10]
//           [--warmup 2] [--threads 1] [--timeout 10]
//
// Deliberately free of citadel libraries: plain POSIX sockets and epoll.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// Command-line options.
struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string requests_path;
  int connections = 32;
  double duration_s = 10.0;
  double warmup_s = 2.0;
  int threads = 1;
  double timeout_s = 10.0;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
  std::exit(2);
}

void usage() {
  std::fprintf(stderr,
               "usage: loadgen --port P --requests FILE [--host H] [--connections N]\n"
               "               [--duration SECONDS] [--warmup SECONDS] [--threads T]\n"
               "               [--timeout SECONDS]\n");
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--host") {
      o.host = next();
    } else if (a == "--port") {
      o.port = std::atoi(next().c_str());
    } else if (a == "--requests") {
      o.requests_path = next();
    } else if (a == "--connections" || a == "-c") {
      o.connections = std::atoi(next().c_str());
    } else if (a == "--duration" || a == "-d") {
      o.duration_s = std::atof(next().c_str());
    } else if (a == "--warmup") {
      o.warmup_s = std::atof(next().c_str());
    } else if (a == "--threads" || a == "-t") {
      o.threads = std::atoi(next().c_str());
    } else if (a == "--timeout") {
      o.timeout_s = std::atof(next().c_str());
    } else {
      usage();
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.requests_path.empty()) usage();
  if (o.connections < 1) o.connections = 1;
  if (o.threads < 1) o.threads = 1;
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.duration_s <= 0) o.duration_s = 1;
  if (o.warmup_s < 0) o.warmup_s = 0;
  return o;
}

/// Reads the length-prefixed request file.
std::vector<std::string> loadRequests(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot open " + path);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data[pos] == '\n' || data[pos] == '\r') {
      ++pos;
      continue;
    }
    size_t eol = data.find('\n', pos);
    if (eol == std::string::npos) die("truncated length line in " + path);
    std::string len_text = data.substr(pos, eol - pos);
    if (!len_text.empty() && len_text.back() == '\r') len_text.pop_back();
    char* end = nullptr;
    unsigned long long len = std::strtoull(len_text.c_str(), &end, 10);
    if (end == len_text.c_str() || *end != '\0') die("bad length line '" + len_text + "'");
    pos = eol + 1;
    if (pos + len > data.size()) die("truncated request in " + path);
    out.emplace_back(data.substr(pos, len));
    pos += len;
  }
  if (out.empty()) die("no requests in " + path);
  return out;
}

bool iequalsPrefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char a = line[i], b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool containsToken(std::string_view value, std::string_view token) {
  // Case-insensitive search for a token in a comma-separated header value.
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view part =
        trim(value.substr(start, comma == std::string_view::npos ? value.npos : comma - start));
    if (part.size() == token.size() && iequalsPrefix(part, token)) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

/// Incremental HTTP/1.1 response parser. feed() consumes bytes; returns true when a whole
/// response has been read (leftover bytes remain in buf_ for the next response).
class ResponseParser {
 public:
  enum class State {
    kHead,
    kBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kUntilClose,
    kDone,
    kError
  };

  void reset() {
    state_ = State::kHead;
    status_ = 0;
    remaining_ = 0;
    close_after_ = false;
  }

  /// While set, the start of each non-2xx response's body is appended to `*sink` (up to
  /// kCaptureLimit bytes in total).
  void captureErrorsTo(std::string* sink) { capture_ = sink; }

  static constexpr size_t kCaptureLimit = 300;

  /// Appends received bytes and advances. Returns kDone, kError, or an in-progress state.
  State feed(std::string& buf) {
    for (;;) {
      switch (state_) {
        case State::kHead: {
          size_t end = buf.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (buf.size() > 1 << 20) state_ = State::kError;
            return state_;
          }
          if (!parseHead(std::string_view(buf).substr(0, end + 2))) {
            state_ = State::kError;
            return state_;
          }
          buf.erase(0, end + 4);
          break;
        }
        case State::kBody: {
          size_t take = std::min<uint64_t>(remaining_, buf.size());
          capture(buf, take);
          buf.erase(0, take);
          remaining_ -= take;
          if (remaining_ == 0)
            state_ = State::kDone;
          else
            return state_;
          break;
        }
        case State::kChunkSize: {
          size_t eol = buf.find("\r\n");
          if (eol == std::string::npos) {
            if (buf.size() > 4096) state_ = State::kError;
            return state_;
          }
          std::string size_text = buf.substr(0, eol);
          size_t semi = size_text.find(';');
          if (semi != std::string::npos) size_text.resize(semi);
          char* end = nullptr;
          unsigned long long n = std::strtoull(size_text.c_str(), &end, 16);
          if (end == size_text.c_str()) {
            state_ = State::kError;
            return state_;
          }
          buf.erase(0, eol + 2);
          if (n == 0) {
            state_ = State::kTrailers;
          } else {
            remaining_ = n;
            state_ = State::kChunkData;
          }
          break;
        }
        case State::kChunkData: {
          size_t take = std::min<uint64_t>(remaining_, buf.size());
          capture(buf, take);
          buf.erase(0, take);
          remaining_ -= take;
          if (remaining_ == 0)
            state_ = State::kChunkDataEnd;
          else
            return state_;
          break;
        }
        case State::kChunkDataEnd: {
          if (buf.size() < 2) return state_;
          if (buf[0] != '\r' || buf[1] != '\n') {
            state_ = State::kError;
            return state_;
          }
          buf.erase(0, 2);
          state_ = State::kChunkSize;
          break;
        }
        case State::kTrailers: {
          size_t eol = buf.find("\r\n");
          if (eol == std::string::npos) return state_;
          buf.erase(0, eol + 2);
          if (eol == 0) state_ = State::kDone;  // empty line ends the trailers
          break;
        }
        case State::kUntilClose:
          capture(buf, buf.size());
          buf.clear();  // body delimited by connection close; finished by onEof()
          return state_;
        case State::kDone:
        case State::kError:
          return state_;
      }
    }
  }

  /// Called when the peer closed the connection; completes a close-delimited body.
  State onEof() {
    if (state_ == State::kUntilClose)
      state_ = State::kDone;
    else if (state_ != State::kDone)
      state_ = State::kError;
    return state_;
  }

  int status() const { return status_; }
  bool closeAfter() const { return close_after_; }
  State state() const { return state_; }

 private:
  void capture(const std::string& buf, size_t n) {
    if (capture_ == nullptr || (status_ >= 200 && status_ < 300)) return;
    size_t room = kCaptureLimit > capture_->size() ? kCaptureLimit - capture_->size() : 0;
    capture_->append(buf, 0, std::min(n, room));
  }

  bool parseHead(std::string_view head) {
    size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
    size_t sp = status_line.find(' ');
    if (sp == std::string_view::npos || sp + 4 > status_line.size()) return false;
    status_ = std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
    if (status_ < 100 || status_ > 599) return false;
    bool http10 = status_line.substr(0, 8) == "HTTP/1.0";
    bool keep_alive = false;
    bool chunked = false;
    std::optional<uint64_t> content_length;
    size_t pos = eol + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string_view::npos) e = head.size();
      std::string_view line = head.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (name.size() == 14 && iequalsPrefix(name, "content-length")) {
        content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
      } else if (name.size() == 17 && iequalsPrefix(name, "transfer-encoding")) {
        chunked = containsToken(value, "chunked");
      } else if (name.size() == 10 && iequalsPrefix(name, "connection")) {
        if (containsToken(value, "close")) close_after_ = true;
        if (containsToken(value, "keep-alive")) keep_alive = true;
      }
    }
    if (http10 && !keep_alive) close_after_ = true;
    if ((status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) {
      state_ = State::kDone;
    } else if (chunked) {
      state_ = State::kChunkSize;
    } else if (content_length) {
      remaining_ = *content_length;
      state_ = remaining_ == 0 ? State::kDone : State::kBody;
    } else {
      state_ = State::kUntilClose;
      close_after_ = true;
    }
    return true;
  }

  State state_ = State::kHead;
  int status_ = 0;
  uint64_t remaining_ = 0;
  bool close_after_ = false;
  std::string* capture_ = nullptr;
};

/// Results gathered by one worker thread.
struct Stats {
  std::vector<uint32_t> latencies_us;
  std::map<int, uint64_t> statuses;
  uint64_t non_2xx = 0;
  uint64_t errors = 0;
  uint64_t all_responses = 0;  ///< every complete response, warm-up and tail included
  std::string first_error;     ///< "<status> <body start>" of the first non-2xx response
};

/// One keep-alive connection with at most one request outstanding.
struct Conn {
  int fd = -1;
  bool connecting = false;
  const std::string* request = nullptr;
  size_t sent = 0;
  bool in_flight = false;
  bool fresh = false;  // connection opened to replace one the server closed
  Clock::time_point started;
  Clock::time_point connect_started;
  std::string rbuf;
  std::string error_body;  // start of a non-2xx body, while no error has been sampled yet
  ResponseParser parser;
};

/// Round-robin request cursor shared by all workers.
std::atomic<uint64_t> g_next_request{0};

class Worker {
 public:
  Worker(const Options& opt, const sockaddr_storage& addr, socklen_t addrlen,
         const std::vector<std::string>& requests, int nconns, Clock::time_point measure_start,
         Clock::time_point deadline)
      : opt_(opt),
        addr_(addr),
        addrlen_(addrlen),
        requests_(requests),
        conns_(nconns),
        measure_start_(measure_start),
        deadline_(deadline) {}

  void run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
    size_t expected = static_cast<size_t>(std::max(1.0, opt_.duration_s) * 50000.0 /
                                          std::max<int>(1, opt_.threads));
    stats_.latencies_us.reserve(std::min<size_t>(expected, 4u << 20));
    for (size_t i = 0; i < conns_.size(); ++i) openConn(i);

    std::vector<epoll_event> events(conns_.size() + 1);
    for (;;) {
      auto now = Clock::now();
      if (now >= deadline_) break;
      checkTimeouts(now);
      int wait_ms =
          static_cast<int>(
              std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now).count()) +
          1;
      wait_ms = std::min(wait_ms, 100);
      int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        die(std::string("epoll_wait: ") + std::strerror(errno));
      }
      for (int k = 0; k < n; ++k) {
        size_t i = events[k].data.u64;
        uint32_t ev = events[k].events;
        Conn& c = conns_[i];
        if (c.fd < 0) continue;
        if (c.connecting) {
          int err = 0;
          socklen_t len = sizeof(err);
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
            failConn(i);
            continue;
          }
          c.connecting = false;
          startRequest(i);
          continue;
        }
        if (ev & EPOLLOUT) {
          if (!flush(i)) continue;
        }
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) onReadable(i);
      }
    }
    for (auto& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
    close(ep_);
  }

  Stats& stats() { return stats_; }
  uint64_t measuredCompleted() const { return stats_.latencies_us.size(); }

 private:
  void openConn(size_t i) {
    Conn& c = conns_[i];
    c.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c.rbuf.clear();
    c.in_flight = false;
    c.parser.reset();
    c.connect_started = Clock::now();
    int rc = connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addrlen_);
    epoll_event ev{};
    ev.data.u64 = i;
    if (rc == 0) {
      c.connecting = false;
      ev.events = EPOLLIN;
      epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
      startRequest(i);
    } else if (errno == EINPROGRESS) {
      c.connecting = true;
      c.started = Clock::now();
      ev.events = EPOLLOUT;
      epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    } else {
      close(c.fd);
      c.fd = -1;
      countError();
      // Try again soon; avoid a hot loop when the server is gone.
      reconnect_pending_.push_back(i);
    }
  }

  void countError() {
    if (Clock::now() >= measure_start_) ++stats_.errors;
  }

  void failConn(size_t i) {
    countError();
    closeConn(i);
    reconnect_pending_.push_back(i);
  }

  void closeConn(size_t i) {
    Conn& c = conns_[i];
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
    c.connecting = false;
    c.in_flight = false;
  }

  void checkTimeouts(Clock::time_point now) {
    if (!reconnect_pending_.empty()) {
      // Reconnect at most every 10 ms per batch to avoid spinning against a dead server.
      if (now - last_reconnect_ >= std::chrono::milliseconds(10)) {
        last_reconnect_ = now;
        auto pending = std::move(reconnect_pending_);
        reconnect_pending_.clear();
        for (size_t i : pending) openConn(i);
      }
    }
    auto limit =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.timeout_s));
    if (now - last_timeout_scan_ < std::chrono::milliseconds(100)) return;
    last_timeout_scan_ = now;
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      if (c.fd >= 0 && (c.in_flight || c.connecting) && now - c.started > limit) failConn(i);
    }
  }

  void startRequest(size_t i) {
    Conn& c = conns_[i];
    uint64_t k = g_next_request.fetch_add(1, std::memory_order_relaxed);
    c.request = &requests_[k % requests_.size()];
    c.sent = 0;
    c.in_flight = true;
    c.parser.reset();
    c.error_body.clear();
    c.parser.captureErrorsTo(stats_.first_error.empty() ? &c.error_body : nullptr);
    // A request that needed a new connection (the server closed the last one) is charged
    // the connect, as a real client would be.
    c.started = c.fresh ? c.connect_started : Clock::now();
    c.fresh = false;
    flush(i);
  }

  /// Writes what remains of the current request. Returns false when the connection failed.
  bool flush(size_t i) {
    Conn& c = conns_[i];
    while (c.sent < c.request->size()) {
      ssize_t n = send(c.fd, c.request->data() + c.sent, c.request->size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        epoll_event ev{};
        ev.data.u64 = i;
        ev.events = EPOLLIN | EPOLLOUT;
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
        return true;
      }
      failConn(i);
      return false;
    }
    // Fully sent: wait for input only.
    epoll_event ev{};
    ev.data.u64 = i;
    ev.events = EPOLLIN;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    return true;
  }

  void onReadable(size_t i) {
    Conn& c = conns_[i];
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        if (!c.in_flight) {
          // Unsolicited bytes: protocol error.
          failConn(i);
          return;
        }
        c.rbuf.append(buf, static_cast<size_t>(n));
        auto st = c.parser.feed(c.rbuf);
        if (st == ResponseParser::State::kError) {
          failConn(i);
          return;
        }
        if (st == ResponseParser::State::kDone) {
          complete(i);
          return;
        }
        continue;
      }
      if (n == 0) {
        if (c.in_flight) {
          auto st = c.parser.onEof();
          if (st == ResponseParser::State::kDone) {
            record(c);
            closeConn(i);
            conns_[i].fresh = true;
            openConn(i);
            return;
          }
        }
        failConn(i);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      failConn(i);
      return;
    }
  }

  void record(Conn& c) {
    auto now = Clock::now();
    c.in_flight = false;
    ++stats_.all_responses;
    if (c.started < measure_start_ || now > deadline_) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.started).count();
    stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(us, UINT32_MAX)));
    int status = c.parser.status();
    ++stats_.statuses[status];
    if (status < 200 || status >= 300) {
      ++stats_.non_2xx;
      if (stats_.first_error.empty())
        stats_.first_error = std::to_string(status) + " " + c.error_body;
    }
  }

  void complete(size_t i) {
    Conn& c = conns_[i];
    record(c);
    if (c.parser.closeAfter() || !c.rbuf.empty()) {
      // Server closes (or pipelined garbage remains): start over on a new connection.
      closeConn(i);
      c.fresh = true;
      openConn(i);
      return;
    }
    if (Clock::now() < deadline_) startRequest(i);
  }

  const Options& opt_;
  sockaddr_storage addr_;
  socklen_t addrlen_;
  const std::vector<std::string>& requests_;
  std::vector<Conn> conns_;
  Clock::time_point measure_start_;
  Clock::time_point deadline_;
  int ep_ = -1;
  Stats stats_;
  std::vector<size_t> reconnect_pending_;
  Clock::time_point last_reconnect_{};
  Clock::time_point last_timeout_scan_{};
};

/// The body of a JSON string literal holding `text` (control and non-ASCII bytes as \u00XX).
std::string jsonEscape(const std::string& text) {
  std::string out;
  for (unsigned char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch >= 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", ch);
      out += esc;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out;
}

double percentileMs(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  // Nearest-rank percentile.
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > sorted.size()) rank = sorted.size();
  return sorted[rank - 1] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  Options opt = parseArgs(argc, argv);
  std::vector<std::string> requests = loadRequests(opt.requests_path);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(opt.port);
  if (int rc = getaddrinfo(opt.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    die("cannot resolve " + opt.host + ": " + gai_strerror(rc));
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  socklen_t addrlen = res->ai_addrlen;
  freeaddrinfo(res);

  auto start = Clock::now();
  auto measure_start = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(opt.warmup_s));
  auto deadline = measure_start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(opt.duration_s));

  std::vector<std::unique_ptr<Worker>> workers;
  int per = opt.connections / opt.threads;
  int extra = opt.connections % opt.threads;
  for (int t = 0; t < opt.threads; ++t) {
    int n = per + (t < extra ? 1 : 0);
    workers.push_back(
        std::make_unique<Worker>(opt, addr, addrlen, requests, n, measure_start, deadline));
  }
  std::vector<std::thread> threads;
  for (int t = 1; t < opt.threads; ++t) threads.emplace_back([&, t] { workers[t]->run(); });
  workers[0]->run();
  for (auto& th : threads) th.join();

  Stats total;
  for (auto& w : workers) {
    Stats& s = w->stats();
    total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(),
                              s.latencies_us.end());
    for (auto& [k, v] : s.statuses) total.statuses[k] += v;
    total.non_2xx += s.non_2xx;
    total.errors += s.errors;
    total.all_responses += s.all_responses;
    if (total.first_error.empty()) total.first_error = s.first_error;
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  double seconds = opt.duration_s;
  uint64_t count = total.latencies_us.size();
  double rps = seconds > 0 ? static_cast<double>(count) / seconds : 0.0;

  std::string statuses;
  for (auto& [k, v] : total.statuses) {
    char item[64];
    std::snprintf(item, sizeof(item), "%s\"%d\":%llu", statuses.empty() ? "" : ",", k,
                  static_cast<unsigned long long>(v));
    statuses += item;
  }
  std::printf(
      "{\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"non_2xx\":%llu,\"errors\":%llu,\"connections\":%d,"
      "\"all_responses\":%llu,\"statuses\":{%s},\"first_error\":\"%s\"}\n",
      static_cast<unsigned long long>(count), seconds, rps, percentileMs(total.latencies_us, 50),
      percentileMs(total.latencies_us, 90), percentileMs(total.latencies_us, 99),
      total.latencies_us.empty() ? 0.0 : total.latencies_us.back() / 1000.0,
      static_cast<unsigned long long>(total.non_2xx), static_cast<unsigned long long>(total.errors),
      opt.connections, static_cast<unsigned long long>(total.all_responses), statuses.c_str(),
      jsonEscape(total.first_error).c_str());
  return 0;
}
