// Secrets Manager rotation rules: validation with AWS's errors, rate()/cron() parsing, and the
// next rotation window (pure functions, fixed instants).
#include <gtest/gtest.h>

#include "services/secretsmanager/schedule.h"

namespace citadel::secretsmanager {
namespace {

SysTime at(const char* iso) {
  auto t = parseTimestamp(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(SysTime{});
}

std::string iso(SysTime t) { return formatIso8601(t); }

RotationSchedule rules(int64_t days, std::string_view expr, std::string_view duration = "") {
  auto r = parseRotationRules(days, expr, duration);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : RotationSchedule{};
}

std::string errorOf(int64_t days, std::string_view expr, std::string_view duration = "") {
  auto r = parseRotationRules(days, expr, duration);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.error().code, "InvalidParameterException");
  return r.error().message;
}

TEST(SecretsManagerSchedule, AutomaticallyAfterDaysOpensTheDayNDaysLaterUntilMidnight) {
  auto s = rules(30, "");
  auto w = nextWindow(s, at("2026-01-10T13:45:00Z"));
  ASSERT_TRUE(w);
  EXPECT_EQ(iso(w->start), "2026-02-09T00:00:00Z");
  EXPECT_EQ(iso(w->end), "2026-02-09T23:59:59Z");
}

TEST(SecretsManagerSchedule, RateInDaysWithDuration) {
  auto s = rules(0, "rate(10 days)", "2h");
  auto w = nextWindow(s, at("2026-03-01T05:00:00Z"));
  ASSERT_TRUE(w);
  EXPECT_EQ(iso(w->start), "2026-03-11T00:00:00Z");
  EXPECT_EQ(iso(w->end), "2026-03-11T01:59:59Z");
}

TEST(SecretsManagerSchedule, RateInHoursRunsFromMidnightWithAOneHourWindow) {
  auto s = rules(0, "rate(6 hours)");
  auto w = nextWindow(s, at("2026-03-01T13:10:00Z"));
  ASSERT_TRUE(w);
  EXPECT_EQ(iso(w->start), "2026-03-01T18:00:00Z");
  EXPECT_EQ(iso(w->end), "2026-03-01T18:59:59Z");
  w = nextWindow(s, at("2026-03-01T18:00:00Z"));
  EXPECT_EQ(iso(w->start), "2026-03-02T00:00:00Z");
  // 5 hours does not divide the day: the last window is at 20:00, then midnight.
  auto five = rules(0, "rate(5 hours)");
  EXPECT_EQ(iso(nextWindow(five, at("2026-03-01T20:30:00Z"))->start), "2026-03-02T00:00:00Z");
}

TEST(SecretsManagerSchedule, CronDaysOfMonthAndWeekdays) {
  auto s = rules(0, "cron(0 16 1,15 * ? *)", "3h");
  auto w = nextWindow(s, at("2026-03-02T00:00:00Z"));
  ASSERT_TRUE(w);
  EXPECT_EQ(iso(w->start), "2026-03-15T16:00:00Z");
  EXPECT_EQ(iso(w->end), "2026-03-15T18:59:59Z");
  // Every Monday at 08:30 (2026-03-02 is a Monday), window to the end of the day.
  auto mon = rules(0, "cron(30 8 ? * MON *)");
  w = nextWindow(mon, at("2026-03-02T08:30:00Z"));
  EXPECT_EQ(iso(w->start), "2026-03-09T08:30:00Z");
  EXPECT_EQ(iso(w->end), "2026-03-09T23:59:59Z");
  // Last day of the month; second Tuesday; last Friday.
  EXPECT_EQ(iso(nextWindow(rules(0, "cron(0 0 L * ? *)"), at("2026-02-03T00:00:00Z"))->start),
            "2026-02-28T00:00:00Z");
  EXPECT_EQ(iso(nextWindow(rules(0, "cron(0 0 ? * 3#2 *)"), at("2026-03-01T00:00:00Z"))->start),
            "2026-03-10T00:00:00Z");
  EXPECT_EQ(iso(nextWindow(rules(0, "cron(0 0 ? * 6L *)"), at("2026-03-01T00:00:00Z"))->start),
            "2026-03-27T00:00:00Z");
  // A year that is over never fires again.
  EXPECT_FALSE(nextWindow(rules(0, "cron(0 0 1 1 ? 2020)"), at("2026-03-01T00:00:00Z")));
  // Twice a day: the default window is one hour.
  auto twice = rules(0, "cron(0 4,16 * * ? *)");
  w = nextWindow(twice, at("2026-03-01T05:00:00Z"));
  EXPECT_EQ(iso(w->start), "2026-03-01T16:00:00Z");
  EXPECT_EQ(iso(w->end), "2026-03-01T16:59:59Z");
}

TEST(SecretsManagerSchedule, AwsErrors) {
  EXPECT_EQ(errorOf(3, "rate(4 days)"),
            "You cannot specify both rotation frequency and schedule expression together.");
  EXPECT_NE(errorOf(0, "rate(3 hours)").find("at least four hours"), std::string::npos);
  EXPECT_NE(errorOf(0, "cron(0 */2 * * ? *)").find("at least four hours"), std::string::npos);
  EXPECT_NE(errorOf(0, "cron(0 16 * * * *)").find("'?'"), std::string::npos);
  EXPECT_NE(errorOf(0, "cron(0 16 * *)").find("six fields"), std::string::npos);
  EXPECT_NE(errorOf(0, "cron(61 16 * * ? *)").find("minutes"), std::string::npos);
  EXPECT_NE(errorOf(0, "every day").find("rate() or cron()"), std::string::npos);
  EXPECT_NE(errorOf(0, "rate(0 days)").find("positive"), std::string::npos);
  EXPECT_NE(errorOf(0, "rate(2 weeks)").find("hours or days"), std::string::npos);
  // Windows that reach into the next day or the next window.
  EXPECT_NE(errorOf(0, "cron(0 22 ? * MON *)", "4h").find("next UTC day"), std::string::npos);
  EXPECT_NE(errorOf(0, "rate(6 hours)", "7h").find("next rotation window"), std::string::npos);
  EXPECT_NE(errorOf(0, "rate(5 hours)", "5h").find("next UTC day"), std::string::npos);
  EXPECT_NE(errorOf(0, "cron(0 4,16 * * ? *)", "13h").find("next"), std::string::npos);
  EXPECT_NE(errorOf(0, "rate(1 days)", "25h").find("1 to 24"), std::string::npos);
  EXPECT_NE(errorOf(0, "", "").find("either"), std::string::npos);
  EXPECT_EQ(errorOf(0, "rate(6 hours)", "6h"), "ok");
  EXPECT_EQ(errorOf(0, "cron(0 16 1,15 * ? *)", "3h"), "ok");
  EXPECT_EQ(errorOf(0, "cron(0 0 ? JAN-MAR MON-FRI 2026-2030)"), "ok");
}

TEST(SecretsManagerSchedule, CronFieldParsing) {
  std::string why;
  auto c = parseCron("0/15 1-3 ? JAN,JUL SUN-TUE *", &why);
  ASSERT_TRUE(c) << why;
  EXPECT_TRUE(c->minutes[0] && c->minutes[15] && c->minutes[30] && c->minutes[45]);
  EXPECT_FALSE(c->minutes[1]);
  EXPECT_TRUE(c->hours[1] && c->hours[3] && !c->hours[4]);
  EXPECT_TRUE(c->months[1] && c->months[7] && !c->months[2]);
  EXPECT_TRUE(c->weekdays[1] && c->weekdays[3] && !c->weekdays[4]);
  EXPECT_FALSE(parseCron("0 0 ? * 8 *", &why));
  EXPECT_FALSE(parseCron("0 0 ? * 1#6 *", &why));
  EXPECT_FALSE(parseCron("0 0 5-1 * ? *", &why));
}

}  // namespace
}  // namespace citadel::secretsmanager
