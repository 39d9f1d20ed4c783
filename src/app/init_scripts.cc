#include "app/init_scripts.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>

#include "core/encoding.h"
#include "core/log.h"

extern char** environ;

namespace citadel::app {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxLogLine = 4096;

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

InitScripts::InitScripts(std::string dir, std::chrono::seconds timeout)
    : dir_(std::move(dir)), timeout_(timeout) {}

void InitScripts::setEnvironment(std::map<std::string, std::string> env) { env_ = std::move(env); }

std::vector<std::string> InitScripts::scriptsOf(const std::string& stage) const {
  std::vector<std::string> out;
  if (dir_.empty()) return out;
  std::error_code ec;
  fs::path d = fs::path(dir_) / (stage + ".d");
  if (!fs::is_directory(d, ec)) return out;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string p = e.path().string();
    bool exec = ::access(p.c_str(), X_OK) == 0;
    if (exec || endsWith(p, ".sh") || endsWith(p, ".py")) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool InitScripts::hasScripts(const std::string& stage) const { return !scriptsOf(stage).empty(); }

bool InitScripts::runStage(const std::string& stage) {
  bool ok = true;
  for (const auto& path : scriptsOf(stage)) {
    Result r{stage, fs::path(path).filename().string(), "RUNNING", -1};
    size_t index;
    {
      std::lock_guard lock(mu_);
      results_.push_back(r);
      index = results_.size() - 1;
    }
    runOne(stage, path, r);
    if (r.state != "SUCCESSFUL") ok = false;
    std::lock_guard lock(mu_);
    results_[index] = r;
  }
  std::lock_guard lock(mu_);
  completed_[stage] = true;
  return ok;
}

void InitScripts::runOne(const std::string& stage, const std::string& path, Result& result) {
  // Everything the child needs is built before fork(): after it only async-signal-safe calls.
  std::vector<std::string> args;
  if (::access(path.c_str(), X_OK) == 0) {
    args = {path};
  } else if (endsWith(path, ".py")) {
    args = {"/usr/bin/env", "python3", path};
  } else {
    args = {"/bin/sh", path};
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!env_.count(key)) env_strings.push_back(std::move(kv));
  }
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cwd = (fs::path(dir_) / (stage + ".d")).string();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    result.state = "ERROR";
    log::error("init script: pipe failed", {{"script", result.name}});
    return;
  }
  log::info("init script starting", {{"stage", stage}, {"script", result.name}});
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    result.state = "ERROR";
    log::error("init script: fork failed", {{"script", result.name}});
    return;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    if (::chdir(cwd.c_str()) != 0) _exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);

  auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::string pending;
  auto flushLines = [&](bool all) {
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      log::info("init script output",
                {{"stage", stage}, {"script", result.name}, {"line", pending.substr(0, std::min(pos, kMaxLogLine))}});
      pending.erase(0, pos + 1);
    }
    if (pending.size() > kMaxLogLine || (all && !pending.empty())) {
      log::info("init script output", {{"stage", stage}, {"script", result.name},
                                       {"line", pending.substr(0, kMaxLogLine)}});
      pending.clear();
    }
  };
  auto drain = [&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) return n == 0;  // true at EOF
      pending.append(buf, static_cast<size_t>(n));
      flushLines(false);
    }
  };
  int status = 0;
  bool exited = false, timed_out = false;
  while (!exited) {
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 100);
    drain();
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) {
      exited = true;
    } else if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited = true;
    }
  }
  drain();
  flushLines(true);
  ::close(fds[0]);
  if (timed_out) {
    // Leftover children of the script die with its process group.
    ::kill(-pid, SIGKILL);
    result.state = "TIMEOUT";
    log::error("init script timed out and was killed",
               {{"stage", stage},
                {"script", result.name},
                {"timeout_seconds", std::to_string(timeout_.count())}});
    return;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.state = result.exit_code == 0 ? "SUCCESSFUL" : "ERROR";
  if (result.exit_code == 0)
    log::info("init script finished", {{"stage", stage}, {"script", result.name}});
  else
    log::error("init script failed", {{"stage", stage},
                                      {"script", result.name},
                                      {"exit_code", std::to_string(result.exit_code)}});
}

bool InitScripts::anyFailed() const {
  std::lock_guard lock(mu_);
  for (const auto& r : results_)
    if (r.state == "ERROR" || r.state == "TIMEOUT") return true;
  return false;
}

json::object InitScripts::statusJson() const {
  std::lock_guard lock(mu_);
  json::object out;
  for (const char* stage : {"boot", "ready", "shutdown"}) {
    json::object s;
    auto it = completed_.find(stage);
    s["completed"] = it != completed_.end() && it->second;
    json::array scripts;
    for (const auto& r : results_) {
      if (r.stage != stage) continue;
      json::object o{{"name", r.name}, {"state", toLower(r.state)}};
      if (r.exit_code >= 0) o["exit_code"] = r.exit_code;
      scripts.push_back(std::move(o));
    }
    s["scripts"] = std::move(scripts);
    out[stage] = std::move(s);
  }
  return out;
}

json::object InitScripts::localstackJson() const {
  std::lock_guard lock(mu_);
  json::object completed;
  for (const char* stage : {"boot", "ready", "shutdown"}) {
    auto it = completed_.find(stage);
    completed[upper(stage)] = it != completed_.end() && it->second;
  }
  json::array scripts;
  for (const auto& r : results_)
    scripts.push_back(json::object{{"stage", upper(r.stage)}, {"name", r.name}, {"state", r.state}});
  return json::object{{"completed", std::move(completed)}, {"scripts", std::move(scripts)}};
}

}  // namespace citadel::app
