// The shared event outbox: events commit or roll back with the producer's transaction, list()
// filters and orders them, and eventJson() is EventBridge's envelope.
#include "runtime/event_outbox.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace citadel::runtime {
namespace {

std::unique_ptr<store::Store> openOutbox() {
  auto db = store::openSqlite(":memory:");
  auto m = eventOutboxMigrations();
  auto twice = m;  // producers may each carry the migration: applying it twice is harmless
  for (auto& x : m) twice.push_back(x);
  db->migrate(twice);
  return db;
}

OutboxQuery query(const std::string& source, const std::string& account = "",
                  const std::string& type = "") {
  OutboxQuery q;
  q.source = source;
  q.account = account;
  q.detail_type = type;
  return q;
}

OutboxEvent event(const std::string& source, const std::string& type) {
  OutboxEvent e;
  e.source = source;
  e.detail_type = type;
  e.account = "111122223333";
  e.region = "eu-west-1";
  e.resources = {"arn:aws:ssm:eu-west-1:111122223333:parameter/a"};
  e.detail = R"({"operation":"Create","name":"/a"})";
  return e;
}

TEST(EventOutbox, CommitsAndRollsBackWithTheProducer) {
  auto db = openOutbox();
  {
    auto tx = db->begin(true);
    putEvent(*tx, event("aws.ssm", "Parameter Store Change"));
    tx->rollback();
  }
  {
    auto tx = db->begin(true);
    EXPECT_TRUE(listEvents(*tx, OutboxQuery{}).empty());
    putEvent(*tx, event("aws.ssm", "Parameter Store Change"));
    tx->commit();
  }
  auto tx = db->begin(false);
  auto all = listEvents(*tx, OutboxQuery{});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].source, "aws.ssm");
  EXPECT_EQ(all[0].version, "0");
  EXPECT_EQ(all[0].id.size(), 36u);
  EXPECT_EQ(all[0].resources, event("", "").resources);
  EXPECT_NE(all[0].time, SysTime{});
}

TEST(EventOutbox, ListFiltersBySourceTypeAccountAndPosition) {
  auto db = openOutbox();
  auto tx = db->begin(true);
  putEvent(*tx, event("aws.ssm", "Parameter Store Change"));
  putEvent(*tx, event("aws.kms", "KMS CMK Rotation"));
  auto other = event("aws.ssm", "Parameter Store Policy Action");
  other.account = "444455556666";
  putEvent(*tx, other);
  EXPECT_EQ(listEvents(*tx, query("aws.ssm")).size(), 2u);
  EXPECT_EQ(listEvents(*tx, query("aws.kms")).size(), 1u);
  EXPECT_EQ(listEvents(*tx, query("aws.ssm", "444455556666")).size(), 1u);
  EXPECT_EQ(listEvents(*tx, query("", "", "Parameter Store Change")).size(), 1u);
  auto all = listEvents(*tx, OutboxQuery{});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_LT(all[0].seq, all[1].seq);
  OutboxQuery after;
  after.after_seq = all[0].seq;
  EXPECT_EQ(listEvents(*tx, after).size(), 2u);
  after.limit = 1;
  EXPECT_EQ(listEvents(*tx, after).size(), 1u);
  clearEvents(*tx, "aws.ssm");
  auto left = listEvents(*tx, OutboxQuery{});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].source, "aws.kms");
  clearEvents(*tx);
  EXPECT_TRUE(listEvents(*tx, OutboxQuery{}).empty());
}

TEST(EventOutbox, EnvelopeIsEventBridges) {
  auto e = event("aws.ssm", "Parameter Store Change");
  e.id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718";
  e.time = fromEpochMillis(1764345600000);  // 2025-11-28T16:00:00Z
  auto doc = boost::json::parse(eventJson(e)).as_object();
  EXPECT_EQ(doc.at("version"), "0");
  EXPECT_EQ(doc.at("id"), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
  EXPECT_EQ(doc.at("detail-type"), "Parameter Store Change");
  EXPECT_EQ(doc.at("source"), "aws.ssm");
  EXPECT_EQ(doc.at("account"), "111122223333");
  EXPECT_EQ(doc.at("time"), "2025-11-28T16:00:00Z");
  EXPECT_EQ(doc.at("region"), "eu-west-1");
  EXPECT_EQ(doc.at("resources").as_array().size(), 1u);
  EXPECT_EQ(doc.at("detail").as_object().at("operation"), "Create");
}

}  // namespace
}  // namespace citadel::runtime
