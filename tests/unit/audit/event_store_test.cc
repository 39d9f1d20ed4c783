#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../temp_dir.h"
#include "audit/audit.h"
#include "audit/batch_codec.h"
#include "core/ids.h"
#include "core/encoding.h"

namespace citadel::audit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAccount = "111122223333";
constexpr const char* kRegion = "us-east-1";
constexpr int64_t kBase = 1'800'000'000'000;  // ms since epoch

using citadel::testing::TempDir;

AuditEvent makeEvent(const std::string& id, int64_t ms,
                     const std::string& name = "GetCallerIdentity", bool read_only = true) {
  AuditEvent ev;
  ev.event_id = id;
  ev.event_time = fromEpochMillis(ms);
  ev.event_name = name;
  ev.event_source = "sts.amazonaws.com";
  ev.username = "alice";
  ev.access_key_id = "AKIAALICE";
  ev.account_id = kAccount;
  ev.region = kRegion;
  ev.read_only = read_only;
  ev.record = {{"eventID", id}, {"eventName", name}, {"readOnly", read_only}};
  return ev;
}

/// "prefix<n>" (GCC 12 warns falsely on operator+ of a literal and std::to_string).
std::string numbered(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

LookupQuery query(std::optional<std::string> key = std::nullopt, std::string value = "") {
  LookupQuery q;
  q.account_id = kAccount;
  q.region = kRegion;
  q.attribute_key = std::move(key);
  q.attribute_value = std::move(value);
  return q;
}

std::vector<std::string> ids(const LookupPage& page) {
  std::vector<std::string> out;
  for (const auto& e : page.events) out.push_back(e.event_id);
  return out;
}

std::vector<std::string> lookupIdsOf(EventStore& events, const LookupQuery& q) {
  auto r = events.lookup(q);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? ids(*r) : std::vector<std::string>{};
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = store::openSqlite(":memory:");
    db_->migrate(migrations());
    events_ = std::make_unique<EventStore>(*db_);
  }
  void appendAll(const std::vector<AuditEvent>& evs) {
    auto tx = db_->begin(true);
    for (const auto& e : evs) events_->append(*tx, e);
    tx->commit();
  }
  std::vector<std::string> lookupIds(const LookupQuery& q) {
    auto r = events_->lookup(q);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? ids(*r) : std::vector<std::string>{};
  }
  /// Every page of `q`, following NextToken to the end: the ids in order.
  std::vector<std::string> allPages(LookupQuery q) {
    std::vector<std::string> all;
    for (;;) {
      auto r = events_->lookup(q);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
      if (!r.ok()) break;
      EXPECT_LE(r->events.size(), static_cast<size_t>(q.max_results));
      for (const auto& e : r->events) all.push_back(e.event_id);
      if (!r->next_token) break;
      q.next_token = r->next_token;
    }
    return all;
  }

  std::unique_ptr<store::Store> db_;
  std::unique_ptr<EventStore> events_;
};

TEST_F(EventStoreTest, AppendThenLookupByEveryAttribute) {
  AuditEvent create = makeEvent("e-create", kBase + 1000, "CreateKey", false);
  create.event_source = "kms.amazonaws.com";
  create.username = "bob";
  create.access_key_id = "AKIABOB";
  create.resources = {{"AWS::KMS::Key", "arn:aws:kms:us-east-1:111122223333:key/k1"},
                      {"AWS::KMS::Key", "arn:aws:kms:us-east-1:111122223333:key/k2"}};
  AuditEvent sts = makeEvent("e-sts", kBase + 2000);
  AuditEvent other_region = makeEvent("e-west", kBase + 3000);
  other_region.region = "us-west-2";
  AuditEvent other_account = makeEvent("e-acct", kBase + 4000);
  other_account.account_id = "444455556666";
  appendAll({create, sts, other_region, other_account});

  // Scoped to account and region, newest first.
  EXPECT_EQ(lookupIds(query()), (std::vector<std::string>{"e-sts", "e-create"}));
  EXPECT_EQ(lookupIds(query("EventId", "e-create")), std::vector<std::string>{"e-create"});
  EXPECT_TRUE(lookupIds(query("EventId", "e-west")).empty());
  EXPECT_EQ(lookupIds(query("EventName", "CreateKey")), std::vector<std::string>{"e-create"});
  EXPECT_EQ(lookupIds(query("ReadOnly", "true")), std::vector<std::string>{"e-sts"});
  EXPECT_EQ(lookupIds(query("ReadOnly", "false")), std::vector<std::string>{"e-create"});
  EXPECT_EQ(lookupIds(query("Username", "bob")), std::vector<std::string>{"e-create"});
  EXPECT_EQ(lookupIds(query("Username", "alice")), std::vector<std::string>{"e-sts"});
  // An event with two resources of one type appears once.
  EXPECT_EQ(lookupIds(query("ResourceType", "AWS::KMS::Key")),
            std::vector<std::string>{"e-create"});
  EXPECT_EQ(lookupIds(query("ResourceName", "arn:aws:kms:us-east-1:111122223333:key/k2")),
            std::vector<std::string>{"e-create"});
  EXPECT_TRUE(lookupIds(query("ResourceName", "nope")).empty());
  EXPECT_EQ(lookupIds(query("EventSource", "kms.amazonaws.com")),
            std::vector<std::string>{"e-create"});
  EXPECT_EQ(lookupIds(query("AccessKeyId", "AKIABOB")), std::vector<std::string>{"e-create"});

  auto west = query();
  west.region = "us-west-2";
  EXPECT_EQ(lookupIds(west), std::vector<std::string>{"e-west"});

  // Every field comes back as stored.
  auto r = events_->lookup(query("EventId", "e-create"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 1u);
  const AuditEvent& got = r->events[0];
  EXPECT_EQ(got.event_time, fromEpochMillis(kBase + 1000));
  EXPECT_EQ(got.event_name, "CreateKey");
  EXPECT_EQ(got.event_source, "kms.amazonaws.com");
  EXPECT_EQ(got.username, "bob");
  EXPECT_EQ(got.access_key_id, "AKIABOB");
  EXPECT_EQ(got.account_id, kAccount);
  EXPECT_EQ(got.region, kRegion);
  EXPECT_FALSE(got.read_only);
  ASSERT_EQ(got.resources.size(), 2u);
  EXPECT_EQ(got.resources[1].type, "AWS::KMS::Key");
  EXPECT_EQ(got.resources[1].name, "arn:aws:kms:us-east-1:111122223333:key/k2");
  EXPECT_EQ(boost::json::parse(got.record_json), boost::json::value(create.record));
  EXPECT_FALSE(r->next_token.has_value());
}

TEST_F(EventStoreTest, AppendIsPartOfTheCallersTransaction) {
  {
    auto tx = db_->begin(true);
    events_->append(*tx, makeEvent("rolled-back", kBase));
    // destroyed without commit
  }
  EXPECT_TRUE(lookupIds(query()).empty());
  auto tx = db_->begin(true);
  events_->append(*tx, makeEvent("dup", kBase));
  EXPECT_THROW(events_->append(*tx, makeEvent("dup", kBase + 1)), store::StoreError);
}

TEST_F(EventStoreTest, TimeRangeIsInclusive) {
  appendAll({makeEvent("t1", kBase + 1000), makeEvent("t2", kBase + 2000),
             makeEvent("t3", kBase + 3000)});
  auto q = query();
  q.start_time = fromEpochMillis(kBase + 1000);
  q.end_time = fromEpochMillis(kBase + 2000);
  EXPECT_EQ(lookupIds(q), (std::vector<std::string>{"t2", "t1"}));
  q.start_time = fromEpochMillis(kBase + 2001);
  q.end_time = std::nullopt;
  EXPECT_EQ(lookupIds(q), std::vector<std::string>{"t3"});
  q.start_time = std::nullopt;
  q.end_time = fromEpochMillis(kBase + 999);
  EXPECT_TRUE(lookupIds(q).empty());
}

TEST_F(EventStoreTest, StartAfterEndIsInvalidTimeRange) {
  auto q = query();
  q.start_time = fromEpochMillis(kBase + 2);
  q.end_time = fromEpochMillis(kBase + 1);
  auto r = events_->lookup(q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidTimeRangeException");
  EXPECT_EQ(r.error().message, "Start time must be before end time");
  EXPECT_EQ(r.error().http_status, 400);
}

TEST_F(EventStoreTest, InvalidAttributeAndMaxResults) {
  auto r = events_->lookup(query("ReadOnly", "maybe"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidLookupAttributesException");
  r = events_->lookup(query("Color", "blue"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidLookupAttributesException");
  auto q = query();
  q.max_results = 51;
  r = events_->lookup(q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidMaxResultsException");
}

TEST_F(EventStoreTest, PagingWithNextTokenIsNewestFirstWithoutDuplicates) {
  // 23 events, several sharing a millisecond so the cursor must break ties by event id.
  std::vector<AuditEvent> evs;
  for (int i = 0; i < 23; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "p%02d", i);
    evs.push_back(makeEvent(id, kBase + (i / 3) * 10));
    evs.back().resources = {{"AWS::IAM::User", "alice"}};
  }
  appendAll(evs);
  const std::optional<std::string> keys[] = {std::nullopt, "Username", "ResourceName"};
  for (const auto& key : keys) {
    auto q = query(key, "alice");
    q.max_results = 5;
    std::vector<std::string> all;
    int pages = 0;
    for (;;) {
      auto r = events_->lookup(q);
      ASSERT_TRUE(r.ok()) << r.error().message;
      ++pages;
      EXPECT_LE(r->events.size(), 5u);
      for (const auto& e : r->events) all.push_back(e.event_id);
      if (!r->next_token) break;
      q.next_token = r->next_token;
    }
    EXPECT_EQ(pages, 5);
    ASSERT_EQ(all.size(), 23u);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 23u);
    std::vector<std::string> expected;
    for (int i = 22; i >= 0; --i) expected.push_back(evs[i].event_id);
    EXPECT_EQ(all, expected);
  }
}

TEST_F(EventStoreTest, NextTokenIsValidated) {
  std::vector<AuditEvent> evs;
  for (int i = 0; i < 3; ++i) evs.push_back(makeEvent(numbered("v", i), kBase + i));
  appendAll(evs);
  auto q = query();
  q.max_results = 1;
  auto first = events_->lookup(q);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next_token.has_value());

  auto expectInvalid = [&](LookupQuery bad) {
    auto r = events_->lookup(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "InvalidNextTokenException");
    EXPECT_EQ(r.error().message, "Invalid NextToken");
    EXPECT_EQ(r.error().http_status, 400);
  };
  for (const std::string& junk : {std::string("%%%not-base64"), std::string(""),
                                  base64Encode("short"), base64Encode(std::string(40, 'x'))}) {
    auto bad = q;
    bad.next_token = junk;
    expectInvalid(bad);
  }
  // A token is bound to the parameters of the query that produced it.
  auto changed = query("EventName", "GetCallerIdentity");
  changed.max_results = 1;
  changed.next_token = first->next_token;
  expectInvalid(changed);

  auto ok = q;
  ok.next_token = first->next_token;
  auto second = events_->lookup(ok);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ids(*second), std::vector<std::string>{"v1"});
}

TEST_F(EventStoreTest, EnqueueFromTwoThreadsThenLookupFindsAll) {
  // A small queue forces producers through back-pressure.
  events_.reset();
  events_ = std::make_unique<EventStore>(*db_, 256);
  constexpr int kPerThread = 5000;
  auto produce = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      events_->enqueue(makeEvent(numbered(numbered("q", t) + "-", i), kBase + t * kPerThread + i,
                                 t == 0 ? "A" : "B"));
    }
  };
  std::thread a(produce, 0), b(produce, 1);
  a.join();
  b.join();
  // No flush(): lookup must see everything enqueued before it.
  auto q = query("EventName", "B");
  q.max_results = 50;
  auto r = events_->lookup(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 50u);
  EXPECT_EQ(r->events[0].event_id, "q1-4999");
  EXPECT_EQ(events_->written(), 2u * kPerThread);

  auto tx = db_->begin(false);
  EXPECT_EQ(tx->query("SELECT SUM(count) FROM audit_batches").at(0).integer(0), 2 * kPerThread);
  // Group commits: far fewer rows than events.
  EXPECT_LT(tx->query("SELECT COUNT(*) FROM audit_batches").at(0).integer(0), kPerThread);
  tx->commit();
  // Every event of A, paged to the end, in order.
  std::vector<std::string> all = allPages(query("EventName", "A"));
  ASSERT_EQ(all.size(), static_cast<size_t>(kPerThread));
  EXPECT_EQ(all.front(), "q0-4999");
  EXPECT_EQ(all.back(), "q0-0");
}

TEST_F(EventStoreTest, PurgeRemovesOldEventsAndTheirResources) {
  AuditEvent old_ev = makeEvent("old", kBase);
  old_ev.resources = {{"AWS::IAM::User", "carol"}};
  AuditEvent new_ev = makeEvent("new", kBase + 1500);
  new_ev.resources = {{"AWS::IAM::User", "dave"}};
  appendAll({old_ev});
  events_->enqueue(new_ev);
  EXPECT_EQ(events_->purgeOlderThan(fromEpochMillis(kBase + 1000)), 1);
  EXPECT_EQ(lookupIds(query()), std::vector<std::string>{"new"});
  EXPECT_EQ(lookupIds(query("ResourceType", "AWS::IAM::User")), std::vector<std::string>{"new"});
  EXPECT_TRUE(lookupIds(query("ResourceName", "carol")).empty());
  auto tx = db_->begin(false);
  // The purged second's attribute rows are gone with it (7: ResourceName).
  EXPECT_EQ(tx->query("SELECT value FROM audit_seconds WHERE attr = 7").size(), 1u);
  EXPECT_EQ(tx->query("SELECT value FROM audit_seconds WHERE attr = 7").at(0).text(0), "dave");
}

TEST(EventStoreReopen, EventsSurviveReopen) {
  TempDir dir;
  const std::string path = dir.file("audit.db");
  {
    auto db = store::openSqlite(path);
    db->migrate(migrations());
    EventStore events(*db);
    for (int i = 0; i < 10; ++i) events.enqueue(makeEvent(numbered("r", i), kBase + i));
    // The destructor drains the queue.
  }
  auto db = store::openSqlite(path);
  db->migrate(migrations());
  EventStore events(*db);
  auto r = events.lookup(query());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 10u);
  EXPECT_EQ(r->events.front().event_id, "r9");
  EXPECT_EQ(r->events.back().event_id, "r0");
  EXPECT_EQ(boost::json::parse(r->events.front().record_json).at("eventID").as_string(), "r9");
}

TEST(EventStoreIndexes, EveryLookupWalksAnIndex) {
  auto db = store::openSqlite(":memory:");
  db->migrate(migrations());
  auto tx = db->begin(false);
  auto planOf = [&](const std::string& sql) {
    std::string plan;
    // The plan does not depend on the values: bind a placeholder to each parameter.
    std::vector<store::Value> params(std::count(sql.begin(), sql.end(), '?'), int64_t{1});
    for (const auto& row : tx->query("EXPLAIN QUERY PLAN " + sql, params)) {
      plan += row.text(3) + "\n";
    }
    return plan;
  };
  // Each statement a lookup runs searches an index: never a table scan, never a sort.
  const std::pair<const char*, const char*> cases[] = {
      {detail::kSecondsQuery, "SEARCH audit_seconds USING PRIMARY KEY"},
      {detail::kBatchSecondsQuery, "SEARCH audit_batches USING COVERING INDEX audit_batches_by_second"},
      {detail::kBatchesAtMs,
       "SEARCH audit_batches USING INDEX audit_batches_by_second (scope=? AND second=? AND "
       "max_ms=? AND seq<?)"},
      {detail::kBatchesBeforeMs,
       "SEARCH audit_batches USING INDEX audit_batches_by_second (scope=? AND second=? AND "
       "max_ms<?)"},
      {detail::kEventIdQuery, "SEARCH audit_event_ids USING PRIMARY KEY"},
  };
  for (const auto& [sql, search] : cases) {
    const std::string plan = planOf(sql);
    EXPECT_NE(plan.find(search), std::string::npos) << sql << ":\n" << plan;
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
}

TEST_F(EventStoreTest, RareValueAmongBusySecondsIsFoundNewestFirstAcrossPages) {
  // 40 seconds of traffic by bob; alice appears in 3 of them. Her events come back newest
  // first, paged, with nothing of bob's.
  std::vector<AuditEvent> evs;
  for (int s = 0; s < 40; ++s) {
    for (int i = 0; i < 5; ++i) {
      AuditEvent e = makeEvent(numbered("b", s * 10 + i), kBase + s * 1000 + i * 100);
      e.username = "bob";
      e.access_key_id = "AKIABOB";
      evs.push_back(e);
    }
  }
  for (int s : {3, 17, 38}) {
    for (int i = 0; i < 2; ++i) {
      AuditEvent e = makeEvent(numbered("a", s * 10 + i), kBase + s * 1000 + 50 + i * 100);
      e.resources = {{"AWS::S3::Bucket", numbered("bucket", s)}};
      evs.push_back(e);
    }
  }
  for (const auto& e : evs) events_->enqueue(e);

  auto q = query("Username", "alice");
  q.max_results = 4;
  auto p1 = events_->lookup(q);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(ids(*p1), (std::vector<std::string>{"a381", "a380", "a171", "a170"}));
  ASSERT_TRUE(p1->next_token.has_value());
  q.next_token = p1->next_token;
  auto p2 = events_->lookup(q);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(ids(*p2), (std::vector<std::string>{"a31", "a30"}));
  EXPECT_FALSE(p2->next_token.has_value());

  EXPECT_EQ(lookupIds(query("ResourceName", "bucket17")),
            (std::vector<std::string>{"a171", "a170"}));
  EXPECT_EQ(lookupIds(query("ResourceType", "AWS::S3::Bucket")).size(), 6u);
  EXPECT_EQ(lookupIds(query("AccessKeyId", "AKIABOB")).size(), 50u);  // a full page
  auto ranged = query("Username", "alice");
  ranged.start_time = fromEpochMillis(kBase + 17'000);
  ranged.end_time = fromEpochMillis(kBase + 17'050);
  EXPECT_EQ(lookupIds(ranged), std::vector<std::string>{"a170"});
}

TEST(EventStoreMigration, VersionOneHistoryIsFoundAfterUpgrade) {
  auto db = store::openSqlite(":memory:");
  db->migrate({migrations().at(0)});
  auto tx = db->begin(true);
  // Version 1 rows, as that schema stored them.
  tx->exec("INSERT INTO audit_events(seq, event_id, scope, event_time, account_id, region, "
           "event_name, event_source, username, access_key_id, read_only, resources, record) "
           "VALUES (1, 'old1', 7, ?, ?, ?, 'CreateUser', 'iam.amazonaws.com', 'alice', 'AKIAA', 0, "
           "'[[\"AWS::IAM::User\",\"carol\"]]', '{\"eventID\":\"old1\"}')",
           {kBase, kAccount, kRegion});
  tx->exec("INSERT INTO audit_event_resource_types VALUES (7, 'AWS::IAM::User', ?, 1)", {kBase});
  tx->exec("INSERT INTO audit_event_resource_names VALUES (7, 'carol', ?, 1)", {kBase});
  tx->commit();
  db->migrate(migrations());
  {
    // Version 2 moved the attribute rows to audit_seconds (scope 7 as the row said).
    auto rows = db->begin(false)->query(
        "SELECT attr, value, second FROM audit_seconds WHERE scope = 7 ORDER BY attr");
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_EQ(rows[0].text(1), "CreateUser");
    EXPECT_EQ(rows[0].integer(2), kBase / 1000);
    EXPECT_EQ(rows[4].text(1), "AWS::IAM::User");
    EXPECT_EQ(rows[5].text(1), "carol");
  }
  // Version 3 moved the rows into batches and dropped the old table.
  EventStore events(*db);
  EXPECT_TRUE(db->begin(false)
                  ->query("SELECT 1 FROM sqlite_schema WHERE name = 'audit_events'")
                  .empty());
  auto r = events.lookup(query("EventId", "old1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].event_name, "CreateUser");
  EXPECT_EQ(r->events[0].event_time, fromEpochMillis(kBase));
  EXPECT_FALSE(r->events[0].read_only);
  ASSERT_EQ(r->events[0].resources.size(), 1u);
  EXPECT_EQ(r->events[0].resources[0].name, "carol");
  EXPECT_EQ(r->events[0].record_json, "{\"eventID\":\"old1\"}");
  EXPECT_EQ(lookupIdsOf(events, query("ResourceName", "carol")),
            std::vector<std::string>{"old1"});
}

TEST_F(EventStoreTest, TimeOrderedIdsAreFoundWithoutAnIdIndex) {
  // Version-7 ids of a millisecond in the event's second need no audit_event_ids row.
  const int64_t t = kBase + 7000;
  const std::string id = newTimeOrderedUuid(t + 345);
  AuditEvent ev = makeEvent(id, t);
  AuditEvent neighbour = makeEvent(newTimeOrderedUuid(t + 346), t);
  // A version-7 id of another second is indexed like any other id.
  const std::string elsewhere = newTimeOrderedUuid(t - 5000);
  AuditEvent moved = makeEvent(elsewhere, t);
  appendAll({ev, neighbour, moved});
  EXPECT_EQ(lookupIds(query("EventId", id)), std::vector<std::string>{id});
  EXPECT_EQ(lookupIds(query("EventId", elsewhere)), std::vector<std::string>{elsewhere});
  EXPECT_TRUE(lookupIds(query("EventId", newTimeOrderedUuid(t + 347))).empty());
  auto tx = db_->begin(false);
  auto rows = tx->query("SELECT event_id FROM audit_event_ids");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text(0), elsewhere);
}

TEST_F(EventStoreTest, OneCommitIsStoredAsOneBatchPerHistoryAndSecond) {
  std::vector<AuditEvent> evs;
  for (int i = 0; i < 30; ++i) evs.push_back(makeEvent(numbered("s", i), kBase + (i % 3) * 1000));
  AuditEvent west = makeEvent("w", kBase);
  west.region = "us-west-2";
  evs.push_back(west);
  for (const auto& e : evs) events_->enqueue(e);
  events_->flush();
  auto tx = db_->begin(false);
  // Three seconds of us-east-1 and one of us-west-2; a lookup may have split the commit, so
  // allow more, but never one row per event.
  const int64_t rows = tx->query("SELECT COUNT(*) FROM audit_batches").at(0).integer(0);
  EXPECT_GE(rows, 4);
  EXPECT_LT(rows, 31);
  for (const auto& row : tx->query("SELECT second, count FROM audit_batches")) {
    EXPECT_GE(row.integer(0), kBase / 1000);
    EXPECT_LE(row.integer(0), kBase / 1000 + 2);
  }
  tx->commit();
  auto all = query();
  std::vector<std::string> got = lookupIds(all);
  ASSERT_EQ(got.size(), 30u);
  EXPECT_EQ(got.front(), "s29");  // second 2, newest by sequence
  EXPECT_EQ(got.back(), "s0");
}

TEST_F(EventStoreTest, NewestFirstWithinASecondWhoseBatchesAreOutOfTimeOrder) {
  // Three commits of one second, the oldest commit holding the latest event: a page of the
  // newest events must still look past the newest batch.
  appendAll({makeEvent("late", kBase + 900)});
  appendAll({makeEvent("early", kBase + 100), makeEvent("early2", kBase + 100)});
  appendAll({makeEvent("mid", kBase + 500)});
  auto q = query();
  q.max_results = 1;
  EXPECT_EQ(allPages(q), (std::vector<std::string>{"late", "mid", "early2", "early"}));
  // Many batches of one second, all at the same time (API events have whole-second times):
  // newest commit first, and every page continues where the last one ended.
  for (int i = 0; i < 40; ++i) {
    appendAll({makeEvent(numbered("same", 2 * i), kBase + 5000),
               makeEvent(numbered("same", 2 * i + 1), kBase + 5000)});
  }
  auto busy = query();
  busy.start_time = fromEpochMillis(kBase + 5000);
  busy.max_results = 7;
  std::vector<std::string> seen = allPages(busy);
  ASSERT_EQ(seen.size(), 80u);
  for (int i = 0; i < 80; ++i) EXPECT_EQ(seen[i], numbered("same", 79 - i));
}

TEST_F(EventStoreTest, PurgeKeepsTheNewerEventsOfTheSecondItSplits) {
  std::vector<AuditEvent> evs = {makeEvent("x0", kBase + 100), makeEvent("x1", kBase + 600),
                                 makeEvent("x2", kBase + 900)};
  for (const auto& e : evs) events_->enqueue(e);
  EXPECT_EQ(events_->purgeOlderThan(fromEpochMillis(kBase + 500)), 1);
  EXPECT_EQ(lookupIds(query()), (std::vector<std::string>{"x2", "x1"}));
  EXPECT_TRUE(lookupIds(query("EventId", "x0")).empty());
  EXPECT_EQ(lookupIds(query("EventId", "x1")), std::vector<std::string>{"x1"});
  EXPECT_EQ(events_->purgeOlderThan(fromEpochMillis(kBase + 1000)), 2);
  EXPECT_TRUE(lookupIds(query()).empty());
}

TEST(BatchCodec, RoundTripsEveryFieldAndRejectsDamage) {
  AuditEvent a = makeEvent("id-a", -1234);  // before the epoch: zigzag time
  a.read_only = false;
  a.resources = {{"AWS::KMS::Key", "arn:k1"}, {"", ""}};
  a.record_json = std::string(3000, 'r');
  AuditEvent b = makeEvent(std::string(200, 'b'), kBase);
  std::string raw;
  batch::appendEvent(raw, a, a.record_json);
  batch::appendEvent(raw, b, "{}");
  const std::string block = batch::compress(raw);
  EXPECT_LT(block.size(), raw.size());
  auto back = batch::decompress(block, raw.size());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, raw);
  std::vector<batch::EventView> out;
  ASSERT_TRUE(batch::decode(*back, 2, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].time_ms, -1234);
  EXPECT_FALSE(out[0].read_only);
  EXPECT_EQ(out[0].event_id, "id-a");
  EXPECT_EQ(out[0].event_source, "sts.amazonaws.com");
  EXPECT_EQ(out[0].username, "alice");
  EXPECT_EQ(out[0].access_key_id, "AKIAALICE");
  ASSERT_EQ(out[0].resources.size(), 2u);
  EXPECT_EQ(out[0].resources[0].second, "arn:k1");
  EXPECT_EQ(out[0].record, a.record_json);
  EXPECT_EQ(out[1].time_ms, kBase);
  EXPECT_TRUE(out[1].read_only);
  EXPECT_EQ(out[1].event_id, b.event_id);
  EXPECT_EQ(out[1].record, "{}");

  // Wrong counts, truncation, trailing bytes and a damaged block are refused.
  out.clear();
  EXPECT_FALSE(batch::decode(raw, 3, out));
  out.clear();
  EXPECT_FALSE(batch::decode(raw, 1, out));
  out.clear();
  EXPECT_FALSE(batch::decode(std::string_view(raw).substr(0, raw.size() - 1), 2, out));
  EXPECT_FALSE(batch::decompress(block, raw.size() + 1).has_value());
  EXPECT_FALSE(batch::decompress(block.substr(0, block.size() / 2), raw.size()).has_value());
  out.clear();
  EXPECT_FALSE(batch::decode(std::string("\x80\x80\x80"), 1, out));
}

}  // namespace
}  // namespace citadel::audit
