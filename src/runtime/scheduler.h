#pragma once
/// Durable jobs that run when they are due: KMS key deletion and rotation, secret rotation,
/// parameter policies. A job is a row (kind, key, due time, payload) in the store, so it
/// survives a restart; a background thread runs each due job in its own write transaction,
/// where the job's handler makes its change together with its audit record(s).
///
/// Time is Clock::now(): a test that moves the clock forward (Clock::setOffsetMillis) then
/// calls runDue() sees every job that became due run, deterministically.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "store/store.h"

namespace citadel::runtime {

class Services;

/// One scheduled job.
struct Job {
  std::string kind;        ///< "kms.DeleteKey": the handler registered for it runs the job
  std::string key;         ///< unique within the kind ("<account>/<region>/<key id>")
  SysTime due;
  std::string account_id;  ///< for the handler's audit record
  std::string region;
  std::string payload;     ///< handler-defined (JSON text, usually)
};

class Scheduler {
 public:
  /// Runs a due job inside `tx` (a write transaction). The job's row is already deleted in
  /// `tx`; to run again later, the handler calls schedule() with the same tx. An error rolls
  /// the transaction back and the job is retried a minute later.
  using Handler = std::function<Result<void>(Services&, store::Tx&, const Job&)>;

  explicit Scheduler(Services& services) : services_(services) {}
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  /// The scheduler's table.
  static std::vector<store::Migration> migrations();

  /// Registers the handler of a job kind (services do it in their init hook).
  void registerKind(const std::string& kind, Handler handler);
  /// Adds or replaces (same kind and key) a job, in the caller's transaction.
  void schedule(store::Tx& tx, const Job& job);
  /// Removes a job, in the caller's transaction (no error when absent).
  void cancel(store::Tx& tx, const std::string& kind, const std::string& key);
  /// Removes every job of every kind (state reset), in the caller's transaction.
  void cancelAll(store::Tx& tx);
  /// The pending jobs of a kind, by due time (tests and DescribeX operations).
  std::vector<Job> pending(store::Tx& tx, const std::string& kind);

  /// Runs every job due at Clock::now(), each in its own transaction. Returns how many ran.
  /// Safe to call from any thread (runs are serialized).
  int runDue();
  /// Starts the background thread (polls every `interval`, and at once on wake()).
  void start(std::chrono::milliseconds interval = std::chrono::milliseconds(1000));
  /// Wakes the thread now (after a job was scheduled sooner than the next poll).
  void wake();
  /// Stops the thread (waits for a running job).
  void stop();

 private:
  void loop(std::chrono::milliseconds interval);

  Services& services_;
  std::mutex handlers_mu_;
  std::map<std::string, Handler> handlers_;
  std::mutex run_mu_;  // serializes runDue()
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace citadel::runtime
