#pragma once
/// Structured logging: one JSON object per line on stderr. Never log secrets or plaintexts.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace citadel::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void setLevel(Level level);
bool enabled(Level level);
/// Writes {"ts":..,"level":..,"msg":..,k:v...}.
void write(Level level, std::string_view msg,
           std::initializer_list<std::pair<std::string_view, std::string>> fields = {});

inline void info(std::string_view msg,
                 std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  write(Level::kInfo, msg, f);
}
inline void warn(std::string_view msg,
                 std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  write(Level::kWarn, msg, f);
}
inline void error(std::string_view msg,
                  std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  write(Level::kError, msg, f);
}
inline void debug(std::string_view msg,
                  std::initializer_list<std::pair<std::string_view, std::string>> f = {}) {
  if (enabled(Level::kDebug)) write(Level::kDebug, msg, f);
}

}  // namespace citadel::log
