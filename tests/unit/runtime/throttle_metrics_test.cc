#include <gtest/gtest.h>

#include <thread>

#include "runtime/metrics.h"
#include "runtime/throttle.h"

namespace citadel::runtime {
namespace {

ServiceSpec spec() {
  ServiceSpec s;
  s.model = "cloudtrail";
  s.quotas.push_back({"LookupEvents", 2, {"LookupEvents"}});
  return s;
}

TEST(Throttle, OffUnlessEnabled) {
  Throttle t;
  auto s = spec();
  auto now = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
}

TEST(Throttle, BucketEmptiesAndRefillsAtTheQuotaRate) {
  Throttle t;
  t.enable("cloudtrail");
  auto s = spec();
  auto now = std::chrono::steady_clock::now();
  EXPECT_TRUE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
  EXPECT_TRUE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
  EXPECT_FALSE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
  // Other accounts, regions and operations have their own budget.
  EXPECT_TRUE(t.allow(s, "LookupEvents", "2", "us-east-1", now));
  EXPECT_TRUE(t.allow(s, "LookupEvents", "1", "eu-west-1", now));
  EXPECT_TRUE(t.allow(s, "GetTrail", "1", "us-east-1", now));
  now += std::chrono::milliseconds(500);  // one token at 2/s
  EXPECT_TRUE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
  EXPECT_FALSE(t.allow(s, "LookupEvents", "1", "us-east-1", now));
}

TEST(Throttle, RateOverride) {
  Throttle t;
  t.enable("cloudtrail");
  t.setRate("cloudtrail", "LookupEvents", 5);
  auto s = spec();
  auto now = std::chrono::steady_clock::now();
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += t.allow(s, "LookupEvents", "1", "r", now);
  EXPECT_EQ(allowed, 5);
}

TEST(Metrics, CountsAndHistogram) {
  Metrics m;
  m.record("sts", "GetCallerIdentity", 200, 0.0004);
  m.record("sts", "GetCallerIdentity", 200, 0.003);
  m.record("sts", "GetCallerIdentity", 403, 0.0002);
  std::string text = m.render("");
  EXPECT_NE(text.find("citadel_requests_total{service=\"sts\",operation=\"GetCallerIdentity\",status=\"200\"} 2"), std::string::npos);
  EXPECT_NE(text.find("status=\"403\"} 1"), std::string::npos);
  EXPECT_NE(text.find("citadel_request_duration_seconds_bucket{service=\"sts\",le=\"0.0005\"} 2"), std::string::npos);
  EXPECT_NE(text.find("citadel_request_duration_seconds_bucket{service=\"sts\",le=\"0.005\"} 3"), std::string::npos);
  EXPECT_NE(text.find("citadel_request_duration_seconds_count{service=\"sts\"} 3"), std::string::npos);
}

}  // namespace
}  // namespace citadel::runtime

namespace citadel::runtime {
namespace {

TEST(Metrics, ThreadsAndSuccessiveObjectsKeepTheirOwnCounts) {
  for (int round = 0; round < 3; ++round) {
    Metrics m;  // often at the same address as the previous round's
    std::thread a([&] { for (int i = 0; i < 1000; ++i) m.record("kms", "Encrypt", 200, 0.001); });
    std::thread b([&] { for (int i = 0; i < 500; ++i) m.record("kms", "Encrypt", 200, 0.001); });
    a.join();
    b.join();
    m.record("kms", "Encrypt", 200, 0.001);
    EXPECT_NE(m.render("").find("status=\"200\"} 1501"), std::string::npos) << round;
  }
}

}  // namespace
}  // namespace citadel::runtime
