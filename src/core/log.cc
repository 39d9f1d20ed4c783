#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/json_writer.h"
#include "core/time.h"

namespace citadel::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;

const char* name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}
}  // namespace

void setLevel(Level level) { g_level.store(static_cast<int>(level)); }
bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void write(Level level, std::string_view msg,
           std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  if (!enabled(level)) return;
  std::string line = "{\"ts\":\"" + formatIso8601(std::chrono::system_clock::now(), true) +
                     "\",\"level\":\"" + name(level) + "\",\"msg\":";
  appendJsonString(line, msg);
  for (const auto& [k, v] : fields) {
    line += ',';
    appendJsonString(line, k);
    line += ':';
    appendJsonString(line, v);
  }
  line += "}\n";
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace citadel::log
