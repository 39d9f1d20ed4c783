#include "core/time.h"

#include <gtest/gtest.h>

namespace citadel {
namespace {

TEST(Time, FormatsEachProtocolForm) {
  SysTime t = fromEpochMillis(1795881730123);  // 2026-11-28T16:02:10.123Z
  EXPECT_EQ(formatIso8601(t), "2026-11-28T16:02:10Z");
  EXPECT_EQ(formatIso8601(t, true), "2026-11-28T16:02:10.123Z");
  EXPECT_EQ(formatAmzDate(t), "20261128T160210Z");
  EXPECT_EQ(formatRfc1123(t), "Sat, 28 Nov 2026 16:02:10 GMT");
}

TEST(Time, CalendarArithmeticAgreesWithParsing) {
  // Leap days, century rules and weekdays across a wide range round-trip through both ways.
  for (int64_t secs = -2208988800; secs < 7258118400; secs += 86400 * 37 + 3607) {
    SysTime t = fromEpochMillis(secs * 1000);
    EXPECT_EQ(parseTimestamp(formatIso8601(t)), t) << secs;
    EXPECT_EQ(parseTimestamp(formatRfc1123(t)), t) << formatRfc1123(t);
  }
  EXPECT_EQ(formatRfc1123(fromEpochMillis(951782400000)), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(formatIso8601(fromEpochMillis(-1000)), "1969-12-31T23:59:59Z");
}

TEST(Time, ParsesEveryForm) {
  auto expect = fromEpochMillis(1795881730000);
  EXPECT_EQ(parseTimestamp("2026-11-28T16:02:10Z"), expect);
  EXPECT_EQ(parseTimestamp("20261128T160210Z"), expect);
  EXPECT_EQ(parseTimestamp("Sat, 28 Nov 2026 16:02:10 GMT"), expect);
  EXPECT_EQ(parseTimestamp("2026-11-28T17:02:10+01:00"), expect);
  EXPECT_EQ(parseTimestamp("2026-11-28T16:02:10.5Z"), fromEpochMillis(1795881730500));
  EXPECT_FALSE(parseTimestamp("2026-13-28T16:02:10Z").has_value());
  EXPECT_FALSE(parseTimestamp("yesterday").has_value());
  EXPECT_FALSE(parseTimestamp("2026-11-28T16:02:10.Z").has_value());
}

TEST(Time, ClockOffsetShiftsNow) {
  auto before = Clock::now();
  Clock::setOffsetMillis(3'600'000);
  auto after = Clock::now();
  Clock::setOffsetMillis(0);
  EXPECT_GE(after - before, std::chrono::minutes(59));
}

}  // namespace
}  // namespace citadel
