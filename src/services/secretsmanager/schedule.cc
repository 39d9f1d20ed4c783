// Rotation rules: rate()/cron() parsing and the next rotation window (pure).
#include "services/secretsmanager/schedule.h"

#include <algorithm>
#include <cctype>
#include <chrono>

namespace citadel::secretsmanager {

namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;

AwsError invalidParameter(std::string message) {
  return AwsError{"InvalidParameterException", std::move(message), 400, true, {}};
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? s.npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::optional<int> number(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

/// A value of a field: a number or, for months and weekdays, a three-letter name.
std::optional<int> fieldValue(std::string_view s, const char* const* names, int first) {
  if (auto n = number(s)) return n;
  if (!names) return std::nullopt;
  std::string u = upper(s);
  for (int i = 0; names[i]; ++i)
    if (u == names[i]) return first + i;
  return std::nullopt;
}

constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",  "JUL",
                                   "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
constexpr const char* kWeekdays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

/// Parses one field's comma list of "*", "a", "a-b", "a/b", "*/b", "a-b/c" into `bits`
/// (index = value - offset... values are stored at their own index).
bool parseField(std::string_view text, int lo, int hi, const char* const* names,
                std::vector<bool>& bits) {
  for (const std::string& part : split(text, ',')) {
    if (part.empty()) return false;
    std::string range = part;
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      auto s = number(std::string_view(part).substr(slash + 1));
      if (!s || *s <= 0) return false;
      step = *s;
      range = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (range == "*") {
    } else if (auto dash = range.find('-'); dash != std::string::npos) {
      auto x = fieldValue(std::string_view(range).substr(0, dash), names, lo);
      auto y = fieldValue(std::string_view(range).substr(dash + 1), names, lo);
      if (!x || !y || *x > *y) return false;
      a = *x;
      b = *y;
    } else {
      auto x = fieldValue(range, names, lo);
      if (!x) return false;
      a = *x;
      b = part.find('/') != std::string::npos ? hi : *x;
    }
    if (a < lo || b > hi) return false;
    for (int v = a; v <= b; v += step)
      bits[static_cast<size_t>(v - (lo == 1970 ? 1970 : 0))] = true;
  }
  return true;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool anySet(const std::vector<bool>& bits) {
  return std::find(bits.begin(), bits.end(), true) != bits.end();
}

SysTime startOfDay(SysTime t) {
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::floor<days>(t));
}

bool cronDayMatches(const CronSpec& c, std::chrono::sys_days day) {
  std::chrono::year_month_day ymd(day);
  int y = static_cast<int>(ymd.year());
  unsigned m = static_cast<unsigned>(ymd.month());
  unsigned d = static_cast<unsigned>(ymd.day());
  if (y < 1970 || y >= 1970 + static_cast<int>(c.years.size())) return false;
  if (!c.years[static_cast<size_t>(y - 1970)] || !c.months[m]) return false;
  int wd = static_cast<int>(std::chrono::weekday(day).c_encoding()) + 1;  // 1 = SUN
  unsigned last = static_cast<unsigned>(
      std::chrono::year_month_day_last(ymd.year(), std::chrono::month_day_last(ymd.month())).day());
  if (!c.any_day_of_month) {
    if (c.last_day_of_month) return d == last;
    return c.days[d];
  }
  if (c.nth_weekday)
    return wd == c.nth_weekday_day && static_cast<int>((d - 1) / 7 + 1) == c.nth_weekday;
  if (c.last_weekday) return wd == c.last_weekday && d + 7 > last;
  return c.weekdays[static_cast<size_t>(wd)];
}

/// Minutes of the day the cron fires at, in order.
std::vector<int> cronTimes(const CronSpec& c) {
  std::vector<int> out;
  for (int h = 0; h < 24; ++h)
    if (c.hours[static_cast<size_t>(h)])
      for (int m = 0; m < 60; ++m)
        if (c.minutes[static_cast<size_t>(m)]) out.push_back(h * 60 + m);
  return out;
}

}  // namespace

std::optional<CronSpec> parseCron(std::string_view body, std::string* why) {
  std::vector<std::string> f;
  for (const std::string& p : split(body, ' '))
    if (!p.empty()) f.push_back(p);
  auto fail = [&](std::string w) -> std::optional<CronSpec> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  if (f.size() != 6) return fail("a cron expression has six fields");
  CronSpec c;
  if (!parseField(f[0], 0, 59, nullptr, c.minutes)) return fail("invalid minutes field");
  if (!parseField(f[1], 0, 23, nullptr, c.hours)) return fail("invalid hours field");
  if (!parseField(f[3], 1, 12, kMonths, c.months)) return fail("invalid month field");
  if (f[5] == "*" || f[5] == "?") {
    std::fill(c.years.begin(), c.years.end(), true);
  } else if (!parseField(f[5], 1970, 2169, nullptr, c.years)) {
    return fail("invalid year field");
  }
  c.any_day_of_month = f[2] == "?";
  c.any_day_of_week = f[4] == "?";
  if (c.any_day_of_month == c.any_day_of_week)
    return fail("one of day-of-month and day-of-week must be '?'");
  if (!c.any_day_of_month) {
    if (upper(f[2]) == "L")
      c.last_day_of_month = true;
    else if (!parseField(f[2], 1, 31, nullptr, c.days))
      return fail("invalid day-of-month field");
  } else {
    std::string dow = upper(f[4]);
    if (auto hash = dow.find('#'); hash != std::string::npos) {
      auto d = fieldValue(std::string_view(dow).substr(0, hash), kWeekdays, 1);
      auto n = number(std::string_view(dow).substr(hash + 1));
      if (!d || !n || *d < 1 || *d > 7 || *n < 1 || *n > 5)
        return fail("invalid day-of-week field");
      c.nth_weekday_day = *d;
      c.nth_weekday = *n;
    } else if (dow.size() >= 2 && dow.back() == 'L') {
      auto d = fieldValue(std::string_view(dow).substr(0, dow.size() - 1), kWeekdays, 1);
      if (!d || *d < 1 || *d > 7) return fail("invalid day-of-week field");
      c.last_weekday = *d;
    } else if (!parseField(dow, 1, 7, kWeekdays, c.weekdays)) {
      return fail("invalid day-of-week field");
    }
  }
  if (!anySet(c.minutes) || !anySet(c.hours)) return fail("the expression never fires");
  return c;
}

Result<RotationSchedule> parseRotationRules(int64_t days_in, std::string_view expression,
                                            std::string_view duration) {
  RotationSchedule s;
  if (days_in > 0 && !expression.empty())
    return invalidParameter(
        "You cannot specify both rotation frequency and schedule expression together.");
  if (days_in <= 0 && expression.empty())
    return invalidParameter(
        "You must specify either AutomaticallyAfterDays or ScheduleExpression in RotationRules.");
  if (days_in > 0) {
    if (days_in > 1000)
      return invalidParameter("AutomaticallyAfterDays must be between 1 and 1000 days.");
    s.kind = RotationSchedule::Kind::kDays;
    s.every = days_in;
    s.from_last_rotation = true;
  } else {
    std::string e(trimSpaces(expression));
    auto bad = [&](const std::string& why) {
      return invalidParameter("Invalid ScheduleExpression " + std::string(expression) + ": " + why +
                              ".");
    };
    if (e.rfind("rate(", 0) == 0 && e.back() == ')') {
      std::string body = e.substr(5, e.size() - 6);
      auto parts = split(body, ' ');
      parts.erase(std::remove(parts.begin(), parts.end(), std::string()), parts.end());
      if (parts.size() != 2) return bad("a rate is rate(N hours) or rate(N days)");
      auto n = number(parts[0]);
      if (!n || *n <= 0) return bad("the rate must be a positive whole number");
      if (parts[1] == "hours" || parts[1] == "hour") {
        if (*n < 4)
          return invalidParameter("The rotation schedule frequency must be at least four hours: " +
                                  std::string(expression) + ".");
        if (*n > 23) return bad("a rate in hours is at most 23 hours; use days");
        s.kind = RotationSchedule::Kind::kHours;
      } else if (parts[1] == "days" || parts[1] == "day") {
        if (*n > 1000) return bad("a rate in days is at most 1000 days");
        s.kind = RotationSchedule::Kind::kDays;
        s.from_last_rotation = true;
      } else {
        return bad("the unit of a rate is hours or days");
      }
      s.every = *n;
    } else if (e.rfind("cron(", 0) == 0 && e.back() == ')') {
      std::string why;
      auto c = parseCron(std::string_view(e).substr(5, e.size() - 6), &why);
      if (!c) return bad(why);
      s.kind = RotationSchedule::Kind::kCron;
      s.cron = std::move(*c);
      // AWS: rotations at most every four hours.
      std::vector<int> times = cronTimes(s.cron);
      for (size_t i = 1; i < times.size(); ++i)
        if (times[i] - times[i - 1] < 4 * 60)
          return invalidParameter("The rotation schedule frequency must be at least four hours: " +
                                  std::string(expression) + ".");
      if (times.size() > 1 && times.front() + 24 * 60 - times.back() < 4 * 60)
        return invalidParameter("The rotation schedule frequency must be at least four hours: " +
                                std::string(expression) + ".");
    } else {
      return bad("use rate() or cron()");
    }
  }

  if (!duration.empty()) {
    if (duration.size() < 2 || duration.back() != 'h')
      return invalidParameter("Invalid Duration " + std::string(duration) +
                              ": use a number of hours such as 3h.");
    auto n = number(duration.substr(0, duration.size() - 1));
    if (!n || *n < 1 || *n > 24)
      return invalidParameter("Invalid Duration " + std::string(duration) +
                              ": the window is 1 to 24 hours.");
    s.window_hours = *n;
  }
  // The window must stay within the UTC day and before the next window.
  auto overrun = [&]() {
    return invalidParameter(
        "The rotation window (Duration " + std::string(duration) +
        ") can't extend into the next UTC day or into the next rotation window.");
  };
  if (s.window_hours > 0) {
    if (s.kind == RotationSchedule::Kind::kHours) {
      if (s.window_hours > s.every) return overrun();
      // The last window of the day (at the last multiple of `every` before 24h) must end by
      // midnight.
      int64_t last_start = ((24 - 1) / s.every) * s.every;
      if (last_start + s.window_hours > 24) return overrun();
    } else if (s.kind == RotationSchedule::Kind::kCron) {
      std::vector<int> times = cronTimes(s.cron);
      for (size_t i = 0; i < times.size(); ++i) {
        int end = times[i] + static_cast<int>(s.window_hours) * 60;
        if (end > 24 * 60) return overrun();
        if (i + 1 < times.size() && end > times[i + 1]) return overrun();
      }
    }
  } else if (s.kind == RotationSchedule::Kind::kHours) {
    s.window_hours = 1;  // AWS: the default window of a schedule in hours
  } else if (s.kind == RotationSchedule::Kind::kCron && cronTimes(s.cron).size() > 1) {
    s.window_hours = 1;
  }
  return s;
}

std::optional<Window> nextWindow(const RotationSchedule& s, SysTime after) {
  auto make = [&](SysTime start) {
    SysTime end = s.window_hours > 0 ? start + hours(s.window_hours) - std::chrono::seconds(1)
                                     : startOfDay(start) + days(1) - std::chrono::seconds(1);
    return Window{start, end};
  };
  switch (s.kind) {
    case RotationSchedule::Kind::kDays:
      return make(startOfDay(after) + days(s.every));
    case RotationSchedule::Kind::kHours: {
      SysTime day = startOfDay(after);
      for (int64_t h = 0;; h += s.every) {
        if (h >= 24) {
          day += days(1);
          h = 0;
          if (day + hours(h) > after) return make(day);
        }
        SysTime t = day + hours(h);
        if (t > after) return make(t);
      }
    }
    case RotationSchedule::Kind::kCron: {
      std::vector<int> times = cronTimes(s.cron);
      auto day0 = std::chrono::floor<days>(after);
      for (int i = 0; i < 366 * 5; ++i) {
        std::chrono::sys_days day(day0 + days(i));
        if (!cronDayMatches(s.cron, day)) continue;
        for (int m : times) {
          SysTime t = SysTime(day) + minutes(m);
          if (t > after) return make(t);
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace citadel::secretsmanager
