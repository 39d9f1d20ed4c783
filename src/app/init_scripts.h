#pragma once
/// Init scripts (`--init-dir DIR`): the executables in DIR/boot.d, DIR/ready.d and
/// DIR/shutdown.d run in name order at those stages, with AWS_ENDPOINT_URL and the default
/// account's root credentials in their environment. Their output goes to the log; a script
/// that runs past the timeout is killed (with its process group). Results are kept for
/// /_citadel/health and /_localstack/init.

#include <boost/json/fwd.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace citadel::app {

class InitScripts {
 public:
  /// `dir` may be empty (no scripts). `env` is added to the scripts' environment.
  InitScripts(std::string dir, std::chrono::seconds timeout);

  /// Sets the variables every script receives (endpoint, credentials, region).
  void setEnvironment(std::map<std::string, std::string> env);
  /// Runs every script of a stage ("boot", "ready", "shutdown") in name order; a failing
  /// script does not stop the next ones. Returns false when one failed or timed out.
  bool runStage(const std::string& stage);
  /// True when DIR/<stage>.d holds at least one script.
  bool hasScripts(const std::string& stage) const;
  /// True when any script of any stage failed or timed out.
  bool anyFailed() const;
  /// {"boot": {"completed": bool, "scripts": [{"name","state","exit_code"}]}, ...}.
  boost::json::object statusJson() const;
  /// LocalStack's /_localstack/init shape: {"completed": {"BOOT": ..}, "scripts": [..]}.
  boost::json::object localstackJson() const;

 private:
  struct Result {
    std::string stage;
    std::string name;
    std::string state;  ///< "RUNNING", "SUCCESSFUL", "ERROR", "TIMEOUT"
    int exit_code = -1;
  };
  std::vector<std::string> scriptsOf(const std::string& stage) const;
  void runOne(const std::string& stage, const std::string& path, Result& result);

  std::string dir_;
  std::chrono::seconds timeout_;
  std::map<std::string, std::string> env_;
  mutable std::mutex mu_;
  std::vector<Result> results_;
  std::map<std::string, bool> completed_;
};

}  // namespace citadel::app
