#include "core/time.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace citadel {
namespace {
std::atomic<int64_t> g_offset_ms{0};

// UTC broken-down time by arithmetic: glibc's gmtime_r takes the process-wide timezone lock,
// which every request would contend for (Date header, audit record times).
std::tm toTm(SysTime t) {
  int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::tm tm{};
  tm.tm_hour = static_cast<int>(rem / 3600);
  tm.tm_min = static_cast<int>(rem % 3600 / 60);
  tm.tm_sec = static_cast<int>(rem % 60);
  tm.tm_wday = static_cast<int>((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday
  // civil_from_days (H. Hinnant's algorithm)
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  tm.tm_year = static_cast<int>(y - 1900);
  tm.tm_mon = static_cast<int>(m - 1);
  tm.tm_mday = static_cast<int>(d);
  return tm;
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<SysTime> fromParts(int y, int mo, int d, int h, int mi, int s, int64_t frac_ms,
                                 int64_t offset_s) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  int64_t secs = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                 h * 3600 + mi * 60 + s - offset_s;
  return SysTime(std::chrono::milliseconds(secs * 1000 + frac_ms));
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
}  // namespace

SysTime Clock::now() {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(g_offset_ms.load());
}
void Clock::setOffsetMillis(int64_t ms) { g_offset_ms.store(ms); }
int64_t Clock::offsetMillis() { return g_offset_ms.load(); }

int64_t toEpochMillis(SysTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SysTime fromEpochMillis(int64_t ms) { return SysTime(std::chrono::milliseconds(ms)); }
SysTime fromEpochSeconds(double seconds) {
  return fromEpochMillis(static_cast<int64_t>(std::llround(seconds * 1000.0)));
}
double toEpochSeconds(SysTime t) { return static_cast<double>(toEpochMillis(t)) / 1000.0; }

std::string formatIso8601(SysTime t, bool millis) {
  std::tm tm = toTm(t);
  char buf[96];
  if (millis) {
    int64_t ms = toEpochMillis(t) % 1000;
    if (ms < 0) ms += 1000;
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

std::string formatAmzDate(SysTime t) {
  std::tm tm = toTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string formatRfc1123(SysTime t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = toTm(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<SysTime> parseTimestamp(std::string_view s) {
  int y, mo, d, h, mi, sec;
  // Basic form: 20261128T160210Z
  if (s.size() == 16 && s[8] == 'T' && s[15] == 'Z') {
    if (digits(s, 0, 4, y) && digits(s, 4, 2, mo) && digits(s, 6, 2, d) && digits(s, 9, 2, h) &&
        digits(s, 11, 2, mi) && digits(s, 13, 2, sec))
      return fromParts(y, mo, d, h, mi, sec, 0, 0);
    return std::nullopt;
  }
  // Extended ISO 8601: 2026-11-28T16:02:10[.fff][Z|+hh:mm]
  if (s.size() >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
      s[13] == ':' && s[16] == ':') {
    if (!(digits(s, 0, 4, y) && digits(s, 5, 2, mo) && digits(s, 8, 2, d) && digits(s, 11, 2, h) &&
          digits(s, 14, 2, mi) && digits(s, 17, 2, sec)))
      return std::nullopt;
    size_t p = 19;
    int64_t frac_ms = 0;
    if (p < s.size() && s[p] == '.') {
      ++p;
      int64_t scale = 100;
      size_t start = p;
      while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
        frac_ms += (s[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
      if (p == start) return std::nullopt;
    }
    int64_t offset = 0;
    if (p == s.size()) {
      // no zone: treat as UTC
    } else if ((s[p] == 'Z' || s[p] == 'z') && p + 1 == s.size()) {
    } else if ((s[p] == '+' || s[p] == '-') && s.size() == p + 6 && s[p + 3] == ':') {
      int oh, om;
      if (!digits(s, p + 1, 2, oh) || !digits(s, p + 4, 2, om)) return std::nullopt;
      offset = (oh * 3600 + om * 60) * (s[p] == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
    return fromParts(y, mo, d, h, mi, sec, frac_ms, offset);
  }
  // RFC 1123: Sat, 28 Nov 2026 16:02:10 GMT
  if (s.size() == 29 && s[3] == ',' && s.substr(26) == "GMT") {
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    mo = 0;
    for (int i = 0; i < 12; ++i)
      if (s.substr(8, 3) == kMonths[i]) mo = i + 1;
    if (!mo) return std::nullopt;
    if (digits(s, 5, 2, d) && digits(s, 12, 4, y) && digits(s, 17, 2, h) && digits(s, 20, 2, mi) &&
        digits(s, 23, 2, sec))
      return fromParts(y, mo, d, h, mi, sec, 0, 0);
  }
  return std::nullopt;
}

}  // namespace citadel
