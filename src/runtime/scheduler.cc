#include "runtime/scheduler.h"

#include "core/log.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {

constexpr auto kRetryDelay = std::chrono::minutes(1);
constexpr int kBatch = 64;

Job jobFromRow(const store::Row& r) {
  Job j;
  j.kind = r.text(0);
  j.key = r.text(1);
  j.due = fromEpochMillis(r.integer(2));
  j.account_id = r.text(3);
  j.region = r.text(4);
  j.payload = r.text(5);
  return j;
}

constexpr const char* kColumns = "kind, job_key, due_ms, account_id, region, payload";

}  // namespace

Scheduler::~Scheduler() { stop(); }

std::vector<store::Migration> Scheduler::migrations() {
  return {{"scheduler", 1,
           "CREATE TABLE scheduled_jobs (kind TEXT NOT NULL, job_key TEXT NOT NULL, "
           "due_ms INTEGER NOT NULL, account_id TEXT NOT NULL, region TEXT NOT NULL, "
           "payload TEXT NOT NULL, PRIMARY KEY (kind, job_key));"
           "CREATE INDEX scheduled_jobs_due ON scheduled_jobs (due_ms)"}};
}

void Scheduler::registerKind(const std::string& kind, Handler handler) {
  std::lock_guard lock(handlers_mu_);
  handlers_[kind] = std::move(handler);
}

void Scheduler::schedule(store::Tx& tx, const Job& job) {
  tx.exec(
      "INSERT INTO scheduled_jobs (kind, job_key, due_ms, account_id, region, payload) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, job_key) DO UPDATE SET "
      "due_ms = excluded.due_ms, account_id = excluded.account_id, region = excluded.region, "
      "payload = excluded.payload",
      {job.kind, job.key, toEpochMillis(job.due), job.account_id, job.region, job.payload});
  // The thread may be sleeping past this job's due time: wake it once the job is visible.
  tx.afterCommit([this] { wake(); });
}

void Scheduler::cancel(store::Tx& tx, const std::string& kind, const std::string& key) {
  tx.exec("DELETE FROM scheduled_jobs WHERE kind = ? AND job_key = ?", {kind, key});
}

void Scheduler::cancelAll(store::Tx& tx) { tx.exec("DELETE FROM scheduled_jobs"); }

std::vector<Job> Scheduler::pending(store::Tx& tx, const std::string& kind) {
  std::vector<Job> out;
  for (const auto& r : tx.query(std::string("SELECT ") + kColumns +
                                    " FROM scheduled_jobs WHERE kind = ? ORDER BY due_ms, job_key",
                                {kind}))
    out.push_back(jobFromRow(r));
  return out;
}

int Scheduler::runDue() {
  std::lock_guard run_lock(run_mu_);
  int ran = 0;
  for (;;) {
    int64_t now = toEpochMillis(Clock::now());
    std::vector<Job> due;
    {
      auto tx = services_.store.begin(false);
      for (const auto& r : tx->query(std::string("SELECT ") + kColumns +
                                         " FROM scheduled_jobs WHERE due_ms <= ? "
                                         "ORDER BY due_ms, kind, job_key LIMIT ?",
                                     {now, int64_t{kBatch}}))
        due.push_back(jobFromRow(r));
    }
    if (due.empty()) return ran;
    int progressed = 0;
    for (const Job& job : due) {
      Handler handler;
      {
        std::lock_guard lock(handlers_mu_);
        auto it = handlers_.find(job.kind);
        if (it != handlers_.end()) handler = it->second;
      }
      try {
        auto tx = services_.store.begin(true);
        // Re-read inside the write transaction: the job may have been cancelled or moved.
        auto rows = tx->query(
            "SELECT due_ms FROM scheduled_jobs WHERE kind = ? AND job_key = ? AND due_ms <= ?",
            {job.kind, job.key, now});
        if (rows.empty()) continue;
        tx->exec("DELETE FROM scheduled_jobs WHERE kind = ? AND job_key = ?", {job.kind, job.key});
        Result<void> r = handler ? handler(services_, *tx, job)
                                 : Result<void>(AwsError::internal("no handler for job kind"));
        if (r.ok()) {
          tx->commit();
          ++ran;
          ++progressed;
          continue;
        }
        tx->rollback();
        log::error("scheduled job failed; retrying later",
                   {{"kind", job.kind}, {"key", job.key}, {"error", r.error().message}});
      } catch (const std::exception& e) {
        log::error("scheduled job failed; retrying later",
                   {{"kind", job.kind}, {"key", job.key}, {"error", e.what()}});
      }
      // Retry later without blocking the jobs behind it.
      try {
        auto tx = services_.store.begin(true);
        tx->exec("UPDATE scheduled_jobs SET due_ms = ? WHERE kind = ? AND job_key = ?",
                 {now + std::chrono::duration_cast<std::chrono::milliseconds>(kRetryDelay).count(),
                  job.kind, job.key});
        tx->commit();
        ++progressed;
      } catch (const std::exception& e) {
        log::error("could not postpone a failed job", {{"kind", job.kind}, {"error", e.what()}});
      }
    }
    if (progressed == 0) return ran;
  }
}

void Scheduler::start(std::chrono::milliseconds interval) {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, interval] { loop(interval); });
}

void Scheduler::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop(std::chrono::milliseconds interval) {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, interval, [this] { return stop_ || woken_; });
      if (stop_) return;
      woken_ = false;
    }
    try {
      runDue();
    } catch (const std::exception& e) {
      log::error("scheduler pass failed", {{"error", e.what()}});
    }
  }
}

}  // namespace citadel::runtime
