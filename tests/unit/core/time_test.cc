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
