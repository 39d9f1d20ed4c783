#include "runtime/scheduler.h"

#include <gtest/gtest.h>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "runtime/identity.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{*db};
  Identity identity{*db, barrier};
  Services services{*db, barrier, events, identity, RuntimeConfig{}};
  World() { db->migrate(services.migrations()); }
  ~World() { Clock::setOffsetMillis(0); }
};

Job job(const std::string& key, std::chrono::seconds in) {
  return Job{"test.kind", key, Clock::now() + in, "111122223333", "us-east-1", "{}"};
}

TEST(Scheduler, RunsOnlyDueJobsInDueOrderAndForgetsThem) {
  World w;
  std::vector<std::string> ran;
  w.services.scheduler.registerKind("test.kind", [&](Services&, store::Tx&, const Job& j) {
    ran.push_back(j.key);
    return okResult();
  });
  {
    auto tx = w.db->begin(true);
    w.services.scheduler.schedule(*tx, job("later", std::chrono::seconds(3600)));
    w.services.scheduler.schedule(*tx, job("b", std::chrono::seconds(20)));
    w.services.scheduler.schedule(*tx, job("a", std::chrono::seconds(10)));
    tx->commit();
  }
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  Clock::setOffsetMillis(30'000);
  EXPECT_EQ(w.services.scheduler.runDue(), 2);
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(w.services.scheduler.runDue(), 0);  // done jobs do not run twice
  auto tx = w.db->begin(false);
  auto left = w.services.scheduler.pending(*tx, "test.kind");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, "later");
}

TEST(Scheduler, HandlerCanRescheduleAndFailuresRetryLaterWithoutCommitting) {
  World w;
  int runs = 0;
  w.services.scheduler.registerKind("test.kind", [&](Services& s, store::Tx& tx, const Job& j) {
    ++runs;
    tx.exec("INSERT INTO scheduled_jobs (kind, job_key, due_ms, account_id, region, payload) "
            "VALUES ('marker', ?, 0, '', '', '')", {j.key + std::to_string(runs)});
    if (j.key == "fails") return Result<void>(AwsError::internal("boom"));
    Job next = j;
    next.due = j.due + std::chrono::hours(24);
    s.scheduler.schedule(tx, next);  // e.g. yearly rotation: run again later
    return okResult();
  });
  {
    auto tx = w.db->begin(true);
    w.services.scheduler.schedule(*tx, job("repeats", std::chrono::seconds(1)));
    w.services.scheduler.schedule(*tx, job("fails", std::chrono::seconds(1)));
    tx->commit();
  }
  Clock::setOffsetMillis(5'000);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(runs, 2);
  auto tx = w.db->begin(false);
  // The failed job's change was rolled back; the good one's committed.
  EXPECT_EQ(tx->query("SELECT job_key FROM scheduled_jobs WHERE kind = 'marker'").size(), 1u);
  auto pending = w.services.scheduler.pending(*tx, "test.kind");
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, "fails");  // postponed by a minute, still pending
  EXPECT_GT(pending[0].due, Clock::now());
  EXPECT_EQ(pending[1].key, "repeats");
  EXPECT_GT(pending[1].due, Clock::now() + std::chrono::hours(23));
}

TEST(Scheduler, CancelRemovesAJob) {
  World w;
  int runs = 0;
  w.services.scheduler.registerKind("test.kind", [&](Services&, store::Tx&, const Job&) {
    ++runs;
    return okResult();
  });
  {
    auto tx = w.db->begin(true);
    w.services.scheduler.schedule(*tx, job("x", std::chrono::seconds(1)));
    w.services.scheduler.cancel(*tx, "test.kind", "x");
    tx->commit();
  }
  Clock::setOffsetMillis(5'000);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace citadel::runtime
