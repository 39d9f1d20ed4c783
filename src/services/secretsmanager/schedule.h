#pragma once
/// Rotation rules of Secrets Manager (pure: no I/O): AutomaticallyAfterDays, ScheduleExpression
/// rate()/cron() and the Duration of the rotation window, validated with AWS's errors, and the
/// next rotation window after a point in time.
///
/// AWS: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
///  - rate(N hours) (N >= 4) / rate(N days): windows start at midnight UTC (hours: every N hours
///    from midnight); default window 1 hour (hours) or to the end of the UTC day (days).
///  - cron(minutes hours day-of-month month day-of-week year), UTC, EventBridge syntax (one of
///    day-of-month / day-of-week is '?'); default window 1 hour when the expression fires at
///    more than one hour of a day, else to the end of the day.
///  - AutomaticallyAfterDays N behaves as rate(N days) counted from the last rotation.
///  - Duration "Nh": the window; it must not reach into the next UTC day or the next window.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace citadel::secretsmanager {

/// A parsed cron() expression: the allowed values of each field.
struct CronSpec {
  std::vector<bool> minutes = std::vector<bool>(60);
  std::vector<bool> hours = std::vector<bool>(24);
  std::vector<bool> days = std::vector<bool>(32);     ///< 1..31
  bool last_day_of_month = false;                     ///< "L" in day-of-month
  std::vector<bool> months = std::vector<bool>(13);   ///< 1..12
  std::vector<bool> weekdays = std::vector<bool>(8);  ///< 1..7 = SUN..SAT
  int nth_weekday = 0;  ///< "d#n": weekday d (1..7), occurrence n (1..5); 0 = unused
  int nth_weekday_day = 0;
  int last_weekday = 0;           ///< "dL": last weekday d of the month; 0 = unused
  bool any_day_of_month = false;  ///< '?' in day-of-month (day-of-week decides)
  bool any_day_of_week = false;   ///< '?' in day-of-week (day-of-month decides)
  std::vector<bool> years = std::vector<bool>(200);  ///< 1970..2169; all true for '*'
};

/// A validated rotation schedule.
struct RotationSchedule {
  enum class Kind { kDays, kHours, kCron };
  Kind kind = Kind::kDays;
  int64_t every = 0;                ///< days or hours (rate / AutomaticallyAfterDays)
  bool from_last_rotation = false;  ///< AutomaticallyAfterDays: counted from the last rotation
  CronSpec cron;
  int64_t window_hours = 0;  ///< 0 = to the end of the UTC day
};

/// Parses and validates RotationRules. `days` 0 = absent. InvalidParameterException worded as
/// AWS when both or neither are given, a rate is under 4 hours, the cron is malformed, or the
/// Duration overruns the day or the next window.
Result<RotationSchedule> parseRotationRules(int64_t days, std::string_view expression,
                                            std::string_view duration);
/// Parses a cron() body (the six fields); nullopt with `why` set when malformed.
std::optional<CronSpec> parseCron(std::string_view fields, std::string* why);

/// One rotation window.
struct Window {
  SysTime start;
  SysTime end;
};
/// The first window that starts strictly after `after` (for AutomaticallyAfterDays, `after` is
/// the last rotation: the window opens on the day N days later). nullopt when a cron never
/// fires again.
std::optional<Window> nextWindow(const RotationSchedule& s, SysTime after);

}  // namespace citadel::secretsmanager
