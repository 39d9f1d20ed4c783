#pragma once
/// Time: an injectable clock and the timestamp formats of the AWS protocols.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citadel {

using SysTime = std::chrono::system_clock::time_point;

/// The clock used by everything on the request path; tests may offset it.
class Clock {
 public:
  static SysTime now();
  /// Shifts now() by this many milliseconds (test-only time travel).
  static void setOffsetMillis(int64_t ms);
  static int64_t offsetMillis();
};

/// Milliseconds since the Unix epoch.
int64_t toEpochMillis(SysTime t);
SysTime fromEpochMillis(int64_t ms);
/// "2026-11-28T16:02:10Z" (seconds) or with ".123Z" when millis=true.
std::string formatIso8601(SysTime t, bool millis = false);
/// "20261128T160210Z", SigV4's X-Amz-Date.
std::string formatAmzDate(SysTime t);
/// "Sat, 28 Nov 2026 16:02:10 GMT".
std::string formatRfc1123(SysTime t);
/// Parses ISO 8601 (with Z or offset, optional fraction), the SigV4 basic form
/// (20261128T160210Z) and RFC 1123. nullopt if none matches.
std::optional<SysTime> parseTimestamp(std::string_view text);
/// Epoch seconds with fraction to time.
SysTime fromEpochSeconds(double seconds);
double toEpochSeconds(SysTime t);

}  // namespace citadel
